#include "melon/train/signals.hpp"

#include <csignal>

namespace melon::train {
namespace {
volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_old_term, g_old_usr1;

extern "C" void on_stop(int sig) { g_signal = sig; }
}  // namespace

StopSignals::StopSignals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking reads and MPI waits carry on; the loop checks the flag
  sigaction(SIGTERM, &sa, &g_old_term);
  sigaction(SIGUSR1, &sa, &g_old_usr1);
}

StopSignals::~StopSignals() {
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGUSR1, &g_old_usr1, nullptr);
}

bool stop_requested() { return g_signal != 0; }
int stop_signal() { return g_signal; }
void clear_stop() { g_signal = 0; }

}  // namespace melon::train

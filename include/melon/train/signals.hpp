#pragma once
// SIGTERM (a scheduler's stop: Slurm's scancel or time limit, mpirun passing
// on its own SIGTERM/SIGINT), SIGINT (Ctrl-C) and SIGUSR1 (a user's or batch
// script's "checkpoint and stop", forwarded by mpirun and srun) only set a
// flag; the training loop reads it at step boundaries and the ranks agree on
// it by allreduce, so all of them checkpoint the same step and exit 0 (exit
// statuses per launcher: README "Failure behaviour", slurm/common.sh).
// Nothing else runs in the handler.
namespace melon::train {

// Installs the handlers for the object's lifetime and restores the previous ones after.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
};

bool stop_requested();             // set by a handled signal since the last clear
int stop_signal();                 // which one (0: none)
const char* signal_name(int sig);  // "SIGTERM", "SIGINT", "SIGUSR1", else "signal"
void clear_stop();

}  // namespace melon::train

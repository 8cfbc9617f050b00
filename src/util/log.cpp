#include "melon/util/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "melon/error.hpp"

namespace melon {

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& msg) {
  std::fprintf(stderr, "[melon r%d] internal error: assertion '%s' failed at %s:%d: %s\n", log::rank(), expr, file,
               line, msg.c_str());
  std::fflush(stderr);
  std::abort();
}

namespace log {
namespace {
int g_rank = 0, g_size = 1;
const auto g_start = std::chrono::steady_clock::now();

void emit(const char* level, const std::string& msg) {
  double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count();
  std::fprintf(stderr, "[melon r%d/%d %7.1fs]%s %s\n", g_rank, g_size, t, level, msg.c_str());
  std::fflush(stderr);
}
}  // namespace

void set_rank(int r, int s) {
  g_rank = r;
  g_size = s;
}
int rank() { return g_rank; }
void info(const std::string& msg) { emit("", msg); }
void warn(const std::string& msg) { emit(" warning:", msg); }

Progress::Progress(std::string what, std::int64_t total, std::string unit, double interval_s, bool enabled)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), interval_(interval_s), enabled_(enabled),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(std::int64_t done, double bytes) {
  done_ = done;
  bytes_ = bytes;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() >= interval_) {
    last_ = now;
    print(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  done_ = total_ > 0 ? std::max(done_, total_) : done_;
  print(true);
}

void Progress::print(bool final) {
  if (!enabled_) return;
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = el > 0 ? done_ / el : 0;
  std::ostringstream os;
  os << what_ << ": " << done_ << "/" << total_ << " " << unit_;
  if (total_ > 0) os << " (" << (100 * done_ / total_) << "%)";
  char buf[96];
  // Slow work (a full-size training step takes seconds) keeps two decimals.
  std::snprintf(buf, sizeof buf, rate < 10 ? ", %.2f %s/s" : ", %.0f %s/s", rate, unit_.c_str());
  os << buf;
  if (bytes_ > 0 && el > 0) {
    std::snprintf(buf, sizeof buf, ", %.1f MB/s", bytes_ / el / 1e6);
    os << buf;
  }
  if (final) {
    std::snprintf(buf, sizeof buf, ", done in %.1fs", el);
  } else {
    double eta = rate > 0 ? (total_ - done_) / rate : 0;
    std::snprintf(buf, sizeof buf, ", ETA %.0fs", eta);
  }
  os << buf;
  info(os.str());
}

}  // namespace log
}  // namespace melon

#pragma once
// Logging that says which rank speaks, and a progress meter for long work.
// The rank is set once by whoever initialises MPI (or stays 0).
#include <chrono>
#include <cstdint>
#include <string>

namespace melon::log {

void set_rank(int rank, int size);
int rank();

// "[melon r0/2 12.3s] message" on stderr. info() prints on every rank that calls it;
// callers decide who speaks (usually rank 0).
void info(const std::string& msg);
void warn(const std::string& msg);

// Reports done/total, rate and ETA at most every `interval` seconds (and at the end).
class Progress {
 public:
  Progress(std::string what, std::int64_t total, std::string unit = "items", double interval_s = 2.0,
           bool enabled = true);
  void update(std::int64_t done, double bytes = 0);  // absolute count done so far
  void finish();

 private:
  void print(bool final);
  std::string what_, unit_;
  std::int64_t total_, done_ = 0;
  double bytes_ = 0, interval_;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace melon::log

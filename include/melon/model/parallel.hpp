#pragma once
// A tiny fork-join pool for the numeric kernels. Work is cut into tasks whose
// boundaries do not depend on the thread count, and each output element is
// written by exactly one task, so results are bit-identical for any --threads.
// Tasks never call MPI (MPI runs in THREAD_FUNNELED mode).
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace melon::model {

class Pool {
 public:
  explicit Pool(int threads = 1);  // threads <= 1: everything runs on the caller
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(i) for i in [0, n), spread over the threads; returns when all are
  // done. The first exception thrown by a task is rethrown here.
  void run(std::int64_t n, const std::function<void(std::int64_t)>& fn);

 private:
  void work(std::uint64_t gen);
  void worker();
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(std::int64_t)>* fn_ = nullptr;
  std::int64_t n_ = 0, next_ = 0, active_ = 0;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

// Splits [0, n) into fixed-size chunks (size independent of the thread count).
struct Chunks {
  std::int64_t n, size;
  std::int64_t count() const { return size <= 0 ? 0 : (n + size - 1) / size; }
  std::int64_t begin(std::int64_t c) const { return c * size; }
  std::int64_t len(std::int64_t c) const { return (c + 1) * size <= n ? size : n - c * size; }
};

}  // namespace melon::model

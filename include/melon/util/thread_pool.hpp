#pragma once
// The one thread pool: a small fork-join pool for numeric kernels. Work is cut
// into tasks whose boundaries do not depend on the thread count, and each
// output element is written by exactly one task, so results are bit-identical
// for any thread count. Tasks never call MPI (MPI runs THREAD_FUNNELED).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace melon::util {

class ThreadPool {
 public:
  explicit ThreadPool(int threads = 1);  // threads <= 1: everything runs on the caller
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // One thread, the caller's, for callers that have no pool of their own.
  // Shared safely: with no workers, run() touches no state of the pool.
  static ThreadPool& serial();

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(i) for i in [0, n), spread over the threads; returns when all are
  // done. The first exception thrown by a task is rethrown here.
  void run(std::int64_t n, const std::function<void(std::int64_t)>& fn);
  // fn(t) for t in [0, threads()): one slice of work per thread, for kernels
  // that split their own range and keep per-slice scratch.
  void run_per_thread(const std::function<void(int)>& fn) {
    run(threads(), [&](std::int64_t t) { fn(static_cast<int>(t)); });
  }
  // fn(i, scratch) for i in [0, n), handed to the threads as they free up;
  // each thread makes one Scratch and reuses it for every i it takes (for
  // scratch too large to make per task).
  template <class Scratch, class Fn>
  void run_with_scratch(std::int64_t n, Fn&& fn) {
    std::atomic<std::int64_t> next{0};
    run_per_thread([&](int) {
      Scratch scratch;
      for (std::int64_t i; (i = next++) < n;) fn(i, scratch);
    });
  }

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

// The CPUs this process may run on, a bit each (bit c of word c / 64: CPU c),
// from its affinity mask: what mpirun's binding, taskset or a Slurm cpuset
// allows. Open MPI binds each rank to one core when it starts two or fewer,
// so a rank may be given one core of many; every core when the mask is unknown.
std::vector<std::uint64_t> allowed_cpus();
int count_cpus(const std::vector<std::uint64_t>& cpus);
bool cpus_overlap(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b);

// The thread-count rule every stage uses (through mpi::threads_per_rank):
// `requested` when positive, else the `cpus` this rank may run on shared
// evenly by the `sharers` ranks that may run on them too (itself included),
// at least 1.
int resolve_threads(int requested, int cpus, int sharers);

}  // namespace melon::util

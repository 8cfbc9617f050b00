#include "melon/util/thread_pool.hpp"

#include <sched.h>

#include <algorithm>
#include <bit>

namespace melon::util {

ThreadPool::ThreadPool(int threads) {
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this] { worker(); });
}

ThreadPool& ThreadPool::serial() {
  static ThreadPool one;
  return one;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work(std::uint64_t gen) {
  for (;;) {
    std::int64_t i;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (gen != generation_ || next_ >= n_) return;
      i = next_++;
    }
    try {
      (*fn_)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      if (!error_) error_ = std::current_exception();
      next_ = n_;  // stop handing out work
    }
  }
}

void ThreadPool::worker() {
  std::uint64_t seen = 0;
  for (;;) {
    std::uint64_t gen;
    {
      std::unique_lock<std::mutex> lk(mu_);
      start_cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      gen = seen = generation_;
      ++active_;
    }
    work(gen);
    {
      std::lock_guard<std::mutex> lk(mu_);
      --active_;
    }
    done_cv_.notify_all();
  }
}

void ThreadPool::run(std::int64_t n, const std::function<void(std::int64_t)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (std::int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::uint64_t gen;
  {
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = &fn;
    n_ = n;
    next_ = 0;
    error_ = nullptr;
    gen = ++generation_;
  }
  start_cv_.notify_all();
  work(gen);
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return next_ >= n_ && active_ == 0; });
    // Workers that wake late see next_ >= n_ and leave at once; bump the
    // generation so none of them can pick up a stale task later.
    ++generation_;
    fn_ = nullptr;
    err = error_;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace melon::util

namespace melon::util {

std::vector<std::uint64_t> allowed_cpus() {
  std::vector<std::uint64_t> bits;
  auto set_bit = [&](std::size_t c) {
    if (bits.size() <= c / 64) bits.resize(c / 64 + 1, 0);
    bits[c / 64] |= std::uint64_t{1} << (c % 64);
  };
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (std::size_t c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) set_bit(c);
  if (bits.empty())
    for (std::size_t c = 0; c < std::max(1u, std::thread::hardware_concurrency()); ++c) set_bit(c);
  return bits;
}

int count_cpus(const std::vector<std::uint64_t>& cpus) {
  int n = 0;
  for (auto w : cpus) n += std::popcount(w);
  return n;
}

bool cpus_overlap(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (a[i] & b[i]) return true;
  return false;
}

int resolve_threads(int requested, int cpus, int sharers) {
  if (requested > 0) return requested;
  return std::max(1, cpus / std::max(1, sharers));
}

}  // namespace melon::util

#include "melon/util/thread_pool.hpp"

#include <algorithm>

namespace melon::util {

ThreadPool::ThreadPool(int threads) {
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this] { worker(); });
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

int resolve_threads(int requested, int ranks_on_node) {
  if (requested > 0) return requested;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / std::max(1, ranks_on_node));
}

}  // namespace melon::util

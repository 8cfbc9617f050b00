// The thread-count rule (util/thread_pool.hpp): a rank's pool is sized by the
// CPUs it may run on, not by the node's cores: Open MPI binds each of one or
// two ranks to a single core, where a pool of "cores / ranks" threads would
// crowd onto it.
#include <gtest/gtest.h>
#include <sched.h>

#include "melon/util/thread_pool.hpp"

using namespace melon;

TEST(ThreadCount, RequestedCountWinsElseTheAllowedCpusSharedByTheirRanks) {
  EXPECT_EQ(util::resolve_threads(3, 1, 1), 3);
  EXPECT_EQ(util::resolve_threads(0, 16, 2), 8);
  EXPECT_EQ(util::resolve_threads(0, 1, 1), 1);  // bound to one core: one thread, whatever the node has
  EXPECT_EQ(util::resolve_threads(0, 2, 3), 1);  // more ranks than CPUs: still one
  EXPECT_EQ(util::resolve_threads(-1, 8, 0), 8);
}

TEST(ThreadCount, CpuSetsCountAndOverlapByBit) {
  const std::vector<std::uint64_t> low{0b1011}, high{0, 1}, both{0b0100, 1};
  EXPECT_EQ(util::count_cpus(low), 3);
  EXPECT_EQ(util::count_cpus(high), 1);
  EXPECT_FALSE(util::cpus_overlap(low, high));
  EXPECT_FALSE(util::cpus_overlap(low, {0b0100}));
  EXPECT_TRUE(util::cpus_overlap(both, high));
  EXPECT_TRUE(util::cpus_overlap(low, {0b1000, 7}));
}

TEST(ThreadCount, AllowedCpusFollowTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  const auto all = util::allowed_cpus();
  EXPECT_EQ(util::count_cpus(all), CPU_COUNT(&saved));
  // Pinned to its first allowed CPU, the process may run on that one only.
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const auto pinned = util::allowed_cpus();
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(util::count_cpus(pinned), 1);
  ASSERT_GT(pinned.size(), static_cast<std::size_t>(first / 64));
  EXPECT_NE(pinned[static_cast<std::size_t>(first / 64)] & (std::uint64_t{1} << (first % 64)), 0u);
}

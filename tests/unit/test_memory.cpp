// util/memory: the /proc figures that size pca's default memory budget and
// feed the peak-memory lines of logs and the run report.
#include <gtest/gtest.h>

#include <vector>

#include "melon/util/memory.hpp"

using namespace melon;

TEST(Memory, AvailableMemoryIsReadFromProcMeminfo) {
  const auto avail = util::available_memory_bytes();
  ASSERT_GT(avail, 0) << "MemAvailable missing from /proc/meminfo";
  EXPECT_LT(avail, std::int64_t(1) << 50);  // bytes, not KiB read as bytes or worse
}

TEST(Memory, PeakResidentMemoryGrowsWhenPagesAreTouched) {
  const auto before = util::peak_rss_kib();
  ASSERT_GT(before, 0);
  std::vector<char> big(std::size_t(64) << 20, 1);  // 64 MiB, every page written
  const auto after = util::peak_rss_kib();
  EXPECT_GE(after, before + (32 << 10)) << "touched 64 MiB, VmHWM moved from " << before << " to " << after << " KiB";
  EXPECT_EQ(big[12345], 1);
}

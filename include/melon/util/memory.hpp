#pragma once
// The process's and the node's memory as Linux reports it in /proc: what a
// stage may keep resident (a default that follows the machine instead of a
// constant) and what it used (the peaks in logs and the run report).
#include <cstdint>

namespace melon::util {

// MemAvailable of /proc/meminfo in bytes: what the node can give without
// swapping (free memory plus reclaimable page cache); -1 where unreadable.
std::int64_t available_memory_bytes();

// VmHWM of /proc/self/status in KiB: this process's resident high-water mark;
// -1 where unreadable.
std::int64_t peak_rss_kib();

}  // namespace melon::util

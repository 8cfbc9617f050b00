#include "melon/util/memory.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

namespace melon::util {
namespace {

// The value of the "KEY:  N kB" line of a /proc file, in KiB; -1 if absent.
std::int64_t proc_kib(const char* path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + key.size());
  return -1;
}

}  // namespace

std::int64_t available_memory_bytes() {
  const auto kib = proc_kib("/proc/meminfo", "MemAvailable:");
  return kib < 0 ? -1 : kib * 1024;
}

std::int64_t peak_rss_kib() { return proc_kib("/proc/self/status", "VmHWM:"); }

}  // namespace melon::util

#pragma once
// The one hash melon stores: 64-bit FNV-1a. Not cryptographic; it fingerprints
// configurations, vocabularies, parameter bytes and state blobs so a resume or
// a prediction notices that it is looking at something else. Changing it
// changes every stored fingerprint, so there is exactly one.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace melon {

constexpr std::uint64_t kFnvOffset = 0xCBF29CE484222325ull;  // 14695981039346656037
constexpr std::uint64_t kFnvPrime = 0x100000001B3ull;        // 1099511628211

// Continues hash h over n bytes (start from kFnvOffset).
inline std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h = kFnvOffset) {
  auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}
inline std::uint64_t fnv1a64(std::string_view s, std::uint64_t h = kFnvOffset) {
  return fnv1a64(s.data(), s.size(), h);
}

// 16 lowercase hex digits, as hashes are logged and stored.
inline std::string hex64(std::uint64_t x) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

}  // namespace melon

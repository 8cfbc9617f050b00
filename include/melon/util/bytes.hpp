#pragma once
// The one byte codec for state blobs that melon ships between ranks or keeps
// on disk (PCA resume state, gathered learning rows, id lists): plain values
// and length-prefixed arrays in native layout. Every rank runs the same
// binary, and files written with it carry their own magic and checksum, so
// native layout is enough. A short read is bad input (a damaged file) and
// throws melon::Error naming `what` and the offset.
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "melon/error.hpp"

namespace melon {

struct ByteWriter {
  std::string buf;

  template <class T>
  void pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    buf.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  // n values without a length (the reader must know n).
  template <class T>
  void raw(const T* p, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (n) buf.append(reinterpret_cast<const char*>(p), n * sizeof(T));
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    pod<std::uint64_t>(v.size());
    raw(v.data(), v.size());
  }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    buf += s;
  }
};

struct ByteReader {
  const std::string& buf;
  std::string what;  // names the blob in errors ("pca.h5.state/state.bin: resume state")
  std::size_t at = 0;

  ByteReader(const std::string& b, std::string w) : buf(b), what(std::move(w)) {}
  bool done() const { return at == buf.size(); }
  std::size_t left() const { return buf.size() - at; }
  void need(std::size_t n) const { MELON_CHECK(left() >= n, what << " is truncated at byte " << at); }

  template <class T>
  T pod() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, buf.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  template <class T>
  void raw(T* p, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    MELON_CHECK(n <= left() / (sizeof(T) ? sizeof(T) : 1), what << " is truncated at byte " << at);
    if (n) std::memcpy(p, buf.data() + at, n * sizeof(T));
    at += n * sizeof(T);
  }
  template <class T>
  std::vector<T> vec() {
    const auto n = pod<std::uint64_t>();
    MELON_CHECK(n <= left() / sizeof(T), what << " is truncated at byte " << at << " (array of " << n << ")");
    std::vector<T> v(n);
    raw(v.data(), n);
    return v;
  }
  std::string str() {
    const auto n = pod<std::uint64_t>();
    need(n);
    std::string s = buf.substr(at, n);
    at += n;
    return s;
  }
};

// A whole vector as bytes and back, without a length prefix (the blob is the array).
template <class T>
std::string to_bytes(const std::vector<T>& v) {
  ByteWriter w;
  w.raw(v.data(), v.size());
  return std::move(w.buf);
}
template <class T>
std::vector<T> from_bytes(const std::string& b) {
  std::vector<T> v(b.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

}  // namespace melon

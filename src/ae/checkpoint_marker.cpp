#include "melon/ae/checkpoint_marker.hpp"

#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <vector>

#include "melon/error.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/hash.hpp"

namespace melon::ae {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMagic = "melon-checkpoint-done 1";
constexpr std::size_t kMaxMarker = 4096;  // a real marker is ~60 bytes

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct StateFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

// "size 123" -> 123; false unless the line is exactly the key, one space and digits/hex.
bool field(const std::string& line, const std::string& key, int base, std::uint64_t& out) {
  if (line.size() <= key.size() + 1 || line.compare(0, key.size(), key) != 0 || line[key.size()] != ' ') return false;
  const auto v = line.substr(key.size() + 1);
  if (v.size() > 20 || v.find_first_not_of(base == 16 ? "0123456789abcdef" : "0123456789") != std::string::npos)
    return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtoull(v.c_str(), &end, base);
  // Canonical spelling only (no leading zeros): one marker text per (size, hash).
  return errno == 0 && end && *end == '\0' && v == (base == 16 ? hex64(out) : std::to_string(out));
}

}  // namespace

std::string marker_path(const std::string& path) { return path + ".done"; }

std::uint64_t file_hash(const std::string& path, std::uint64_t* size) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  MELON_CHECK(f, path << ": cannot open: " << std::strerror(errno));
  std::unique_ptr<XXH3_state_t, StateFree> st(XXH3_createState());
  MELON_CHECK(st && XXH3_64bits_reset(st.get()) == XXH_OK, path << ": cannot start the hash");
  std::vector<char> buf(std::size_t(1) << 20);
  std::uint64_t total = 0;
  while (true) {
    const auto n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n > 0) XXH3_64bits_update(st.get(), buf.data(), n);
    total += n;
    if (n < buf.size()) break;
  }
  MELON_CHECK(!std::ferror(f.get()), path << ": read failed: " << std::strerror(errno));
  if (size) *size = total;
  return XXH3_64bits_digest(st.get());
}

std::string marker_text(std::uint64_t size, std::uint64_t hash) {
  return std::string(kMagic) + "\nsize " + std::to_string(size) + "\nxxh3_64 " + hex64(hash) + "\n";
}

void write_marker(const std::string& path, std::uint64_t size, std::uint64_t hash) {
  AtomicFile out(marker_path(path));
  out.write(marker_text(size, hash));
  out.commit();
}

void write_marker(const std::string& path) {
  std::uint64_t size = 0;
  const auto h = file_hash(path, &size);
  write_marker(path, size, h);
}

void verify_marker(const std::string& path) {
  const auto mpath = marker_path(path);
  std::error_code ec;
  MELON_CHECK(fs::exists(path, ec), path << ": no such file");
  MELON_CHECK(fs::exists(mpath, ec), path << ": no DONE marker " << fs::path(mpath).filename().string()
                                          << " (the write did not finish, or the file is from elsewhere)");
  std::string text;
  {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(mpath.c_str(), "rb"));
    MELON_CHECK(f, mpath << ": cannot open: " << std::strerror(errno));
    text.resize(kMaxMarker + 1);
    text.resize(std::fread(text.data(), 1, text.size(), f.get()));
    MELON_CHECK(!std::ferror(f.get()), mpath << ": read failed: " << std::strerror(errno));
  }
  MELON_CHECK(text.size() <= kMaxMarker, mpath << ": not a DONE marker (over " << kMaxMarker << " bytes)");
  std::istringstream in(text);
  std::string magic, size_line, hash_line, rest;
  std::getline(in, magic);
  std::getline(in, size_line);
  std::getline(in, hash_line);
  std::uint64_t want_size = 0, want_hash = 0;
  MELON_CHECK(magic == kMagic && field(size_line, "size", 10, want_size) &&
                  field(hash_line, "xxh3_64", 16, want_hash) && !std::getline(in, rest) && text.back() == '\n',
              mpath << ": damaged DONE marker (expected '" << kMagic << "', size, xxh3_64 lines)");
  const auto have_size = fs::file_size(path, ec);
  MELON_CHECK(!ec, path << ": cannot stat: " << ec.message());
  MELON_CHECK(have_size == want_size, path << ": " << have_size << " bytes, its DONE marker says " << want_size
                                           << " (truncated or appended to)");
  std::uint64_t hashed = 0;
  const auto have_hash = file_hash(path, &hashed);
  MELON_CHECK(hashed == want_size, path << ": changed while being read");
  MELON_CHECK(have_hash == want_hash, path << ": contents do not match the hash in its DONE marker (xxh3_64 "
                                           << hex64(have_hash) << ", marker " << hex64(want_hash)
                                           << "): the file is damaged");
}

std::string set_aside(const std::string& path) {
  std::error_code ec;
  std::string suffix = ".bad";
  for (int i = 1; fs::exists(path + suffix, ec) || fs::exists(marker_path(path) + suffix, ec); ++i)
    suffix = ".bad." + std::to_string(i);
  const auto to = path + suffix;
  fs::rename(path, to, ec);
  MELON_CHECK(!ec, path << ": cannot rename it aside to " << to << ": " << ec.message());
  if (fs::exists(marker_path(path), ec)) {
    fs::rename(marker_path(path), marker_path(path) + suffix, ec);
    MELON_CHECK(!ec, marker_path(path) << ": cannot rename it aside: " << ec.message());
  }
  return to;
}

}  // namespace melon::ae

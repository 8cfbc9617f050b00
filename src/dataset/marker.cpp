#include "melon/dataset/marker.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "melon/error.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/hash.hpp"

namespace melon::dataset {
namespace fs = std::filesystem;
namespace {

struct FileSum {
  std::int64_t bytes = 0;
  std::uint64_t hash = kFnvOffset;
};

FileSum sum_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MELON_CHECK(in, path << ": cannot open: " << std::strerror(errno));
  FileSum s;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    s.hash = fnv1a64(buf.data(), static_cast<std::size_t>(n), s.hash);
    s.bytes += n;
  }
  MELON_CHECK(in.eof(), path << ": read failed: " << std::strerror(errno));
  return s;
}

// The folder's JSON files, relative and sorted; arena_mel holds no JSON and
// is hundreds of thousands of entries, so it is not walked. Temp files of an
// unfinished write and the marker itself are not part of the dataset.
std::vector<std::string> json_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  MELON_CHECK(!ec, dir << ": cannot list: " << ec.message());
  for (; it != end; it.increment(ec)) {
    MELON_CHECK(!ec, dir << ": cannot list: " << ec.message());
    const auto name = it->path().filename().string();
    if (it->is_directory()) {
      if (name == "arena_mel") it.disable_recursion_pending();
      continue;
    }
    if (name.size() < 5 || name.compare(name.size() - 5, 5, ".json") != 0) continue;
    out.push_back(fs::relative(it->path(), dir).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string marker_path(const std::string& dir) { return dir + "/" + kMarkerName; }

void remove_marker(const std::string& dir) {
  const auto p = marker_path(dir);
  if (::unlink(p.c_str()) == 0) {
    sync_filesystem(dir);  // gone for good before the folder changes
    return;
  }
  MELON_CHECK(errno == ENOENT, p << ": cannot remove the old completion marker: " << std::strerror(errno));
}

void write_marker(const std::string& dir, const std::string& written_by, const std::string& origin_json,
                  std::int64_t mel_files) {
  // Everything the marker vouches for reaches the disk before the marker does.
  sync_filesystem(dir);
  nlohmann::ordered_json m;
  m["melon_dataset_marker"] = 1;
  m["written_by"] = written_by;
  m["origin"] = nlohmann::ordered_json::parse(origin_json);
  auto files = nlohmann::ordered_json::array();
  for (const auto& rel : json_files(dir)) {
    const auto s = sum_file(dir + "/" + rel);
    files.push_back({{"path", rel}, {"bytes", s.bytes}, {"fnv1a64", hex64(s.hash)}});
  }
  m["files"] = files;
  if (mel_files >= 0) m["mel_files"] = mel_files;
  AtomicFile f(marker_path(dir));
  f.write(m.dump(1) + "\n");
  f.commit();
}

std::string check_marker(const std::string& dir) {
  const auto path = marker_path(dir);
  std::error_code ec;
  if (!fs::exists(path, ec))
    return dir + " has no completion marker " + kMarkerName +
           ": the run that wrote it may have stopped half-way (check it with `melon validate --data " + dir +
           " --mark`, which marks it when it passes, or pass --trust-data)";
  nlohmann::json m;
  try {
    std::ifstream in(path);
    m = nlohmann::json::parse(in);
    for (const auto& f : m.at("files")) {
      const std::string rel = f.at("path");
      const std::string p = dir + "/" + rel;
      if (!fs::exists(p, ec)) return dir + ": " + rel + " is listed in " + kMarkerName + " but missing";
      const auto s = sum_file(p);
      const std::int64_t bytes = f.at("bytes");
      if (s.bytes != bytes)
        return dir + ": " + rel + " has " + std::to_string(s.bytes) + " bytes, " + kMarkerName + " says " +
               std::to_string(bytes) + ": changed since the dataset was completed";
      if (hex64(s.hash) != f.at("fnv1a64").get<std::string>())
        return dir + ": " + rel + " differs from the file " + kMarkerName +
               " lists (FNV-1a 64 hash): changed since the dataset was completed";
    }
  } catch (const nlohmann::json::exception& e) {
    return path + ": unreadable completion marker (" + e.what() + ")";
  }
  return "";
}

}  // namespace melon::dataset

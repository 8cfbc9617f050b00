#include "melon/util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "melon/error.hpp"

namespace melon {
namespace {

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: some filesystems refuse directory fsync
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

TempPath::TempPath(const std::string& final_path) : path_(final_path + ".tmp." + std::to_string(::getpid())) {}

TempPath::~TempPath() {
  if (armed_) std::remove(path_.c_str());
}

void fsync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  MELON_CHECK(fd >= 0, path << ": cannot open for fsync: " << std::strerror(errno));
  int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  MELON_CHECK(rc == 0, path << ": fsync failed: " << std::strerror(err));
}

AtomicFile::AtomicFile(std::string path, bool durable) : path_(std::move(path)), durable_(durable) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  f_ = std::fopen(tmp_.c_str(), "wb");
  MELON_CHECK(f_, path_ << ": cannot create temporary file " << tmp_ << ": " << std::strerror(errno));
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
}

AtomicFile::~AtomicFile() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::write(const void* data, std::size_t n) {
  MELON_ASSERT(f_, "write after commit on " << path_);
  if (n && std::fwrite(data, 1, n, f_) != n) MELON_THROW(path_ << ": write failed: " << std::strerror(errno));
}

void AtomicFile::write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

void AtomicFile::sync() {
  MELON_ASSERT(f_, "sync after commit on " << path_);
  if (std::fflush(f_) != 0 || (durable_ && ::fsync(::fileno(f_)) != 0)) {
    const int err = errno;
    MELON_THROW(path_ << ": writing (fsync) failed: " << std::strerror(err));
  }
}

void AtomicFile::commit() {
  MELON_ASSERT(f_, "double commit on " << path_);
  // The errno of the first step that failed: a later successful call may
  // leave errno untouched or overwrite it.
  const char* step = nullptr;
  int err = 0;
  auto failed = [&](const char* what) {
    if (!step) {
      step = what;
      err = errno;
    }
  };
  if (std::fflush(f_) != 0) failed("writing (fflush)");
  if (!step && durable_ && ::fsync(::fileno(f_)) != 0) failed("fsync");
  if (std::fclose(f_) != 0) failed("closing");
  f_ = nullptr;
  if (step) {
    std::remove(tmp_.c_str());
    MELON_THROW(path_ << ": " << step << " failed: " << std::strerror(err));
  }
  commit_rename(tmp_, path_, durable_);
}

void commit_rename(const std::string& from, const std::string& to, bool durable) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    int err = errno;
    std::remove(from.c_str());
    MELON_THROW(to << ": cannot rename " << from << " into place: " << std::strerror(err));
  }
  if (durable) fsync_dir(parent_dir(to));
}

void sync_filesystem(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  MELON_CHECK(fd >= 0, path << ": cannot open to sync: " << std::strerror(errno));
  int rc = ::syncfs(fd);
  int err = errno;
  ::close(fd);
  MELON_CHECK(rc == 0, path << ": syncing the filesystem failed: " << std::strerror(err));
}

void make_dirs(const std::string& dir) {
  if (dir.empty()) return;
  std::string cur;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      MELON_THROW(dir << ": cannot create directory " << cur << ": " << std::strerror(errno));
  }
  struct stat st {};
  MELON_CHECK(::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), dir << ": not a directory");
}

}  // namespace melon

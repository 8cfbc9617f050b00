#include "melon/cli/output_paths.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::cli {
namespace {

std::string parent_of(const std::string& path) {
  auto end = path.find_last_not_of('/');
  if (end == std::string::npos) return "/";
  auto slash = path.find_last_of('/', end);
  if (slash == std::string::npos) return ".";
  auto p = path.substr(0, slash);
  return p.find_first_not_of('/') == std::string::npos ? "/" : p;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// Permissions, a read-only mount, a full inode table, root squash on NFS:
// creating a file is the one test that answers for all of them.
void probe(const std::string& option, const std::string& path, const std::string& dir) {
  const std::string p = dir + "/.melon-probe." + std::to_string(::getpid());
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  MELON_CHECK(fd >= 0, option << " " << path << ": cannot write in " << dir << ": " << std::strerror(errno));
  ::close(fd);
  ::unlink(p.c_str());
}

// The folder a new entry at `path` lands in, or the nearest one above it
// that exists when missing folders may be created.
std::string holder_dir(const std::string& option, const std::string& path, bool may_create) {
  std::string dir = parent_of(path);
  if (!may_create) {
    MELON_CHECK(exists(dir), option << " " << path << ": cannot write in " << dir << ": no such folder");
    MELON_CHECK(is_dir(dir), option << " " << path << ": " << dir << " is not a folder");
    return dir;
  }
  while (!exists(dir)) {
    const auto up = parent_of(dir);
    if (up == dir) break;
    dir = up;
  }
  MELON_CHECK(is_dir(dir), option << " " << path << ": " << dir << " is not a folder, so it cannot hold one");
  return dir;
}

template <class F>
void on_rank0(F&& f) {
  mpi::on_root(mpi::world(), f);
}

}  // namespace

void check_output_file(const std::string& option, const std::string& path, bool parent_may_be_missing) {
  on_rank0([&] {
    MELON_CHECK(!path.empty(), option << " is empty: name the file to write");
    MELON_CHECK(path.back() != '/', option << " " << path << ": names a folder; give a file name");
    MELON_CHECK(!is_dir(path), option << " " << path << ": is an existing folder; give a file name");
    probe(option, path, holder_dir(option, path, parent_may_be_missing));
  });
}

void check_output_dir(const std::string& option, const std::string& path) {
  on_rank0([&] {
    MELON_CHECK(!path.empty(), option << " is empty: name the folder to write");
    if (exists(path)) {
      MELON_CHECK(is_dir(path), option << " " << path << ": is an existing file, not a folder");
      probe(option, path, path);
    } else {
      probe(option, path, holder_dir(option, path, true));
    }
  });
}

}  // namespace melon::cli

#include "melon/util/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "melon/error.hpp"
#include "melon/util/atomic_file.hpp"

namespace melon {
namespace {

std::string holder_text() {
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  std::string cmd;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  for (char c; in.get(c);) cmd += c == '\0' ? ' ' : c;
  while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
  char when[32] = "?";
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  if (::gmtime_r(&now, &tm)) std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::ostringstream os;
  os << "host " << host << "\npid " << ::getpid() << "\nstarted " << when << "\ncommand " << cmd << "\n";
  return os.str();
}

// "host H, pid P, started T: COMMAND" from the holder's file; its text may
// be missing for an instant while the holder writes it.
std::string describe_holder(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n;
  off_t at = 0;
  while ((n = ::pread(fd, buf, sizeof buf, at)) > 0) {
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  std::istringstream in(text);
  std::string line, host, pid, started, cmd;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    auto key = line.substr(0, sp), value = line.substr(sp + 1);
    if (key == "host") host = value;
    if (key == "pid") pid = value;
    if (key == "started") started = value;
    if (key == "command") cmd = value;
  }
  if (pid.empty()) return "another process (it has not written its name yet)";
  std::string s = "host " + host + ", pid " + pid;
  if (!started.empty()) s += ", started " + started;
  if (!cmd.empty()) s += ": " + cmd;
  return s;
}

}  // namespace

DirLock::DirLock(std::string dir, bool remove_if_empty) : dir_(std::move(dir)) {
  MELON_CHECK(!dir_.empty(), "cannot lock an output folder with an empty name");
  struct stat st {};
  const bool existed = ::stat(dir_.c_str(), &st) == 0;
  make_dirs(dir_);
  remove_dir_ = remove_if_empty || !existed;
  path_ = dir_ + "/" + kFileName;
  // A releasing holder unlinks the file: a lock won on the unlinked inode
  // guards nothing, so take it again on the file the name now points to.
  for (;;) {
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    MELON_CHECK(fd >= 0, path_ << ": cannot create the folder's lock file: " << std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        const std::string who = describe_holder(fd);
        ::close(fd);
        MELON_THROW(dir_ << " is in use by another melon run (" << who
                         << "); wait for it to end or choose another folder");
      }
      ::close(fd);
      MELON_THROW(path_ << ": cannot lock the folder: " << std::strerror(err));
    }
    struct stat held {
    }, named{};
    if (::fstat(fd, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      fd_ = fd;
      break;
    }
    ::close(fd);
  }
  const std::string text = holder_text();
  // The text is for messages only: a failure to write it leaves the lock held.
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(fd_, text.data(), text.size(), 0);
  }
}

DirLock::~DirLock() {
  if (fd_ < 0) return;
  // Unlinked before closing, while still held, so no one locks a doomed file.
  ::unlink(path_.c_str());
  ::close(fd_);
  if (remove_dir_) ::rmdir(dir_.c_str());  // fails, harmlessly, unless empty
}

}  // namespace melon

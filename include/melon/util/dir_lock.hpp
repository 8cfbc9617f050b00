#pragma once
// An exclusive lock on an output folder for the life of a run, so two runs
// never write into one folder (one's pruning deleting the other's files).
// The lock is flock() on DIR/.melon.lock: the kernel drops it when the holder
// exits, however it exits, so a lock file left by a killed run never blocks.
// The file's text (host, pid, command, start time) is only for the message a
// second run gets. flock works across nodes on Linux NFS (it becomes a POSIX
// lock there); on a filesystem without locks the lock throws naming it.
// Two locks on one folder conflict within one process too: a stage must not
// lock a folder its caller already holds.
#include <string>

namespace melon {

class DirLock {
 public:
  // Creates dir (and parents) if needed, then takes the lock or throws
  // melon::Error naming the folder and the holder's host and pid.
  // remove_if_empty: on release also remove the folder when it is left
  // empty (a scratch folder such as pca's X.state); otherwise the folder is
  // removed only if this lock created it and it is still empty.
  explicit DirLock(std::string dir, bool remove_if_empty = false);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

  const std::string& dir() const { return dir_; }
  static constexpr const char* kFileName = ".melon.lock";

 private:
  std::string dir_, path_;
  int fd_ = -1;
  bool remove_dir_ = false;
};

}  // namespace melon

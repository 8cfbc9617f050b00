#pragma once
// A file that appears under its final name only when complete: writes go to
// "<path>.tmp.<pid>", commit() fsyncs, renames and fsyncs the directory.
// Destroyed without commit(), the temp file is removed: nothing half-written.
#include <cstdio>
#include <string>
#include <string_view>

namespace melon {

class AtomicFile {
 public:
  // durable = false skips the two fsyncs (file and directory) for bulk outputs
  // of many small files; the rename still hides partial files, and the caller
  // makes the whole batch durable once with sync_filesystem().
  explicit AtomicFile(std::string path, bool durable = true);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  void write(const void* data, std::size_t n);
  // Flushes and (durable) fsyncs what was written so far, still under the
  // temp name: a later commit() is then only a rename, for callers that must
  // put two files in place as close together as they can.
  void sync();
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  bool durable_ = true;
};

// Flushes everything written to the filesystem holding `path` (syncfs).
void sync_filesystem(const std::string& path);

// The temp name of a file another API writes (an HDF5 file):
// "<path>.tmp.<pid>", removed on destruction unless released after its rename,
// so nothing half-written survives a failure.
class TempPath {
 public:
  explicit TempPath(const std::string& final_path);
  ~TempPath();
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::string& path() const { return path_; }
  void release() { armed_ = false; }  // renamed into place: nothing to remove

 private:
  std::string path_;
  bool armed_ = true;
};

// fsyncs a finished file written by another API (an HDF5 file before its
// rename); throws melon::Error naming it on failure.
void fsync_file(const std::string& path);

// Creates a directory and its parents (like mkdir -p); throws melon::Error on failure.
void make_dirs(const std::string& dir);

// Renames a finished temp file (or directory) into place and, when durable,
// fsyncs the parent directory.
void commit_rename(const std::string& from, const std::string& to, bool durable = true);

}  // namespace melon

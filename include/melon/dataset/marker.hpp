#pragma once
// A dataset folder is complete only when DIR/melon-dataset.done exists: the
// last file its writer (melon generate, or melon validate --mark after the
// checks pass) puts there. It is a manifest of the folder's JSON files (path,
// size, FNV-1a 64 of the bytes) and the count of mel files, so a folder a run
// left half-written (disk full at the 6th mel file) or a JSON file replaced
// since is told apart from a complete one before hours of work start on it.
// The text depends only on the files and `origin`: the same generate writes
// the same marker whatever the rank count.
#include <cstdint>
#include <string>

namespace melon::dataset {

inline constexpr const char* kMarkerName = "melon-dataset.done";

std::string marker_path(const std::string& dir);

// Removes the marker (durably) before a writer starts changing the folder.
void remove_marker(const std::string& dir);

// Writes the marker last and durably (AtomicFile). written_by: "melon
// generate" or "melon validate --mark"; origin_json: a JSON object with the
// writer's settings ("{}" for none); mel_files: -1 when not counted.
void write_marker(const std::string& dir, const std::string& written_by, const std::string& origin_json,
                  std::int64_t mel_files);

// "" when DIR's marker exists and every listed JSON file has its size and
// hash; otherwise one line naming the folder and what is missing or differs.
std::string check_marker(const std::string& dir);

}  // namespace melon::dataset

#pragma once
// The DONE marker beside every checkpoint file (llm.c's idea, whole-file):
// PATH.done, written atomically after PATH is renamed into place, holds the
// file's size and the XXH3-64 hash of all its bytes. A reader checks both
// before HDF5 ever opens PATH, so damage anywhere in it (weights, optimizer
// moments, counters, RNG state, vocabulary, HDF5's own structures) is caught,
// and libhdf5's parser only ever sees files that are byte for byte as written.
//
// Marker text (one "key value" a line, in this order):
//   melon-checkpoint-done 1
//   size <bytes>
//   xxh3_64 <16 hex digits>
#include <cstdint>
#include <string>

namespace melon::ae {

std::string marker_path(const std::string& path);

// XXH3-64 of the file's bytes; its size in *size. Throws melon::Error naming the file.
std::uint64_t file_hash(const std::string& path, std::uint64_t* size = nullptr);

// Writes PATH.done for the file now at PATH (atomically, fsynced).
void write_marker(const std::string& path);
// Same, with the size and hash already known (of the bytes now at PATH).
void write_marker(const std::string& path, std::uint64_t size, std::uint64_t hash);
// What the marker of a file of `size` bytes and XXH3-64 `hash` holds.
std::string marker_text(std::uint64_t size, std::uint64_t hash);

// Throws melon::Error "PATH: <problem>" when PATH.done is missing or unreadable,
// or PATH's size or hash differ from it.
void verify_marker(const std::string& path);

// Moves a damaged file aside, never deleting it: PATH -> PATH.bad and its
// marker PATH.done -> PATH.done.bad (a number appended when those exist).
// Returns the new name of the file.
std::string set_aside(const std::string& path);

}  // namespace melon::ae

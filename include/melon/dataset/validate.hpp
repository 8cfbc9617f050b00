#pragma once
// Checks a dataset folder as released (or generated) before a long job: every
// JSON file parses and validates, every song id is known, genre codes are
// known (GN9000 is a known quirk: counted, not an error), and optionally every
// used song's mel-spectrogram reads. Mel files are checked in parallel, each
// rank a block of ids.
#include <mpi.h>

#include <cstdint>
#include <string>

namespace melon::dataset {

struct ValidateOptions {
  std::string data;             // folder holding train/val/test.json, song_meta.json, genre_gn_all.json
  std::string mel_dir;          // arena_mel folder: also read every used song's mel file ("" = not)
  bool missing_mel_ok = false;  // count songs without a mel file instead of failing (the real tree lacks a few)
};

struct MelCounts {
  std::int64_t used = 0;  // songs used in a playlist: the files checked
  std::int64_t missing = 0, unreadable = 0, nonfinite = 0, short_songs = 0;
};

struct Validation {
  bool ok = true;  // false: unreadable mel files, or missing ones without missing_mel_ok
  MelCounts mel;   // over all ranks; zero without a mel_dir
};

// Collective over comm. Every rank reads the JSON files; one that does not
// parse or validate, or names an unknown song, throws melon::Error naming it.
// Rank 0 logs what it found and, with a mel_dir, prints the first 50 mel
// problems to stderr and a summary line.
Validation validate(const ValidateOptions& opt, MPI_Comm comm);

}  // namespace melon::dataset

#pragma once
// The PCA job as `melon pca` runs it: the song list, byte-balanced shards of
// the songs that exist (missing ones listed with their reason), the memory
// budget, the resume fingerprint, the passes (rpca.hpp) and pca.h5
// (output.hpp), with the job's log lines.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>

#include "melon/pca/features.hpp"
#include "melon/pca/rpca.hpp"

namespace melon::pca {

struct JobOptions {
  // Exactly one of: a folder of {id//1000}/{id}.npy, or procedural spectrograms "synthetic:SEED[:NSONGS]".
  std::string mel_dir, mel_source;
  // A file of ids or a range A-B (shard.hpp's parse_song_list); none: every song the source has.
  std::optional<std::string> songs;
  std::string out;  // pca.h5; resume state goes to "<out>.state/"
  FeatureSpec features;
  // The algorithm's settings. The job sets comm, state_dir, cache_bytes and
  // fingerprint itself; whatever they hold here is ignored.
  Options pca;
  // MiB per rank: checked against the working set, and what is left keeps
  // feature rows in memory between passes (0 = always stream; < 0 = auto:
  // half the node's available memory over the ranks on it).
  std::int64_t memory_mb = -1;
};

enum class JobEnd {
  Written,  // the output is in place and the resume state removed
  Stopped,  // Options::stop_after_pass was reached; the state is kept for a resume
};

// Collective over comm. Throws melon::Error on every rank for bad options or
// input (no readable song, an --out that cannot be written, ...).
JobEnd run_job(const JobOptions& opts, MPI_Comm comm);

}  // namespace melon::pca

#pragma once
// pca.h5, both ways: the PCA result as one HDF5 file, written in parallel
// (MPI-IO, collective hyperslab writes: each rank writes its own rows of
// song_ids and scores), and read back by the stages that use the scores
// (training, prediction, rerank). The dataset names live only in output.cpp.
//
// Datasets at the root (N songs read, K components, D features, S skipped):
//   song_ids                  int32   (N)      row order of scores, ascending ids
//   scores                    float32 (N, K)   chunked; = projection of the centred row
//   components                float64 (K, D)   unit rows, largest-|x| entry positive
//   singular_values           float64 (K)
//   explained_variance        float64 (K)      singular_values^2 / (N - 1)
//   explained_variance_ratio  float64 (K)      of the total variance of the centred features
//   mean                      float64 (D)
//   skipped_song_ids          int32   (S)      missing or unreadable songs, ascending
//   skipped_reasons           string  (S)      fixed-width UTF-8, why each was skipped
// Settings are root attributes. The file appears under its name only when
// complete: it is written as "<out>.tmp.<pid>" and renamed by rank 0.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/pca/rpca.hpp"

namespace melon::pca {

struct Attributes {
  std::vector<std::pair<std::string, std::string>> text;
  std::vector<std::pair<std::string, std::int64_t>> ints;
  std::vector<std::pair<std::string, double>> reals;
};

struct SkippedSong {
  arena::SongId id = 0;
  std::string reason;
};

// Collective over comm. local_ids[i] is the song id of result.scores row i on
// this rank; `skipped` holds the songs this rank knows were skipped (each song
// on exactly one rank). comm = MPI_COMM_NULL writes serially (no MPI needed).
void write_output(MPI_Comm comm, const std::string& path, const Result& result,
                  const std::vector<arena::SongId>& local_ids, const std::vector<SkippedSong>& skipped,
                  const Attributes& attrs);

// The per-song scores of a pca.h5 file: ids[i] is the song of row i of the
// row-major ids.size() x dim matrix `scores`.
struct Scores {
  std::vector<arena::SongId> ids;
  std::vector<float> scores;
  int dim = 0;
};

// Serial (no MPI). Throws melon::Error naming the file when the datasets are
// missing or their shapes do not match.
Scores read_scores(const std::string& path);

}  // namespace melon::pca

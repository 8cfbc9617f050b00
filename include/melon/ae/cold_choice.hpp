#pragma once
// Whether cold songs (outside the vocabulary, scored by audio) should compete,
// and with which shift of their calibrated bias: one setting, chosen by the
// held-out score of the answers each candidate setting gives.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "melon/ae/model.hpp"
#include "melon/arena/types.hpp"

namespace melon::ae {

struct ColdChoice {
  double song = -1, tag = -1, score = -1;  // nDCG of the chosen setting; score = 0.85 songs + 0.15 tags
  bool cold_songs = false;
  double cold_shift = 0;
};

// Tries cold songs off and on with shifts -4, -2 and 0 (only off without
// audio) on questions (this rank answers its mpi::block_range of them,
// answers are the held-out truth, in the same order); the first best wins.
// Leaves m prepared for the last setting tried. Collective over comm.
ColdChoice choose_cold(Model& m, const std::vector<arena::Playlist>& questions,
                       const std::vector<arena::Result>& answers, const std::vector<std::int32_t>& song_dates,
                       util::ThreadPool& pool, MPI_Comm comm);

}  // namespace melon::ae

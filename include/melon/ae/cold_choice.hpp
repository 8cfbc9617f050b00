#pragma once
// Settings of how a trained model answers, each chosen by the held-out score
// of the answers it gives: whether cold songs (outside the vocabulary, scored
// by audio) should compete and with which shift of their calibrated bias; how
// strongly the item-to-item term (neighbours.hpp) counts.
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
  double nbr_scale = 1;  // the item-to-item term's multiplier (choose_nbr_scale)
  double tag_mix = 1;    // the tag head's share against song-read tags (choose_tag_mix)
};

// Tries cold songs off and on with shifts -4, -2 and 0 (only off without
// audio) on questions (this rank answers its mpi::block_range of them,
// answers are the held-out truth, in the same order); the first best wins.
// Leaves m prepared for the last setting tried. Collective over comm.
ColdChoice choose_cold(Model& m, const std::vector<arena::Playlist>& questions,
                       const std::vector<arena::Result>& answers, const std::vector<std::int32_t>& song_dates,
                       util::ThreadPool& pool, MPI_Comm comm);

// With the cold setting of `at` (scored at multiplier 1) in place: doubles
// the item-to-item term's multiplier while the held-out score rises (up to
// kNbrScaleMax), and if doubling did not help, halves it while it rises (down
// to 1 / kNbrScaleMax); returns `at` with the best and leaves
// m.neighbours.scale at it. Nothing to try without the term. Collective over
// comm.
//
// Why: the strength that trains best is not the one that answers best. On
// the walk family a fixed gain 1 trains the code well but answers at 0.2438
// held-out where gain 3 reaches 0.2632; on dataset a gain 1 is best
// (0.1765 against 0.1651), and a strength learned by the training loss itself
// climbs to 4-5 there and scores 0.1656 (tools/bench/RESULTS.md). Choosing
// the multiplier on held-out playlists, as the reference recommenders'
// settings are, keeps training as it is and lets each dataset pick.
inline constexpr double kNbrScaleMax = 64;
ColdChoice choose_nbr_scale(Model& m, const ColdChoice& at, const std::vector<arena::Playlist>& questions,
                            const std::vector<arena::Result>& answers, const std::vector<std::int32_t>& song_dates,
                            util::ThreadPool& pool, MPI_Comm comm);

// With the settings of `at` in place (m.tag_mix at 1): the tag mix of
// kTagMixes (song_tags.hpp) whose tags score best on the held-out questions,
// the first best winning, so the head alone stays unless a mix beats it.
// Returns `at` with the choice (tag and score updated) and leaves m.tag_mix
// at it. Nothing to try without m.song_tags. Collective over comm.
ColdChoice choose_tag_mix(Model& m, const ColdChoice& at, const std::vector<arena::Playlist>& questions,
                          const std::vector<arena::Result>& answers, const std::vector<std::int32_t>& song_dates,
                          util::ThreadPool& pool, MPI_Comm comm);

}  // namespace melon::ae

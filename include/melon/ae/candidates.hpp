#pragma once
// The autoencoder as a candidate source: for each question, its best songs and
// tags with their scores (the output logits). Every question type works:
// songs, tags, title tokens and the shown songs' mean audio are inputs,
// whichever of them the question has. Never the question's own songs or tags,
// never a song released after the playlist's updt_date (arena/rules.hpp).
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "melon/ae/model.hpp"
#include "melon/arena/candidates.hpp"
#include "melon/arena/types.hpp"

namespace melon::ae {

struct PredictOptions {
  std::vector<std::int32_t> song_dates;  // date_key(issue_date) by song id; empty: no date filter
  bool cold_songs = true;                // let out-of-vocabulary songs with audio compete
  std::int64_t batch = 256;
};

// The model's n_songs best songs and n_tags best tags, for this rank's block
// of the questions (mpi::block_range over comm), in order. No popularity fill.
// Tags: the tag head's, or with m.tag_mix < 1 its mix with the tags read
// through the shown songs and the model's first songs (song_tags.hpp), the
// fused score standing for the logit.
std::vector<arena::Candidates> candidates(const Model& m, const std::vector<arena::Playlist>& questions,
                                          const PredictOptions& opt, std::size_t n_songs, std::size_t n_tags,
                                          util::ThreadPool& pool, MPI_Comm comm);

// The two lists fuse_tags mixes, for this rank's block of the questions:
// the head's and the songs' kTagListLength best tags (vocabulary indices,
// best first). Needs m.song_tags.
inline constexpr std::size_t kTagListLength = 20;
struct TagLists {
  std::vector<std::int32_t> head, songs;
};
std::vector<TagLists> tag_lists(const Model& m, const std::vector<arena::Playlist>& questions,
                                const PredictOptions& opt, util::ThreadPool& pool, MPI_Comm comm);

}  // namespace melon::ae

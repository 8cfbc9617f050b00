#pragma once
// The official local split (the competition's split_data.py): shuffle, keep
// 80% for training, turn 20% into questions by position: 30% songs only,
// 50% songs + tags, 15% tags only, 5% title only.
//
// Masking is split_data.py's _mask() (questions::kOfficialMasking): for a
// masked field the question shows len//2 random items and the answer holds
// the other len - len//2 (never empty, since a playlist has at least one song
// and one tag); a removed field is empty in the question and its answer is
// truncated to the first 100 songs / 10 tags. Titles, like_cnt and updt_date
// stay visible.
#include <cstdint>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::split {

struct Split {
  std::vector<arena::Playlist> train;      // orig/train.json
  std::vector<arena::Playlist> questions;  // questions/val.json
  std::vector<arena::Playlist> answers;    // answers/val.json (same order as questions)
};

Split official_split(std::vector<arena::Playlist> playlists, std::uint64_t seed);

}  // namespace melon::split

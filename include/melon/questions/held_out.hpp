#pragma once
// Held-out training playlists: a slice of the training set a stage never
// learns from, turned into questions the way the official split makes them,
// so it can be scored as the real questions are. Training holds one out (its
// checkpoint records the ids, and the reranker learns on them); the reranker
// draws its own when there is no autoencoder.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/questions/types.hpp"

namespace melon::questions {

// Who draws: each keys its own shuffle, so the two slices differ.
enum class HeldOutDraw : std::uint64_t { Training = 0x7A11, Rerank = 0x7E7A };

// The most held out of n training playlists: a third (the rest must still
// train the model and fit the references).
std::int64_t held_out_cap(std::size_t n);

// Positions of min(wanted, held_out_cap(n)) of n training playlists (none for
// wanted <= 0), uniformly drawn, ascending.
std::vector<std::size_t> held_out_indices(std::size_t n, std::int64_t wanted, std::uint64_t seed, HeldOutDraw who);

// The type of the j-th held-out question, the official split's mix by
// position: j % 20 in 0-5 songs only, 6-15 songs + tags, 16-18 tags only, 19
// title only (30/50/15/5%).
QuestionType held_out_type(std::int64_t position);

struct HeldOut {
  arena::Playlist question;
  arena::Result answer;
};
// The question of p as the held-out question at `position`: its type by
// position, masked with kOfficialMasking (mask.hpp), the draw keyed by
// (seed, position) so it is the same in training and in the reranker.
HeldOut held_out_question(const arena::Playlist& p, std::int64_t position, std::uint64_t seed);

}  // namespace melon::questions

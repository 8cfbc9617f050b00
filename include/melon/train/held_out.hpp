#pragma once
// The training playlists held out of training: scored every epoch (early
// stopping without stopping, the cold-song setting) and, through the ids in
// the checkpoint, the questions the reranker learns on (rank/rerank.hpp).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::train {

struct HeldOutSplit {
  std::vector<std::size_t> held;             // indices into the training playlists, ascending
  std::vector<const arena::Playlist*> data;  // what trains: the other training playlists, then the questions
  std::vector<arena::Playlist> questions;  // one per held-out playlist (questions::held_out_question), in `held` order
  std::vector<arena::Result> answers;
};

// Holds out min(val_size, a fifth) of `train`, drawn from seed alone, so the
// slice does not depend on the rank count. Throws when nothing is left to train on.
HeldOutSplit split_held_out(const std::vector<arena::Playlist>& train, const std::vector<arena::Playlist>& visible,
                            std::int64_t val_size, std::uint64_t seed);

}  // namespace melon::train

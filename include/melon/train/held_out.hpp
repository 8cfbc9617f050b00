#pragma once
// The training playlists held out of training: scored every epoch (early
// stopping without stopping, the cold-song setting) and, through the ids in
// the checkpoint, the questions the reranker learns on (rank/rerank.hpp).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/train/config.hpp"

namespace melon::train {

struct HeldOutSplit {
  std::vector<std::size_t> held;             // indices into the training playlists, ascending
  std::vector<const arena::Playlist*> data;  // what trains: the other training playlists, then the questions
  std::vector<arena::Playlist> questions;  // one per held-out playlist (questions::held_out_question), in `held` order
  std::vector<arena::Result> answers;
};

// How many playlists --val-size holds out of n_train (with n_visible
// questions training too): a number given is kept; kValSizeAuto is 1000, or
// 2000 (the reranker's own draw, `melon rerank --learn-questions`) when 1000 would
// be at least kRefitMinShare of the data, where --refit auto trains again on
// every playlist (train/refit.hpp): the slice then costs the answering model
// nothing and gives the reranker more questions to learn on. Either at most
// a third of n_train. On two 6,000-playlist datasets the grid does not report
// (960 held out before, 1,600 now) the reranked answers scored 0.4331 and
// 0.2975 against 0.4309 and 0.2956, the autoencoder's alone 0.3781 and 0.2737
// against 0.3842 and 0.2774.
std::int64_t held_out_size(std::int64_t val_size, Refit refit, std::size_t n_train, std::size_t n_visible);

// The --val-size a run in checkpoint_dir was started with (its newest
// readable checkpoint's settings), or -1 when there is none. --val-size auto
// on a resume takes it: the slice is part of what is resumed, and a run
// started under another rule (1,000 before auto existed) must continue with
// its own. Reads files: call on one rank.
std::int64_t resumed_val_size(const std::string& checkpoint_dir);

// Holds out min(val_size, a third) of `train`, drawn from seed alone, so the
// slice does not depend on the rank count. Throws when nothing is left to train on.
HeldOutSplit split_held_out(const std::vector<arena::Playlist>& train, const std::vector<arena::Playlist>& visible,
                            std::int64_t val_size, std::uint64_t seed);

}  // namespace melon::train

#pragma once
// Each vocabulary song's nearest songs by co-occurrence in the training
// playlists: the item-to-item term of the autoencoder's song output
// (autoencoder.hpp). One low-rank code cannot hold a song graph that
// playlists wander along (on walk-generated data the plain autoencoder stayed
// at 0.177 held-out where item-kNN reached 0.238, whatever its settings); this
// term gives every output song a direct path from the shown songs it
// co-occurs with, and the autoencoder learns what the neighbours miss.
//
// For an example with shown songs I, the term's feature of output song j is
//   f(j) = gain · log(1 + Σ_{i ∈ I} w_ij / tau)
// with w_ij the cosine of the co-occurrence counts (each source keeps its k
// largest), tau the mean kept weight (so the feature's scale does not depend
// on the data's density), and the logit of j gains song_nbr_j · f(j), a
// learned weight per output song that starts at 1.
#include <cstdint>
#include <vector>

#include "melon/ae/encode.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::ae {

struct Neighbours {
  int k = 0;                 // neighbours kept per source song (0: no term)
  double tau = 1, gain = 1;  // the feature's scale, above
  // Answering questions, the feature is also multiplied by this: the
  // multiplier the held-out playlists chose (cold_choice.hpp). Training: 1.
  double scale = 1;
  std::vector<std::int64_t> ptr{0};  // source song s: entries [ptr[s], ptr[s+1])
  std::vector<std::int32_t> idx;     // neighbour song (vocabulary index), by weight, largest first
  std::vector<float> w;              // cosine of the co-occurrence counts
  std::vector<std::int32_t> count;   // playlists each song is in (empty: not kept, as before 2026-12)
  bool empty() const { return k == 0; }
};

// From the songs of `playlists` (vocabulary indices, -1 skipped, repeats
// counted once); the same on every rank and for any thread count.
Neighbours build_neighbours(const std::vector<Encoded>& playlists, std::int64_t n_songs, int k, double gain,
                            util::ThreadPool& pool);

// The feature f of every song the shown songs reach, restricted to output
// songs [s0, s1): (column - s0, f) in a fixed order. scratch: s1 - s0 zeros
// on entry and on return.
void neighbour_features(const Neighbours& nb, const std::int32_t* shown, std::int64_t n_shown, std::int64_t s0,
                        std::int64_t s1, std::vector<float>& scratch, std::vector<std::pair<std::int32_t, float>>& out);

// The same for a training example from one of the playlists the neighbours
// were counted over, with that playlist's part of the counts left out: the
// playlist's songs `own` (ascending, the shown ones among them) co-occur with
// each other once fewer and each is in one playlist fewer. Without this the
// term sees the hidden songs through the very playlist they are hidden from,
// so training would learn it stronger than it is on a question (dataset a:
// a strength learned that way scored 0.1656 held-out, a fixed one 0.1765).
// The kept neighbours stay those of the whole counts. Needs nb.count.
void neighbour_features_own_out(const Neighbours& nb, const std::int32_t* shown, std::int64_t n_shown,
                                const std::vector<std::int32_t>& own, std::int64_t s0, std::int64_t s1,
                                std::vector<float>& scratch, std::vector<std::pair<std::int32_t, float>>& out);

}  // namespace melon::ae

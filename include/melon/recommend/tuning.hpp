#pragma once
// Reference hyperparameters chosen on held-out training playlists, never on
// the questions being answered: a slice of the training playlists becomes
// questions (the official mix by position, questions/held_out.hpp), each
// point of a small grid is fitted on the other playlists and answers them,
// and the best official score wins. Defaults tuned on one generated dataset
// did not carry to another (issue 16: EASE's lambda 1000 scored 0.307 where
// 300 scored 0.322), so the choice follows the data.
//
// The slice is the autoencoder's held-out playlists when there is one, else
// the reranker's own draw: the same slice the reranker learns on, so the
// references stage's held-out fit is exactly what the reranker needs, and
// it loads it instead of fitting again (fitted_io.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/recommend/references.hpp"

namespace melon::recommend {

// The seed of the held-out questions' masking (the reranker's default seed,
// so its learning questions are these).
constexpr std::uint64_t kHeldOutSeed = 1;
// How many playlists the reranker holds out when no autoencoder did.
constexpr std::int64_t kOwnHeldOut = 2000;

// Ids of the reranker's own held-out slice (questions::HeldOutDraw::Rerank),
// in training order.
std::vector<std::int64_t> draw_held_out(const std::vector<arena::Playlist>& train, std::int64_t wanted,
                                        std::uint64_t seed);

// The held-out playlists as questions with their answers, and the others.
struct HeldOutSet {
  std::vector<std::int64_t> ids;  // as given
  std::vector<arena::Playlist> fit_on;
  std::vector<arena::Playlist> questions;
  std::vector<arena::Result> answers;
};
// Throws naming the first id not found in train.
HeldOutSet held_out_set(const std::vector<arena::Playlist>& train, const std::vector<std::int64_t>& ids,
                        std::uint64_t seed);

// The tuned hyperparameters of each method, by their option names.
//   item-knn: alpha {0, 0.5, 1} x beta {0, 0.1, 0.3}
//   playlist-knn: neighbours {100, 300, 1000} x power {1, 2}
//   ease: ease-lambda {100, 300, 1000, 3000}
// The given options come first (ties keep them); a pinned name (a value the
// user set) keeps its given value.
std::vector<ReferenceOptions> tuning_grid(ReferenceMethod m, const ReferenceOptions& given,
                                          const std::vector<std::string>& pinned);
// The tuned hyperparameters of o as "name=value ..." (for logs and files).
std::string describe_tuned(ReferenceMethod m, const ReferenceOptions& o);

struct Trial {
  ReferenceOptions opt;
  double score = 0;  // 0.85 song nDCG@100 + 0.15 tag nDCG@10 on the held-out questions
};
struct Tuned {
  Fitted fitted;  // the best trial's fit on the held-out set's corpus
  std::vector<Trial> trials;
  std::size_t chosen = 0;
};

// Collective. c: build_corpus of held.fit_on. Every rank answers its share of
// the held-out questions; rank 0 scores, and every rank keeps the same best
// fit (so the choice does not depend on the rank count).
// threads: each trial's fit (the mixture's) and answers; the same trials for any count.
Tuned tune(ReferenceMethod m, const Corpus& c, const HeldOutSet& held, const std::vector<std::int32_t>& song_dates,
           const std::vector<ReferenceOptions>& grid, util::ThreadPool& threads = util::ThreadPool::serial());

// Collective. The options run_reference answers with: run.opt when neither
// tuning nor a saved fit is asked for; else the held-out split's best trial
// (or, when run.fitted holds a fit of the same corpus, slice and request,
// its options, without tuning again), writing that fit to run.fitted.
// n_songs: the song id space (the reranker's: song_meta, else every id the
// training playlists and questions name).
ReferenceOptions choose_options(ReferenceMethod m, const std::vector<arena::Playlist>& train, std::size_t n_songs,
                                const std::vector<std::int32_t>& song_dates, const ReferenceRun& run,
                                util::ThreadPool& threads = util::ThreadPool::serial());

}  // namespace melon::recommend

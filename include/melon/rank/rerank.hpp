#pragma once
// The final ranking stage: pool every source's candidates, describe each with
// features (features.hpp), and order them with XGBoost rank:ndcg models
// (one for songs, one for tags) learned on questions made from training
// playlists the sources never saw.
//
// Where the learning questions come from: the autoencoder holds a slice of the
// training playlists out of its training (their ids are in its checkpoint).
// The reranker masks those playlists the way the official split does and fits
// the reference recommenders on the remaining playlists, so every source
// scores them as it scores a real question: without having seen the answer.
// (Without an autoencoder the reranker draws its own slice.) The same fitted
// sources then answer the real questions, so features mean the same thing in
// learning and in use. The references stage fits the references on that same
// split (tuning their hyperparameters on it) and saves the fits; given their
// folder, the reranker loads them instead of fitting again.
//
// Parallel layout: questions are split across ranks in contiguous blocks of
// about equal estimated cost (recommend::question_share); each
// rank pools and describes its block; rank 0 gathers the learning rows in
// question order, trains, and broadcasts the models; each rank reranks its
// block of the real questions and rank 0 gathers the answers. The rows do not
// depend on the rank count, so neither do the models beyond the autoencoder's
// float rounding.
#include <cstdint>
#include <string>
#include <vector>

#include "melon/ae/checkpoint.hpp"  // Weights
#include "melon/arena/types.hpp"
#include "melon/rank/xgboost.hpp"
#include "melon/recommend/references.hpp"

namespace melon::rank {

struct RerankOptions {
  std::vector<std::string> references{"item-knn", "playlist-knn", "ease"};
  // false: the autoencoder's checkpoint gives the held-out slice and the
  // audio table but not its candidates (the ablation that changes nothing else).
  bool ae_source = true;
  bool title_source = true;  // item-knn over the title's tokens alone, for every question
  bool use_audio = true;     // audio similarity feature (needs PCA scores)
  bool use_titles = true;    // off: titles are blanked in every question (ablation)
  // false: no learning; the pool is ordered by reciprocal-rank fusion,
  // sum over sources of 1 / (60 + rank) (the "without the reranker" ablation).
  bool learned = true;
  std::size_t songs_per_source = 200;
  std::size_t tags_per_source = 20;
  // A second learning question per held-out playlist that shows no songs
  // (tags-only and title-only questions get their own song ranker).
  bool no_song_copies = false;
  // Learning questions per held-out playlist, each of another type and mask.
  // 5 and trees of depth 4 (were 1 and XGBoost's 6): chosen on the questions
  // of two datasets the quality grid does not report (bench_quality.sh
  // --seed-offset 100; RESULTS.md "Chosen on held-out questions").
  std::int64_t learn_copies = 5;
  // Songs of questions without songs ranked by a model of their own.
  bool split_song_model = false;
  std::int64_t learn_questions = 2000;  // drawn only when no autoencoder gives its held-out slice
  double valid_share = 0.2;             // of the learning questions, kept to report the rerankers' nDCG
  // A ranker stops learning once its validation nDCG has not improved for
  // this many rounds (0: every round, the default). 50 stopped taste-mid-r0's
  // song ranker at round 60 keeping round 10's model (validation is ~1,000
  // questions: noisy); all 200 rounds kept round 90 and answered better
  // (RESULTS.md "The autoencoder refitted on every training playlist").
  int patience_rounds = 0;
  std::uint64_t seed = 1;
  BoosterOptions songs{.max_depth = 4}, tags{.max_depth = 4};
  recommend::ReferenceOptions ref;
  // References not loaded from the references stage (RerankInputs::fitted)
  // are tuned on the held-out split as that stage tunes them
  // (recommend/tuning.hpp), keeping the pinned option names at ref's values.
  bool tune_references = true;
  // The references that answer the questions are fitted again, with the
  // options chosen on the held-out split, on every training playlist (the
  // learning phase's fits leave the held-out slice out). false: the learning
  // fits answer too (the ablation).
  bool refit_on_all = true;
  std::vector<std::string> pinned;
  int threads = 0;  // per rank; 0: the CPUs this rank may run on / the ranks sharing them (mpi::threads_per_rank)
  // Threads the two rankers learn with. XGBoost's histogram sums follow its
  // thread count, so any other value than a fixed one would make the answers
  // depend on the node's cores; more than 1 learns faster on big nodes and
  // answers the same only for the same value. Answering uses `threads`.
  int ranker_threads = 1;
  std::string model_dir;  // when set, rank 0 writes the two models and their feature lists there
};

struct RerankInputs {
  const std::vector<arena::Playlist>* train = nullptr;
  const std::vector<arena::Playlist>* questions = nullptr;
  const arena::SongMeta* meta = nullptr;  // may be null
  std::string checkpoint_dir;             // empty: no autoencoder source
  // Which of its weights (ae/checkpoint.hpp). Refit: best.h5 for learning
  // (its scores on the held-out slice are honest), refit.h5 for answering
  // when refit_on_all.
  ae::Weights weights = ae::Weights::Refit;
  std::string pca;  // PCA HDF5 for the audio feature (and the autoencoder's audio)
  // The references stage's held-out fits (DIR/<method>.h5, recommend/fitted_io.hpp):
  // loaded instead of fitted again; a method without a file is fitted here.
  std::string fitted;
};

// Collective. Answers in question order on rank 0; other ranks get none.
std::vector<arena::Result> rerank(const RerankInputs& in, const RerankOptions& opt);

// Orders a pool by the model's scores (descending; ties keep pool order) and
// completes the answer with recommend::answer's rules. Exposed for tests.
arena::Result ranked_answer(const arena::Playlist& q, const std::vector<arena::SongId>& songs,
                            const std::vector<float>& song_scores, const std::vector<std::string>& tags,
                            const std::vector<float>& tag_scores, const recommend::Corpus& c,
                            const std::vector<std::int32_t>& song_dates);

// Positions (questions::held_out_question) of the learning questions made
// from the j-th held-out playlist: j itself (the official type by position),
// copies - 1 more of other types and masks (a few hundred playlists are few
// questions for the rankers; their masks are many), and with no_song_copy a
// tags-only or title-only one. Exposed for tests.
std::vector<std::int64_t> learning_positions(std::int64_t j, std::int64_t copies, bool no_song_copy);

}  // namespace melon::rank

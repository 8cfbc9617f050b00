#pragma once
// The reranker's view of a question: the union of every source's candidates
// (the "pool") and one feature row per pooled song and per pooled tag, with
// the features the strong Arena solutions reranked on (shared arena.md):
// each source's rank and relative score, how many sources agree, popularity,
// same-artist / same-album / same-genre counts with the shown songs, audio
// similarity to the shown songs (PCA scores), release date against the
// playlist's update date, the question's type and size, title matches.
// A feature a candidate does not have (a source that did not propose it, no
// audio, no date) is NaN: XGBoost learns where missing values go.
#include <cstdint>
#include <string>
#include <vector>

#include "melon/ae/audio.hpp"
#include "melon/arena/candidates.hpp"
#include "melon/arena/types.hpp"
#include "melon/recommend/references.hpp"

namespace melon::rank {

struct Source {
  std::string name;
  // Scores are logits (the autoencoder): relative score = score - best.
  // Otherwise non-negative sums: relative score = score / best.
  bool logits = false;
};

// Read-only data shared by all questions.
struct FeatureContext {
  std::vector<Source> sources;
  const recommend::Corpus* corpus = nullptr;  // popularity (item counts), tag ids
  const arena::SongMeta* meta = nullptr;      // may be null: no artist/album/genre/date features
  const ae::AudioTable* audio = nullptr;      // may be null or empty: no audio feature
  text::TokenizerOptions tokenizer;
  // Popularity counts are multiplied by this before log_count: the learning
  // corpus's playlist count over the answering corpus's, when they differ.
  double count_scale = 1.0;
  std::size_t songs_per_source = 200;  // how deep into each source's list the pool reaches
  std::size_t tags_per_source = 20;
};

// One question's pool: candidates in pool order (best rank over the sources,
// then first source, then id: deterministic) and their feature rows.
struct Pool {
  std::int64_t id = 0;
  std::vector<arena::SongId> songs;
  std::vector<float> song_x;  // songs.size() x song_features(ctx).size()
  std::vector<std::string> tags;
  std::vector<float> tag_x;  // tags.size() x tag_features(ctx).size()
};

std::vector<std::string> song_features(const FeatureContext& ctx);
std::vector<std::string> tag_features(const FeatureContext& ctx);

// lists[s]: source s's candidates for q (best first); their ids must be q's.
// Items q shows are never pooled, whatever a source proposed.
Pool pool_question(const arena::Playlist& q, const std::vector<const arena::Candidates*>& lists,
                   const FeatureContext& ctx);

}  // namespace melon::rank

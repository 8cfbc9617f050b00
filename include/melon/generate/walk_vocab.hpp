#pragma once
// Tags and titles of the walk family. No latent taste: tags come from the
// genres and release decades of the playlist's own songs (each major genre
// owns a pool of tag words and a lean over the shared mood words), plus an
// open tail mostly used once. A title carries one of the playlist's tags with
// probability --title-tag-rate and is otherwise built from words that are not
// among its tags, so the share of titles holding a tag follows the knob.
#include <cstdint>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/generate/rng.hpp"
#include "melon/generate/vocab.hpp"
#include "melon/generate/world.hpp"

namespace melon::generate {

class WalkVocab {
 public:
  WalkVocab(std::uint64_t seed, const SongWorld& world, std::int64_t n_train, const VocabKnobs& knobs);

  // n distinct tags (fewer only if the draws keep repeating) for a playlist of these songs.
  std::vector<std::string> tags(Rng& rng, const std::vector<arena::SongId>& songs, int n) const;
  std::string title(Rng& rng, const std::vector<arena::SongId>& songs, const std::vector<std::string>& tags) const;

 private:
  int genre_of(Rng& rng, const std::vector<arena::SongId>& songs) const;
  std::string tag(Rng& rng, const std::vector<arena::SongId>& songs) const;
  const std::string& pool_word(Rng& rng, int genre) const;

  const SongWorld& w_;
  std::uint64_t seed_;
  VocabKnobs knobs_;
  std::uint64_t tail_size_;
  std::size_t short_title_words_;               // one-word titles come from a genre's first this many pool words
  std::vector<std::vector<std::string>> pool_;  // [major genre] -> words, most used first
  AliasTable pool_zipf_;                        // index into a pool
  std::vector<AliasTable> mood_;                // [major genre] -> index into text::mood_words()
  AliasTable genre_pick_;                       // a genre for a playlist without songs
};

}  // namespace melon::generate

#pragma once
// Tags and titles. Each taste owns a pool of tag words (its genre words first,
// then taste-specific words) and its own preference over the shared mood
// words; a small share of tags comes from an open-ended tail that is mostly
// used once. Titles reuse the playlist's tags and its taste's words, so a
// title alone says something about the songs. Vocabulary sizes scale with the
// playlist count, so distinct-tag counts scale as in the real data.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "melon/generate/rng.hpp"
#include "melon/generate/world.hpp"

namespace melon::generate {

struct VocabKnobs {
  double tag_noise = 0.035;    // share of tags from the open tail (no taste signal, mostly used once)
  double short_titles = 0.05;  // share of one-word titles: the source of duplicated titles
  // Chance that a multi-word title's taste word is one of the playlist's own
  // tags (else a word of its taste that is not one of them). Until issue 16
  // it was 1: a tag in every multi-word title, 95% of the titles, which made
  // "tags found in the title" an unrealistically strong rule. The real rate
  // was never measured, so the default is a moderate 0.5 (53% of the titles
  // hold a tag), and melon is benchmarked at 0, 0.5 and 0.95.
  double title_tag_rate = 0.5;
};

// How many tags a playlist gets (min 1, median 3, mean ~4.1, max 11); both families.
int draw_tag_count(Rng& rng);

class Vocab {
 public:
  Vocab(std::uint64_t seed, const SongWorld& world, std::int64_t n_train, const VocabKnobs& knobs);

  // How many tags a playlist gets (min 1, median 3, mean ~4.1, max 11).
  int tag_count(Rng& rng) const;
  // One tag for a playlist whose taste is `taste`.
  std::string tag(Rng& rng, int taste) const;
  std::string title(Rng& rng, int taste, const std::vector<std::string>& tags) const;
  // Every word tag() can return for `taste` but the open tail's (each of those
  // a chance of about tag_noise / tail size), with its chance.
  std::vector<std::pair<std::string, double>> tag_chances(int taste) const;

  std::size_t pool_size() const { return pool_words_; }
  // The chance of `word` under pool_word(taste) (0 when the pool lacks it).
  double pool_chance(int taste, const std::string& word) const;
  double title_tag_rate() const { return knobs_.title_tag_rate; }

 private:
  const std::string& pool_word(Rng& rng, int taste) const;
  std::string tail_word(std::uint64_t index) const;

  std::uint64_t seed_;
  int tastes_;
  std::size_t pool_words_;         // words per taste pool
  std::size_t short_title_words_;  // one-word titles come from the first this many pool words
  std::uint64_t tail_size_;
  VocabKnobs knobs_;
  std::vector<std::vector<std::string>> pool_;  // [taste] -> words, most used first
  AliasTable pool_zipf_;                        // index into a pool
  std::vector<AliasTable> mood_;                // [taste] -> index into text::mood_words()
  std::vector<double> pool_zipf_w_;             // pool_zipf_'s weights, summing to 1
  std::vector<std::vector<double>> mood_w_;     // mood_'s weights, summing to 1
};

}  // namespace melon::generate

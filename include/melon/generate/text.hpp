#pragma once
// Words for the synthetic catalogue: Korean and English, a little emoji, as in
// the real titles, tags and names. Curated lists give the frequent words;
// pseudo-words built from common Hangul syllables give an open-ended tail, so
// vocabulary sizes can be scaled freely.
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "melon/generate/rng.hpp"

namespace melon::generate::text {

// Mood / situation tags, roughly in the order of the real top tags.
const std::vector<std::string>& mood_words();
// Short English words used in titles and tags ("chill", "vibes", ...).
const std::vector<std::string>& english_words();
// Title pieces: nouns ("노래", "playlist"), modifiers ("듣기 좋은"), emoji.
const std::vector<std::string>& title_nouns();
const std::vector<std::string>& title_modifiers();
const std::vector<std::string>& emoji();

// Joins parts with a separator. The parts of a braced list are evaluated in
// order, so random draws inside them happen in a defined order (unlike the
// operands of `+`), which keeps output identical across compilers.
std::string join(std::initializer_list<std::string> parts, std::string_view sep = " ");

// Pseudo-Korean word of n syllables (1..6).
std::string korean_word(Rng& rng, int syllables);
// Pronounceable pseudo-English word, lower case.
std::string english_word(Rng& rng);

std::string artist_name(Rng& rng);
std::string song_name(Rng& rng);
std::string album_name(Rng& rng);

}  // namespace melon::generate::text

#pragma once
// Playlist titles as bags of tokens, for Korean and English alike.
//
// Real titles mix Hangul, Latin letters, digits and emoji with little
// punctuation ("여행같은 음악", "비오는날 듣기 좋은 R&B"). Korean glues particles and
// endings onto words, so whole words are sparse; character n-grams inside a
// word ("비오", "오는", "는날") recover the shared stems. So a title yields:
//   w:<word>     each word (lower-cased ASCII, split on spaces and ASCII punctuation)
//   g:<ngram>    each character n-gram of n in [ngram_min, ngram_max] inside a word
// as a sorted, duplicate-free list. Non-ASCII code points (Hangul, emoji) are
// word characters; invalid UTF-8 bytes are dropped rather than rejected, since
// a title is a hint, never a reason to fail.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace melon::text {

struct TokenizerOptions {
  int ngram_min = 2;
  int ngram_max = 3;
};

std::vector<std::string> tokenize(std::string_view title, const TokenizerOptions& opt = {});

// The UTF-8 code points of s (invalid sequences skipped).
std::vector<char32_t> decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);

}  // namespace melon::text

#pragma once
// A playlist in vocabulary terms: what add_example (corrupt.hpp) turns into
// model inputs and targets.
#include <cstdint>
#include <vector>

#include "melon/ae/vocab.hpp"
#include "melon/arena/types.hpp"
#include "melon/text/tokenize.hpp"

namespace melon::ae {

struct Encoded {
  std::vector<arena::SongId> song_ids;  // all songs, file order
  std::vector<std::int32_t> songs;      // vocabulary index per song (-1: not in the vocabulary)
  std::vector<std::int32_t> tags;       // vocabulary index per tag (-1: not in the vocabulary)
  std::vector<std::int32_t> tokens;     // title tokens in the vocabulary
};
Encoded encode(const arena::Playlist& p, const Vocab& v, const text::TokenizerOptions& tok);

}  // namespace melon::ae

#pragma once
// The autoencoder's vocabularies: which songs, tags and title tokens get a row
// of their own, and the popularity lists answers are filled from. A pure
// function of the playlists counted, so every rank builds the same one.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/text/tokenize.hpp"

namespace melon::ae {

struct VocabOptions {
  int min_song_count = 2;  // songs in fewer training playlists get no row of their own
  int min_tag_count = 2;
  int min_token_count = 2;  // title tokens: playlists whose title has the token
  text::TokenizerOptions tokenizer;
};

struct Vocab {
  std::vector<arena::SongId> songs;       // vocabulary index -> song id; by count desc, id asc
  std::vector<std::int64_t> song_counts;  // playlists holding each vocabulary song
  std::vector<std::string> tags;          // by count desc, name asc
  std::vector<std::string> tokens;        // by count desc, text asc
  // Popularity over everything counted (also below the cut-offs), for filling.
  std::vector<arena::SongId> popular_songs;
  std::vector<std::string> popular_tags;

  std::unordered_map<arena::SongId, std::int32_t> song_index;
  std::unordered_map<std::string, std::int32_t> tag_index, token_index;
  void build_index();
  std::int32_t song(arena::SongId id) const;  // -1 when not in the vocabulary
  std::int32_t tag(const std::string& t) const;
  std::int32_t token(const std::string& t) const;
  std::uint64_t hash() const;  // of the vocabularies (not of the popularity lists)
};

// Counts over `playlists` (training playlists plus the questions' visible parts).
Vocab build_vocab(const std::vector<const arena::Playlist*>& playlists, const VocabOptions& opt);

}  // namespace melon::ae

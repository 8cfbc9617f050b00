#pragma once
// From validated playlists to model inputs: vocabularies, the audio table,
// encoded playlists, the corruption that mimics the question types, and
// batches. Everything here is a pure function of its inputs (and of explicit
// seeds), so every rank builds the same vocabulary and the same examples.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/model/autoencoder.hpp"
#include "melon/text/tokenize.hpp"

namespace melon::train {

struct VocabOptions {
  int min_song_count = 2;   // songs in fewer training playlists get no row of their own
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

// Standardised audio features (PCA scores) by song id.
struct AudioTable {
  int dim = 0;
  std::vector<double> mean, scale;  // per dimension: feature = (score - mean) / scale
  std::vector<float> feat;          // n_ids x dim
  std::vector<char> has;            // n_ids
  bool empty() const { return dim == 0; }
  bool covers(arena::SongId s) const { return s >= 0 && static_cast<std::size_t>(s) < has.size() && has[s]; }
  const float* row(arena::SongId s) const { return feat.data() + static_cast<std::size_t>(s) * dim; }
};

// Reads the PCA stage's HDF5 (root datasets song_ids (N) and scores (N x K)).
// mean/scale: reuse a stored normalisation (prediction) or compute it (empty).
AudioTable read_audio(const std::string& path, std::vector<double> mean = {}, std::vector<double> scale = {});
AudioTable make_audio(const std::vector<arena::SongId>& ids, const std::vector<float>& scores, int dim,
                      std::vector<double> mean = {}, std::vector<double> scale = {}, const std::string& origin = "");

// How songs' audio reaches the song outputs:
//   Fitted: the vocabulary songs' scores use their free output rows alone;
//           songs outside the vocabulary are scored through a map from audio
//           to output rows fitted by least squares on the vocabulary songs
//           (recommend::prepare_cold). On generated data the jointly trained
//           map let the audio's genre signal crowd out what the free rows
//           learn (held-out score after 5 epochs, audio input on: 0.1396
//           with the joint map, 0.1497 without it).
//   Joint:  the map is trained with the outputs: every vocabulary song's
//           embedding is its free row plus the map of its audio.
enum class AudioMap { Fitted, Joint };
AudioMap parse_audio_map(const std::string& s);
const char* to_string(AudioMap m);

// n_songs x (dim + 1): each vocabulary song's features ⊕ 1 (zeros ⊕ 1 without
// audio); all zeros for AudioMap::Fitted, so the jointly trained map stays out
// of the vocabulary songs' scores (and its gradient is exactly zero).
model::Mat<float> song_audio_matrix(const Vocab& v, const AudioTable& a, AudioMap map);

// A playlist in vocabulary terms.
struct Encoded {
  std::vector<arena::SongId> song_ids;  // all songs, file order
  std::vector<std::int32_t> songs;      // vocabulary index per song (-1: not in the vocabulary)
  std::vector<std::int32_t> tags;       // vocabulary index per tag (-1: not in the vocabulary)
  std::vector<std::int32_t> tokens;     // title tokens in the vocabulary
};
Encoded encode(const arena::Playlist& p, const Vocab& v, const text::TokenizerOptions& tok);

// Which question type a training example imitates: shares of the official
// split (30% songs only, 50% songs + tags, 15% tags only, the rest title
// only). Shown items are a random len/2 of the group, like split_data.py.
struct Corruption {
  double songs_only = 0.30, songs_tags = 0.50, tags_only = 0.15;
  double keep_title = 0.5;  // chance to show the title when songs are shown too
  // Targets: the whole playlist (Mult-DAE), or only what the corruption hid
  // (the question's answer: shown items are never recommended anyway).
  bool target_hidden = false;
};

// Appends one example: inputs from the shown part (all of it when corrupt is
// false: a question as given), targets = the whole playlist's vocabulary items.
// The corruption draws only from rng_seed, derived per (seed, epoch, example),
// so it does not depend on which rank handles the example.
void add_example(model::Batch& b, const Encoded& e, const model::Dims& d, const AudioTable& audio, bool corrupt,
                 const Corruption& c, std::uint64_t rng_seed);

// A question built from a held-out playlist the way the official split does:
// type by position (i % 20: 6 songs only, 10 songs + tags, 3 tags only, 1 title only).
struct HeldOut {
  arena::Playlist question;
  arena::Result answer;
};
HeldOut make_held_out(const arena::Playlist& p, std::int64_t position, std::uint64_t seed);

}  // namespace melon::train

#pragma once
// Songs' audio as the autoencoder sees it: standardised PCA scores by song id,
// and how they reach the song outputs.
#include <cstdint>
#include <string>
#include <vector>

#include "melon/ae/autoencoder.hpp"
#include "melon/ae/vocab.hpp"
#include "melon/arena/types.hpp"

namespace melon::ae {

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
//           (prepare_cold in model.hpp). On generated data the jointly trained
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
Mat<float> song_audio_matrix(const Vocab& v, const AudioTable& a, AudioMap map);

}  // namespace melon::ae

#pragma once
// A trained autoencoder ready to score questions: weights, vocabulary, audio,
// and the cold songs (outside the vocabulary, with audio) scored through the
// audio map (h·P·audio + a bias calibrated on the rarest vocabulary songs).
#include <cstdint>
#include <string>
#include <vector>

#include "melon/ae/audio.hpp"
#include "melon/ae/autoencoder.hpp"
#include "melon/ae/checkpoint.hpp"  // Weights
#include "melon/ae/song_tags.hpp"
#include "melon/ae/vocab.hpp"
#include "melon/arena/types.hpp"
#include "melon/text/tokenize.hpp"

namespace melon::ae {

struct Model {
  Layout layout;
  std::vector<float> params;
  Vocab vocab;
  Neighbours neighbours;  // the item-to-item term's (empty without one)
  const Neighbours* nbr() const { return neighbours.empty() ? nullptr : &neighbours; }
  // Tags read through songs, and how much they count against the tag head's
  // (song_tags.hpp: 1 = the head alone), chosen on the held-out playlists.
  SongTags song_tags;
  double tag_mix = 1;
  text::TokenizerOptions tokenizer;
  AudioTable audio;       // empty: no audio
  Mat<float> song_audio;  // vocabulary songs: features ⊕ 1 (empty without audio)
  AudioMap audio_map = AudioMap::Joint;
  Mat<float> cold_map;      // Fitted: (audio_dim + 1) x last hidden width, audio ⊕ 1 -> output row
  bool audio_input = true;  // the shown songs' mean audio feeds the hidden layer
  // The table add_example reads the input audio from: none when the input is
  // off (the input stays zero, so its weights get an exactly zero gradient).
  const AudioTable& input_audio() const {
    static const AudioTable none;
    return audio_input ? audio : none;
  }
  // Out-of-vocabulary songs with audio, scored through the audio map.
  std::vector<arena::SongId> cold_ids;
  Mat<float> cold_audio;  // cold_ids.size() x (audio_dim + 1)
  float cold_bias = 0;
  bool cold_enabled = true;            // chosen on the held-out questions at training time
  double cold_shift = 0;               // added to the calibrated cold bias
  std::vector<std::int64_t> held_out;  // training playlist ids the model never saw (checkpoint.hpp)
};

// Fills cold_ids/cold_audio (all songs with audio outside the vocabulary),
// fits cold_map for AudioMap::Fitted, and sets cold_bias to the mean output
// bias of the vocabulary's rarest songs (those with the smallest count) plus
// m.cold_shift. Call again after the weights or cold_shift change.
void prepare_cold(Model& m);

// Everything `melon predict` needs, from dir's best-epoch weights (best.h5)
// or its newest valid checkpoint (read_for_predict in checkpoint.hpp).
// pca: the PCA HDF5 to read audio from; empty = the path the training used.
Model load_model(const std::string& checkpoint_dir, const std::string& pca, Weights weights = Weights::Best);

}  // namespace melon::ae

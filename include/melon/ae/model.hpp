#pragma once
// Answers questions with a trained autoencoder: 100 songs and 10 tags each.
//   - every question type: songs, tags, title tokens and the shown songs' mean
//     audio are inputs, whichever of them the question has;
//   - songs outside the vocabulary that have audio compete through the audio
//     map (h·P·audio + a bias calibrated on the rarest vocabulary songs);
//   - never the question's own songs or tags, never a song released after the
//     playlist's updt_date (when song_meta gives both dates; unknown = 0 is
//     ignored);
//   - a shortfall is filled from popularity under the same rules.
// Questions are split across the ranks of comm and gathered on rank 0.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/model/autoencoder.hpp"
#include "melon/recommend/candidates.hpp"
#include "melon/recommend/rules.hpp"  // song_dates, released_by
#include "melon/train/checkpoint.hpp"  // Weights
#include "melon/train/data.hpp"

namespace melon::recommend {

struct AeModel {
  model::Layout layout;
  std::vector<float> params;
  train::Vocab vocab;
  text::TokenizerOptions tokenizer;
  train::AudioTable audio;        // empty: no audio
  model::Mat<float> song_audio;   // vocabulary songs: features ⊕ 1 (empty without audio)
  train::AudioMap audio_map = train::AudioMap::Joint;
  model::Mat<float> cold_map;     // Fitted: (audio_dim + 1) x last hidden width, audio ⊕ 1 -> output row
  bool audio_input = true;        // the shown songs' mean audio feeds the hidden layer
  // The table add_example reads the input audio from: none when the input is
  // off (the input stays zero, so its weights get an exactly zero gradient).
  const train::AudioTable& input_audio() const {
    static const train::AudioTable none;
    return audio_input ? audio : none;
  }
  // Out-of-vocabulary songs with audio, scored through the audio map.
  std::vector<arena::SongId> cold_ids;
  model::Mat<float> cold_audio;   // cold_ids.size() x (audio_dim + 1)
  float cold_bias = 0;
  bool cold_enabled = true;  // chosen on the held-out questions at training time
  double cold_shift = 0;     // added to the calibrated cold bias
  std::vector<std::int64_t> held_out;  // training playlist ids the model never saw (checkpoint.hpp)
};

// Fills cold_ids/cold_audio (all songs with audio outside the vocabulary),
// fits cold_map for AudioMap::Fitted, and sets cold_bias to the mean output
// bias of the vocabulary's rarest songs
// (those with the smallest count) plus m.cold_shift. Call again after training.
void prepare_cold(AeModel& m);

// Everything `melon predict` needs, from dir's best-epoch weights (best.h5)
// or its newest valid checkpoint (train/checkpoint.hpp: read_for_predict).
// pca: the PCA HDF5 to read audio from; empty = the path the training used.
AeModel load_model(const std::string& checkpoint_dir, const std::string& pca,
                   train::Weights weights = train::Weights::Best);

struct PredictOptions {
  std::vector<std::int32_t> song_dates;  // date_key(issue_date) by song id; empty: no date filter
  bool cold_songs = true;                // let out-of-vocabulary songs with audio compete
  std::int64_t batch = 256;
};


// The model's n_songs best songs and n_tags best tags with their scores (the
// output logits), under the same rules, for this rank's block of the questions
// (mpi::block_range over comm), in order. No popularity fill.
std::vector<Candidates> ae_candidates(const AeModel& m, const std::vector<arena::Playlist>& questions,
                                      const PredictOptions& opt, std::size_t n_songs, std::size_t n_tags,
                                      model::Pool& pool, MPI_Comm comm);

// Answers in question order: on rank 0 of comm when gather (others get none),
// else this rank's block of the questions.
std::vector<arena::Result> predict(const AeModel& m, const std::vector<arena::Playlist>& questions,
                                   const PredictOptions& opt, model::Pool& pool, MPI_Comm comm, bool gather);

}  // namespace melon::recommend

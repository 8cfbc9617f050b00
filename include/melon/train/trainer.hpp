#pragma once
// Data-parallel training of the autoencoder over the ranks of a communicator.
//
// Every step takes the next global batch of `batch` examples from the epoch's
// permutation; rank r takes its contiguous block of it, builds the corrupted
// examples (corruption seeded per (seed, epoch, example), not per rank),
// computes the gradient of its share of the batch-mean loss, and the ranks sum
// gradients with MPI_Allreduce: the dense layers as one flat buffer in fused
// buckets, the sparse input layer as the union of touched rows (or densely,
// --input-allreduce). Then every rank applies the same Adam step, so weights
// stay identical without a broadcast (checked at every checkpoint).
//
// The run, phase by phase (trainer.cpp): the held-out split (held_out.hpp),
// vocabulary and model, resume or a fresh start, the steps (step.cpp, with
// the learning rate of schedule.hpp), the end of each epoch (losses, the
// held-out score and cold-song choice, best.h5), checkpoints and stop signals
// (signals.hpp).
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "melon/ae/audio.hpp"
#include "melon/arena/types.hpp"
#include "melon/train/config.hpp"

namespace melon::train {

struct TrainInputs {
  std::vector<arena::Playlist> train;      // training playlists
  std::vector<arena::Playlist> questions;  // questions: their visible parts train too
  std::vector<std::int32_t> song_dates;    // by song id (song_meta), for validation; may be empty
  ae::AudioTable audio;                    // empty: no audio
  std::string pca_path;
};

struct EpochReport {
  std::int64_t epoch = 0, steps = 0;
  double song_loss = 0, tag_loss = 0;
  double val_song = -1, val_tag = -1, val_score = -1;  // -1: no validation
  bool cold_songs = false;  // the cold-song setting that scored best on the held-out questions
  double cold_shift = 0;
  double nbr_scale = 1;  // the item-to-item term's multiplier that answered the held-out questions best
  double tag_mix = 1;    // the tag head's share against song-read tags (ae::choose_tag_mix)
};

struct TrainResult {
  std::vector<float> params;
  std::int64_t step = 0, epoch = 0, epoch_step = 0;
  bool stopped_by_signal = false;
  bool stopped_early = false;  // self-sizing: the held-out score stopped improving
  // The run reached its own end (the budget, or the early stop), not a
  // signal's or --max-steps'.
  bool completed = false;
  // The schedule in steps, and the step of the best held-out score (-1: none):
  // what a refit (refit.hpp) repeats in epochs.
  std::int64_t steps_per_epoch = 1, budget = 0, warmup = 0, best_step = -1;
  std::int64_t examples = 0, held_out = 0;  // playlists trained on, and held out
  std::vector<EpochReport> epochs;
  // Timing on this rank over the steps of this run (seconds).
  std::int64_t timed_steps = 0, samples = 0;
  double t_batch = 0, t_compute = 0, t_wait = 0, t_reduce = 0, t_update = 0, t_total = 0;
};

TrainResult run_training(const TrainConfig& cfg, const TrainInputs& in, MPI_Comm comm);

}  // namespace melon::train

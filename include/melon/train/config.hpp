#pragma once
// Everything `melon train` can be told, with the defaults of the CLI.
#include <cstdint>
#include <string>
#include <vector>

#include "melon/ae/audio.hpp"
#include "melon/ae/autoencoder.hpp"
#include "melon/ae/corrupt.hpp"
#include "melon/ae/vocab.hpp"
#include "melon/train/adam.hpp"

namespace melon::train {

// Self-sizing plans this many epochs before its floor and ceiling apply.
inline constexpr std::int64_t kAutoEpochs = 10;

enum class InputReduce { Rows, Dense };  // how the input layer's gradient crosses ranks
InputReduce parse_input_reduce(const std::string& s);
const char* to_string(InputReduce r);

// How ranks share a step. Data: each rank runs its part of the batch on a
// whole copy of the model and the gradients are summed (every parameter
// crosses between ranks each step). Vocab: each rank owns a slice of the input
// rows and of the song and tag outputs, runs the whole batch on its slice and
// exchanges O(batch x hidden) numbers a step (ae::Shard); Adam's work is
// split too. The same at one rank, bit for bit. Vocab is the default: at 2
// ranks it made 1.7x the steps/s of data-parallel on 5,000 songs and 3.1x on
// the full-size vocabulary (tools/bench/bench_parallel.sh, RESULTS.md).
enum class Parallel { Data, Vocab };
Parallel parse_parallel(const std::string& s);
const char* to_string(Parallel p);

// --resume: Off starts fresh (and refuses a folder holding checkpoints); On
// continues from the newest valid checkpoint and is an error when there is
// none; Auto continues when it can and starts fresh otherwise (Slurm reruns,
// `melon pipeline`).
enum class Resume { Off, On, Auto };
// "on" (the bare flag), "auto", "off", and parse_bool's spellings of on/off.
Resume parse_resume(const std::string& s);

// --refit (refit.hpp). Auto: when the held-out slice is at least
// kRefitMinShare of the training examples. The second run costs about as
// much again as the first; what it buys follows the slice's share: at 16%
// (the small grid cells) the autoencoder's answers gained 1.2-3.5%, at 3.4%
// (taste-mid-r0) 0.4% and the reranked ones 0.1%, for 91% more training
// time. At full size (1,000 of 115,071 playlists) it is under 1%.
enum class Refit { Off, On, Auto };
Refit parse_refit(const std::string& s);
inline constexpr double kRefitMinShare = 0.05;

// --val-size auto (train/held_out.hpp).
inline constexpr std::int64_t kValSizeAuto = -1;

struct TrainConfig {
  // model
  std::vector<int> hidden{512};
  // The item-to-item term (ae/neighbours.hpp): neighbours kept per song (0:
  // none) and the gain of its feature. Chosen on dataset a's 1,000 held-out
  // training playlists (tools/bench/RESULTS.md "The item-to-item term"):
  // best score 0.1654 without the term, 0.1728 with 50 neighbours at gain 1,
  // 0.1651 at gain 3, and 20 neighbours at gain 1 the best. The gain is the
  // strength training uses; answers use it times a multiplier chosen on the
  // held-out playlists (ae::choose_nbr_scale).
  int neighbours = 20;
  double neighbour_gain = 1;
  // --tag-answers auto: a song-tag table (ae/song_tags.hpp) is built and the
  // held-out playlists choose how much its tags count against the tag head's
  // (ae::choose_tag_mix); head: the tag head alone.
  bool tag_answers_auto = true;
  ae::VocabOptions vocab;
  ae::LossWeights loss;
  ae::Corruption corruption;
  ae::AudioMap audio_map = ae::AudioMap::Fitted;
  // The shown songs' mean audio as an input. Off by default: on generated data
  // its dense signal outran the sparse rows early and cost held-out score
  // (0.1497 against 0.1635 at epoch 5); with real spectrograms, measure again.
  bool audio_input = false;
  // optimisation
  std::int64_t batch = 256;  // global: summed over all ranks
  AdamOptions adam;
  // 0: self-sizing (schedule.hpp): the budget follows the data, and training
  // stops early once the held-out score stalls. N: exactly N epochs.
  int epochs = 0;
  std::int64_t min_steps = 1000;          // self-sizing: the budget's floor
  std::int64_t max_steps_budget = 20000;  // self-sizing: the budget's ceiling
  std::int64_t patience = 0;              // self-sizing: steps without improvement (0: budget / 8, >= 2 epochs)
  std::int64_t warmup = -1;               // steps of linear warm-up (-1: budget / 20 self-sizing, else 0)
  // The learning rate falls linearly from adam.lr to adam.lr * lr_final over
  // the budget (1: constant). With a decay, the budget shapes the trajectory
  // and so enters the fingerprint. Measured on generated data (30k
  // playlists): constant lr peaks at held-out 0.1638 (epoch 4) and then
  // overfits; falling to a tenth over 8 epochs reached 0.1666 by epoch 6.
  double lr_final = 0.1;
  std::int64_t max_steps = 0;  // 0: no limit (tests and benchmarks stop early)
  // After the run, train again on every training playlist for the best
  // epoch count (refit.hpp; `melon train` only, run_training never does).
  // The autoencoder's own answers on two 6,000-playlist datasets the grid
  // does not report (bench_quality.sh --seed-offset 100; 960 held out): 0.3842 and 0.2774
  // with the refit's weights, 0.3763 and 0.2677 with best.h5's.
  Refit refit = Refit::Auto;
  std::uint64_t seed = 1;
  // machinery (does not change the trajectory)
  std::string checkpoint_dir;  // empty: no checkpoints (tests)
  std::int64_t checkpoint_every = 1000;
  int keep = 3;
  Resume resume = Resume::Off;
  int threads = 0;  // per rank; 0: the CPUs this rank may run on / the ranks sharing them (mpi::threads_per_rank)
  // Held-out training playlists scored every epoch (0: none; kValSizeAuto:
  // train/held_out.hpp's held_out_size, which `melon train` resolves).
  std::int64_t val_size = 1000;
  InputReduce input_reduce = InputReduce::Rows;
  Parallel parallel = Parallel::Vocab;
  std::int64_t test_kill_at_step = 0;  // tests: rank 0 kills itself (SIGKILL) after this step
  bool quiet = false;                  // tests: no per-epoch log
};

// The settings that shape the training trajectory, one "key=value" a line.
// Hashed into every checkpoint; a resume with a different one is refused.
// (Max-steps, checkpointing, threads and logging may change on resume; epochs
// too when the learning rate is constant.)
std::string fingerprint(const TrainConfig& c, bool with_audio);

// Refuses settings outside their domain before any work, naming the option
// (--beta1 must be in [0, 1), got 1.5).
void check_config(const TrainConfig& c);

}  // namespace melon::train

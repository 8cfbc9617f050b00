#pragma once
// Training checkpoints: one HDF5 file per checkpoint, DIR/ckpt-<step>.h5,
// holding everything needed to continue bit for bit (weights, Adam moments,
// step, epoch and position, the epoch's data order, the shuffle RNG state)
// and everything `melon predict` needs (vocabularies, popularity, audio
// normalisation, tokenizer, layer widths).
//
// Written by one rank, atomically: DIR/ckpt-<step>.h5.tmp.<pid>, the root
// attribute "done" = 1 last, close, fsync, rename, fsync of DIR; then the
// whole-file DONE marker DIR/ckpt-<step>.h5.done (checkpoint_marker.hpp:
// size and XXH3 hash of every byte). A reader checks the marker before HDF5
// opens the file and skips (with a warning naming the file and the problem)
// any file that fails it, lacks the attribute or fails to load, and uses the
// newest one that works.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "melon/ae/audio.hpp"
#include "melon/ae/autoencoder.hpp"
#include "melon/ae/neighbours.hpp"
#include "melon/ae/song_tags.hpp"
#include "melon/ae/vocab.hpp"
#include "melon/text/tokenize.hpp"
#include "melon/util/atomic_file.hpp"

namespace melon::ae {

// Flat [begin, end) ranges of a layout, ascending; within each tensor a range
// is whole rows, or columns of one row (part of a bias).
using MomentSpans = std::vector<std::pair<std::int64_t, std::int64_t>>;
// How many moments a holder of `spans` keeps (empty spans: the whole layout).
std::int64_t moments_size(const Layout& layout, const MomentSpans& spans);

struct Checkpoint {
  Layout layout;
  std::vector<float> params, adam_m, adam_v;  // adam_* empty when read without moments
  // Empty: adam_* cover the whole layout. Otherwise they hold only these
  // ranges, one after another (a vocabulary-parallel rank's part: Adam's
  // memory split between ranks).
  MomentSpans moment_spans;
  std::int64_t step = 0, epoch = 0, epoch_step = 0;
  std::vector<std::int64_t> order;           // the current epoch's permutation of the examples
  std::array<std::uint64_t, 4> rng_state{};  // of the shuffle that made `order`
  int ranks = 1;
  std::string config;  // fingerprint text
  std::uint64_t config_hash = 0, vocab_hash = 0;
  Vocab vocab;
  Neighbours neighbours;  // the item-to-item term's (empty without one)
  text::TokenizerOptions tokenizer;
  std::vector<double> audio_mean, audio_scale;  // empty: trained without audio
  std::string pca_path;                         // where the audio came from (predict's default)
  AudioMap audio_map = AudioMap::Joint;         // audio.hpp (checkpoints without the attribute: joint)
  bool audio_input = true;                      // model.hpp (checkpoints without the attribute: on)
  // Cold songs (outside the vocabulary, scored by audio): whether they help
  // and the bias shift that served the held-out questions best.
  bool cold_songs = true;
  double cold_shift = 0;
  // The item-to-item term's multiplier chosen the same way (cold_choice.hpp);
  // 1 in checkpoints written before it was chosen.
  double nbr_scale = 1;
  // Tags read through songs (song_tags.hpp; empty in checkpoints written
  // before them or trained with --tag-answers head) and the mix with the tag
  // head chosen the same way (1: the head alone).
  SongTags song_tags;
  double tag_mix = 1;
  // Ids of the training playlists held out of training (never seen, not even
  // in part): the reranker learns on questions made from them, where the
  // model's scores are as honest as on real questions. Empty in checkpoints
  // written before this was recorded.
  std::vector<std::int64_t> held_out;
  // Held-out score of these weights (-1: not scored), and the best score of
  // the run so far (carried through resumes so best.h5 is replaced only by better).
  double val_score = -1, best_val_score = -1;
  std::int64_t best_step = -1;  // the step of best_val_score (self-sizing training's patience counts from it)
};

std::string checkpoint_path(const std::string& dir, std::int64_t step);
// Checkpoint files in dir (finished ones by name), newest step first.
std::vector<std::string> list_checkpoints(const std::string& dir);

// Writes atomically (file, then marker), then removes all but the newest
// `keep` finished checkpoints (file and marker; files without a marker are
// neither counted nor removed).
void write_checkpoint(const std::string& dir, const Checkpoint& c, int keep);

// The same file when the moments are split between ranks (moment_spans), in
// three steps with the same guarantees: rank 0 stages everything but the
// DONE attribute (its own slices included) into `staged` (a temp file
// removed if anything fails before the commit); each other rank in turn adds
// its slices to that temp file (the folder is shared, as for resuming); rank
// 0 commits (DONE attribute, fsync, marker, rename, pruning).
void stage_checkpoint(const std::string& dir, const Checkpoint& c, std::optional<TempPath>& staged);
void add_moment_slices(const std::string& tmp, const Checkpoint& c);
void commit_checkpoint(const std::string& dir, const Checkpoint& c, int keep, TempPath& staged);

// DIR/best.h5: the weights of the epoch that scored best on the held-out
// playlists (early stopping without stopping: training runs on, prediction
// uses these). Same format, without optimizer moments; never pruned, never
// resumed from.
std::string best_path(const std::string& dir);
void write_best(const std::string& dir, const Checkpoint& c);

// DIR/refit.h5: the model trained once more, after the run, on every training
// playlist (the held-out slice included) for as many epochs as best.h5 had,
// with best.h5's cold-song, item-to-item and tag-mix choices (train/refit.hpp). It
// answers questions; it cannot score the held-out slice (it trained on it).
// Same format, without optimizer moments. DIR/refit/ holds its run's
// checkpoints (to resume it).
std::string refit_path(const std::string& dir);
std::string refit_dir(const std::string& dir);
void write_refit(const std::string& dir, const Checkpoint& c);
// Removes refit.h5 (marker first) and refit/: a run that trains on after
// them would leave them describing another best epoch.
void remove_refit(const std::string& dir);

// The settings fingerprint a finished checkpoint was trained with (its
// "config" attribute), read without loading anything else; empty when the
// file is not a finished melon checkpoint (read_checkpoint says why).
std::string read_checkpoint_config(const std::string& path);

// Throws melon::Error naming the file and the problem (missing or mismatching
// DONE marker, truncated or damaged file, wrong shapes ...).
// With slices, only those ranges of the moments are read (moment_spans).
Checkpoint read_checkpoint(const std::string& path, bool with_moments, const MomentSpans* slices = nullptr);

// The newest checkpoint of dir that reads back; each unreadable newer one is
// reported by log::warn (and appended to *problems) and skipped. nullopt when
// there is none.
std::optional<Checkpoint> read_latest(const std::string& dir, bool with_moments, std::string* path_out = nullptr,
                                      std::vector<std::string>* problems = nullptr);

// Checks the marker of every checkpoint of dir, best.h5 and refit.h5, and moves each
// one that fails aside (PATH.bad, checkpoint_marker.hpp's set_aside) so that
// it is neither resumed from, nor pruned, nor overwritten. Returns one line
// per file set aside ("PATH: problem -> set aside as NAME"), each also
// logged as a warning. For `train --resume` (rank 0).
std::vector<std::string> set_aside_damaged(const std::string& dir);

// Which weights prediction uses: the refit's (refit.h5, falling back to
// best.h5's choice when there is none or it does not read), the best
// held-out epoch's (best.h5, falling back to the newest checkpoint when there
// is none or it does not read) or the newest checkpoint's.
enum class Weights { Refit, Best, Last };
Weights parse_weights(const std::string& s);
std::optional<Checkpoint> read_for_predict(const std::string& dir, Weights w, std::string* path_out = nullptr,
                                           std::vector<std::string>* problems = nullptr);

// The held-out playlist ids of the checkpoint read_for_predict(dir,
// Weights::Best) loads (best.h5, else the newest that reads back), without
// its weights: its marker and hash are checked, only `held_out` is read.
// Empty when it was trained with --val-size 0; nullopt when no checkpoint reads.
std::optional<std::vector<std::int64_t>> read_held_out(const std::string& dir, std::string* path_out = nullptr);

// Hash of the parameter bytes (logged, and compared across ranks).
std::uint64_t params_hash(const std::vector<float>& p);

}  // namespace melon::ae

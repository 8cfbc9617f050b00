#include "melon/train/config.hpp"

#include <cmath>
#include <sstream>

#include "melon/error.hpp"

namespace melon::train {

InputReduce parse_input_reduce(const std::string& s) {
  if (s == "rows") return InputReduce::Rows;
  if (s == "dense") return InputReduce::Dense;
  MELON_THROW("--input-allreduce: expected rows|dense, got '" << s << "'");
}
const char* to_string(InputReduce r) { return r == InputReduce::Rows ? "rows" : "dense"; }

Parallel parse_parallel(const std::string& s) {
  if (s == "data") return Parallel::Data;
  if (s == "vocab") return Parallel::Vocab;
  MELON_THROW("--parallel: expected data|vocab, got '" << s << "'");
}
const char* to_string(Parallel p) { return p == Parallel::Data ? "data" : "vocab"; }

Resume parse_resume(const std::string& s) {
  if (s == "on" || s == "true" || s == "1" || s == "yes") return Resume::On;
  if (s == "off" || s == "false" || s == "0" || s == "no") return Resume::Off;
  if (s == "auto") return Resume::Auto;
  MELON_THROW("--resume: expected on|auto|off, got '" << s << "'");
}

Refit parse_refit(const std::string& s) {
  if (s == "auto") return Refit::Auto;
  if (s == "on" || s == "true" || s == "1" || s == "yes") return Refit::On;
  if (s == "off" || s == "false" || s == "0" || s == "no") return Refit::Off;
  MELON_THROW("--refit: expected auto|on|off, got '" << s << "'");
}

namespace {

// The schedule's settings, as far as they shape the trajectory. Written only
// where they differ from the fixed-epochs schedule of earlier releases, so
// their checkpoints keep their fingerprints and resume.
std::string schedule_lines(const TrainConfig& c) {
  std::ostringstream o;
  if (c.epochs > 0) {
    if (c.lr_final != 1.0) o << "epochs=" << c.epochs << "\n";
    if (c.warmup > 0) o << "warmup=" << c.warmup << "\n";
    return o.str();
  }
  o << "epochs=auto\nmin_steps=" << c.min_steps << "\nmax_steps_budget=" << c.max_steps_budget
    << "\npatience=" << c.patience << "\nwarmup=" << c.warmup << "\n";
  return o.str();
}

void check_range(bool ok, const char* option, const char* domain, double v) {
  MELON_CHECK(ok, "--" << option << " must be " << domain << ", got " << v);
}

}  // namespace

void check_config(const TrainConfig& c) {
  const auto& a = c.adam;
  check_range(std::isfinite(a.lr) && a.lr > 0, "lr", "positive and finite", a.lr);
  check_range(a.beta1 >= 0 && a.beta1 < 1, "beta1", "in [0, 1)", a.beta1);
  check_range(a.beta2 >= 0 && a.beta2 < 1, "beta2", "in [0, 1)", a.beta2);
  check_range(std::isfinite(a.eps) && a.eps > 0, "adam-eps", "positive and finite", a.eps);
  check_range(std::isfinite(a.weight_decay) && a.weight_decay >= 0, "weight-decay", "finite and >= 0", a.weight_decay);
  // lr_final 0 is a decay to zero over the planned epochs (a common schedule).
  check_range(c.lr_final >= 0 && c.lr_final <= 1, "lr-final", "in [0, 1]", c.lr_final);
  check_range(c.corruption.keep_title >= 0 && c.corruption.keep_title <= 1, "keep-title", "in [0, 1]",
              c.corruption.keep_title);
  check_range(std::isfinite(c.loss.tag) && c.loss.tag >= 0, "tag-weight", "finite and >= 0", c.loss.tag);
  check_range(c.batch >= 1, "batch", ">= 1", static_cast<double>(c.batch));
  check_range(c.epochs >= 0, "epochs", "auto or >= 1", c.epochs);
  check_range(c.min_steps >= 1, "min-steps", ">= 1", static_cast<double>(c.min_steps));
  check_range(c.max_steps_budget >= c.min_steps, "max-steps-budget", ">= --min-steps",
              static_cast<double>(c.max_steps_budget));
  check_range(c.patience >= 0, "patience", ">= 0", static_cast<double>(c.patience));
  check_range(c.warmup >= -1, "warmup", ">= 0 (or -1: auto)", static_cast<double>(c.warmup));
  MELON_CHECK(!c.hidden.empty(), "--hidden: at least one layer width");
  for (int w : c.hidden) check_range(w >= 1, "hidden", "widths >= 1", w);
  check_range(c.neighbours >= 0 && c.neighbours <= 10000, "neighbours", "0 to 10000", c.neighbours);
  check_range(c.neighbour_gain > 0 && c.neighbour_gain <= 1000, "neighbour-gain", "in (0, 1000]", c.neighbour_gain);
  check_range(c.checkpoint_every >= 0, "checkpoint-every", ">= 0", static_cast<double>(c.checkpoint_every));
  check_range(c.keep >= 1, "keep", ">= 1", c.keep);
  check_range(c.max_steps >= 0, "max-steps", ">= 0", static_cast<double>(c.max_steps));
  check_range(c.val_size >= 0 || c.val_size == kValSizeAuto, "val-size", "auto or >= 0",
              static_cast<double>(c.val_size));
  check_range(c.threads >= 0, "threads", ">= 0", c.threads);
  check_range(c.vocab.min_song_count >= 1, "min-song-count", ">= 1", c.vocab.min_song_count);
  check_range(c.vocab.min_tag_count >= 1, "min-tag-count", ">= 1", c.vocab.min_tag_count);
  check_range(c.vocab.min_token_count >= 1, "min-token-count", ">= 1", c.vocab.min_token_count);
}

std::string fingerprint(const TrainConfig& c, bool with_audio) {
  std::ostringstream o;
  o.precision(17);
  o << "format=melon-ae-1\n"
    << "hidden=" << ae::join_widths(c.hidden) << "\n"
    << "min_song_count=" << c.vocab.min_song_count << "\nmin_tag_count=" << c.vocab.min_tag_count
    << "\nmin_token_count=" << c.vocab.min_token_count << "\nngram_min=" << c.vocab.tokenizer.ngram_min
    << "\nngram_max=" << c.vocab.tokenizer.ngram_max << "\n"
    << "song_weight=" << c.loss.song << "\ntag_weight=" << c.loss.tag << "\n"
    << "mask_songs_only=" << c.corruption.songs_only << "\nmask_songs_tags=" << c.corruption.songs_tags
    << "\nmask_tags_only=" << c.corruption.tags_only << "\nkeep_title=" << c.corruption.keep_title << "\n"
    << "target=" << (c.corruption.target_hidden ? "hidden" : "whole") << "\n"
    << "batch=" << c.batch << "\nlr=" << c.adam.lr << "\nbeta1=" << c.adam.beta1 << "\nbeta2=" << c.adam.beta2
    << "\neps=" << c.adam.eps << "\nweight_decay=" << c.adam.weight_decay << "\nseed=" << c.seed
    << "\nval_size=" << c.val_size << "\n"
    << "audio=" << (with_audio ? 1 : 0) << "\n"
    << "lr_final=" << c.lr_final << "\n"
    << schedule_lines(c) << "audio_map=" << ae::to_string(c.audio_map) << "\naudio_input=" << (c.audio_input ? 1 : 0)
    << "\n";
  // Only with the term, so runs without it keep their fingerprints (and resume).
  if (c.neighbours > 0) o << "neighbours=" << c.neighbours << "\nneighbour_gain=" << c.neighbour_gain << "\n";
  if (c.neighbours > 0) o << "neighbour_features=own-playlist-out\n";
  if (c.tag_answers_auto) o << "tag_answers=auto\n";
  return o.str();
}

}  // namespace melon::train

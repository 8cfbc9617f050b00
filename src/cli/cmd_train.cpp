// melon train: data-parallel training of the denoising autoencoder.
#include <algorithm>
#include <chrono>
#include <limits>
#include <sstream>

#include "melon/ae/audio.hpp"
#include "melon/arena/io.hpp"
#include "melon/arena/rules.hpp"
#include "melon/cli/cli.hpp"
#include "melon/cli/output_paths.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/train/held_out.hpp"
#include "melon/train/refit.hpp"
#include "melon/train/signals.hpp"
#include "melon/train/trainer.hpp"
#include "melon/util/gemm.hpp"
#include "melon/util/log.hpp"

namespace melon::cli {
namespace {

// Lists may come as repeated options or, from an INI value, space/comma separated.
std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (auto v : values) {
    for (auto& c : v)
      if (c == ',') c = ' ';
    std::istringstream in(v);
    std::string s;
    while (in >> s) out.push_back(s);
  }
  return out;
}

int run_train(int argc, char** argv) {
  // From here on SIGTERM, SIGINT and SIGUSR1 end in a checkpoint and exit 0
  // (one arriving while the data is read stops training at its first step).
  train::StopSignals signals;
  train::TrainConfig c;
  po::options_description d("melon train: data-parallel denoising autoencoder (songs, tags, title tokens, audio)");
  // clang-format off
  d.add_options()
    ("train", po::value<std::string>()->required(), "training playlists (train.json)")
    ("questions", po::value<std::vector<std::string>>()->multitoken()->composing(),
     "question files whose visible parts train too (val.json test.json ...)")
    ("song-meta", po::value<std::string>(), "song_meta.json: validates song ids; dates filter validation answers")
    ("pca", po::value<std::string>(), "PCA HDF5 (song_ids, scores): audio input and cold-song map; omit for no audio")
    ("checkpoint-dir", po::value<std::string>()->required(), "where checkpoints (and everything predict needs) go")
    ("epochs", po::value<std::string>()->default_value("auto"),
     "auto: self-sizing (at least --min-steps, ten epochs when that is more, at most --max-steps-budget; stops "
     "earlier once the held-out score has not improved for --patience steps) | N: exactly N epochs")
    ("min-steps", po::value<std::int64_t>(&c.min_steps)->default_value(c.min_steps),
     "--epochs auto: the fewest steps planned (small datasets)")
    ("max-steps-budget", po::value<std::int64_t>(&c.max_steps_budget)->default_value(c.max_steps_budget),
     "--epochs auto: the most steps planned (very large datasets)")
    ("patience", po::value<std::int64_t>(&c.patience)->default_value(c.patience),
     "--epochs auto: stop after this many steps without a better held-out score (0: an eighth of the budget, "
     "at least two epochs)")
    ("warmup", po::value<std::int64_t>(&c.warmup)->default_value(c.warmup),
     "steps of linear learning-rate warm-up (-1: a twentieth of the budget with --epochs auto, none with N epochs)")
    ("resume", po::value<std::string>()->implicit_value("on"),
     "continue from the newest valid checkpoint: on (the bare flag; none valid is an error) | auto (continue if "
     "there is one, else start from scratch) | off")
    ("seed", po::value<std::uint64_t>(&c.seed)->default_value(c.seed), "seed (init, order, corruption, held-out)")
    ("hidden", po::value<std::string>()->default_value("512"), "hidden layer widths, e.g. 512 or 600,300")
    ("neighbours", po::value<int>(&c.neighbours)->default_value(c.neighbours),
     "item-to-item term: each output song also scored from the shown songs it co-occurs with, keeping this many "
     "neighbours a song (0: none)")
    ("neighbour-gain", po::value<double>(&c.neighbour_gain)->default_value(c.neighbour_gain),
     "the item-to-item term's starting strength (its per-song weights are learned from 1)")
    ("batch", po::value<std::int64_t>(&c.batch)->default_value(c.batch), "global batch (over all ranks)")
    ("lr", po::value<double>(&c.adam.lr)->default_value(c.adam.lr), "Adam learning rate")
    ("lr-final", po::value<double>(&c.lr_final)->default_value(c.lr_final),
     "the learning rate falls linearly to lr x this over the planned steps (1: constant)")
    ("beta1", po::value<double>(&c.adam.beta1)->default_value(c.adam.beta1), "Adam beta1")
    ("beta2", po::value<double>(&c.adam.beta2)->default_value(c.adam.beta2), "Adam beta2")
    ("weight-decay", po::value<double>(&c.adam.weight_decay)->default_value(c.adam.weight_decay),
     "decoupled weight decay (AdamW)")
    ("adam-eps", po::value<double>(&c.adam.eps)->default_value(c.adam.eps), "Adam epsilon")
    ("min-song-count", po::value<int>(&c.vocab.min_song_count)->default_value(c.vocab.min_song_count),
     "songs in fewer playlists have no row of their own (they are scored by audio)")
    ("min-tag-count", po::value<int>(&c.vocab.min_tag_count)->default_value(c.vocab.min_tag_count), "tag cut-off")
    ("min-token-count", po::value<int>(&c.vocab.min_token_count)->default_value(c.vocab.min_token_count),
     "title tokens in fewer titles are dropped")
    ("ngram-min", po::value<int>(&c.vocab.tokenizer.ngram_min)->default_value(c.vocab.tokenizer.ngram_min),
     "shortest character n-gram of title words")
    ("ngram-max", po::value<int>(&c.vocab.tokenizer.ngram_max)->default_value(c.vocab.tokenizer.ngram_max),
     "longest character n-gram of title words (< ngram-min: words only)")
    ("tag-weight", po::value<double>(&c.loss.tag)->default_value(c.loss.tag), "weight of the tag loss")
    ("tag-answers", po::value<std::string>()->default_value("auto"),
     "auto (tags also read through the shown and answered songs, mixed with the tag head's as the held-out "
     "playlists choose, the head alone among the choices) | head (the tag head alone)")
    ("target", po::value<std::string>()->default_value("whole"),
     "training targets: whole (the whole playlist, Mult-DAE) | hidden (only what the corruption hid)")
    ("audio-map", po::value<std::string>()->default_value("fitted"),
     "fitted (vocabulary songs scored by their own rows; songs outside it through a least-squares map from audio "
     "to output rows) | joint (the audio map trained into every song's output embedding)")
    ("audio-input", po::value<std::string>()->default_value("off"),
     "on|off: the shown songs' mean audio as an input (with --pca; off measured better on generated data)")
    ("keep-title", po::value<double>(&c.corruption.keep_title)->default_value(c.corruption.keep_title),
     "chance that a training example with songs shown also shows its title")
    ("checkpoint-every", po::value<std::int64_t>(&c.checkpoint_every)->default_value(c.checkpoint_every),
     "steps between checkpoints (0: only at the end)")
    ("keep", po::value<int>(&c.keep)->default_value(c.keep), "checkpoints to keep")
    ("threads", po::value<int>(&c.threads)->default_value(c.threads), "threads per rank (0: the CPUs this rank may run on / the ranks sharing them)")
    ("max-steps", po::value<std::int64_t>(&c.max_steps)->default_value(c.max_steps), "stop after this many steps (0: no limit)")
    ("refit", po::value<std::string>()->default_value("auto"),
     "once training has reached its end, train again from scratch on every training playlist (the held-out slice "
     "included) for the best epoch count, into refit.h5 (what predict and rerank answer with): on | off | auto "
     "(when the held-out slice is at least 5% of the data)")
    ("val-size", po::value<std::string>()->default_value("auto"),
     "training playlists held out, scored every epoch, and the reranker's learning questions (at most a third; 0: "
     "none): auto holds out 1000, or 2000 when 1000 are at least 5% of the data (the refit then trains on them too); "
     "on a resume, auto is the resumed run's own count")
    ("input-allreduce", po::value<std::string>()->default_value("rows"),
     "data-parallel: input-layer gradient exchange: rows (union of touched rows) | dense")
    ("parallel", po::value<std::string>()->default_value("vocab"),
     "how ranks share a step: data (each rank a part of the batch, whole gradients summed) | vocab (each rank a "
     "slice of the input rows and outputs, the whole batch; O(batch x hidden) exchanged a step)")
    ("test-kill-at-step", po::value<std::int64_t>(&c.test_kill_at_step)->default_value(0),
     "testing: rank 0 SIGKILLs itself after this step");
  // clang-format on
  po::variables_map vm;
  if (!parse("train", d, argc, argv, vm)) return 0;
  check_output_dir("--checkpoint-dir", vm["checkpoint-dir"].as<std::string>());
  c.hidden = ae::parse_widths(vm["hidden"].as<std::string>(), "--hidden");
  const auto epochs = parse_auto_or_count("epochs", vm["epochs"].as<std::string>(), 1, 0);
  MELON_CHECK(epochs <= std::numeric_limits<int>::max(), "option --epochs: too many, got " << epochs);
  c.epochs = static_cast<int>(epochs);
  c.input_reduce = train::parse_input_reduce(vm["input-allreduce"].as<std::string>());
  c.parallel = train::parse_parallel(vm["parallel"].as<std::string>());
  if (vm.count("resume")) c.resume = train::parse_resume(vm["resume"].as<std::string>());
  const auto target = vm["target"].as<std::string>();
  MELON_CHECK(target == "whole" || target == "hidden", "--target: expected whole|hidden, got '" << target << "'");
  c.corruption.target_hidden = target == "hidden";
  const auto tag_answers = vm["tag-answers"].as<std::string>();
  MELON_CHECK(tag_answers == "auto" || tag_answers == "head",
              "--tag-answers: expected auto|head, got '" << tag_answers << "'");
  c.tag_answers_auto = tag_answers == "auto";
  c.audio_map = ae::parse_audio_map(vm["audio-map"].as<std::string>());
  c.audio_input = parse_bool("audio-input", vm["audio-input"].as<std::string>());
  c.refit = train::parse_refit(vm["refit"].as<std::string>());
  c.val_size = parse_auto_or_count("val-size", vm["val-size"].as<std::string>(), 0, train::kValSizeAuto);
  c.checkpoint_dir = vm["checkpoint-dir"].as<std::string>();
  train::check_config(c);  // before minutes of reading data
  util::gemm_backend();    // a bad MELON_GEMM too, on every rank

  train::TrainInputs in;
  const auto t_read = std::chrono::steady_clock::now();
  const auto train_path = vm["train"].as<std::string>();
  in.train = arena::read_playlists(train_path);
  std::vector<std::string> qpaths;
  if (vm.count("questions")) qpaths = split_list(vm["questions"].as<std::vector<std::string>>());
  std::vector<std::pair<std::string, std::size_t>> qfiles;
  for (auto& q : qpaths) {
    auto qs = arena::read_playlists(q);
    qfiles.emplace_back(q, qs.size());
    for (auto& p : qs) in.questions.push_back(std::move(p));
  }
  if (vm.count("song-meta")) {
    const auto meta = arena::read_song_meta(vm["song-meta"].as<std::string>());
    arena::check_song_ids(in.train, meta.size(), train_path);
    std::size_t at = 0;
    for (auto& [path, n] : qfiles) {
      std::vector<arena::Playlist> part(in.questions.begin() + at, in.questions.begin() + at + n);
      arena::check_song_ids(part, meta.size(), path);
      at += n;
    }
    in.song_dates = arena::song_dates(meta);
  }
  if (vm.count("pca")) {
    in.pca_path = vm["pca"].as<std::string>();
    in.audio = ae::read_audio(in.pca_path);
  }
  // Reading takes a while at full size (about 15 s): say what was read, and how long it took.
  if (mpi::rank(mpi::world()) == 0) {
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(1);
    o << "read " << in.train.size() << " training playlists, " << in.questions.size() << " questions";
    if (!in.song_dates.empty()) o << ", " << in.song_dates.size() << " songs' release dates";
    if (!in.audio.empty()) o << ", audio of " << std::count(in.audio.has.begin(), in.audio.has.end(), 1) << " songs";
    o << " in " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t_read).count() << " s";
    log::info(o.str());
  }
  if (c.val_size == train::kValSizeAuto && c.resume != train::Resume::Off && !c.checkpoint_dir.empty()) {
    std::string resumed;
    if (mpi::rank(mpi::world()) == 0) resumed = std::to_string(train::resumed_val_size(c.checkpoint_dir));
    mpi::bcast(mpi::world(), resumed);
    if (const auto n = std::stoll(resumed); n >= 0) {
      c.val_size = n;
      if (mpi::rank(mpi::world()) == 0)
        log::info("--val-size auto: " + resumed + ", the run being resumed in " + c.checkpoint_dir + " held out");
    }
  }
  c.val_size = train::held_out_size(c.val_size, c.refit, in.train.size(), in.questions.size());
  auto res = train::run_training(c, in, mpi::world());
  const bool rank0 = mpi::rank(mpi::world()) == 0;
  if (!res.stopped_by_signal) {
    if (const auto why = train::no_refit_reason(c, res); why.empty()) {
      res.params = {};  // the refit builds its own model
      res = train::run_refit(c, in, res, mpi::world());
    } else if (rank0 && c.refit != train::Refit::Off && c.val_size != 0) {
      log::info("no refit: " + why + "; answers use best.h5");
    }
  }
  if (rank0 && res.stopped_by_signal)
    log::info("stopped by signal at step " + std::to_string(res.step) +
              " after a checkpoint: exit 0; continue with --resume");
  return 0;
}

}  // namespace
MELON_COMMAND("train", "train the denoising autoencoder (vocabulary- or data-parallel, checkpointed)", run_train);
}  // namespace melon::cli

#include "melon/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <exception>
#include <filesystem>
#include <numeric>
#include <optional>
#include <sstream>

#include "melon/ae/cold_choice.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/train/curve.hpp"
#include "melon/train/signals.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/dir_lock.hpp"
#include "melon/util/gemm.hpp"
#include "melon/util/hash.hpp"
#include "melon/util/log.hpp"
#include "melon/util/rng.hpp"
#include "melon/util/thread_pool.hpp"
#include "run.hpp"

namespace melon::train {

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch,
                                      std::array<std::uint64_t, 4>& state) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  Rng rng(mix_seed(seed, 0x0DE5, static_cast<std::uint64_t>(epoch)));
  rng.shuffle(v);
  state = rng.state();
  return v;
}

std::string fmt(double x, int prec = 3) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(prec);
  o << x;
  return o.str();
}

std::string fmt_time(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  auto t = static_cast<long long>(s + 0.5);
  std::ostringstream o;
  if (t >= 3600) o << t / 3600 << "h";
  if (t >= 60) o << (t / 60) % 60 << "m";
  o << t % 60 << "s";
  return o.str();
}

// What differs between two fingerprints, for the refusal message.
std::string config_diff(const std::string& a, const std::string& b) {
  std::istringstream ia(a), ib(b);
  std::string la, lb, out;
  while (true) {
    bool ga = static_cast<bool>(std::getline(ia, la)), gb = static_cast<bool>(std::getline(ib, lb));
    if (!ga && !gb) break;
    if (la != lb) out += (out.empty() ? "" : ", ") + (ga ? la : "?") + " (checkpoint) vs " + (gb ? lb : "?") + " (now)";
    if (!ga) la.clear();
    if (!gb) lb.clear();
  }
  return out;
}

// ---- setup: held-out slice, vocabulary, model, the state to train ----

void setup(Run& r) {
  const auto& cfg = r.cfg;
  const auto& in = r.in;
  // Held-out slice of the training playlists (at most a third), scored every
  // epoch and never trained on; the reranker (rank/rerank.hpp) learns on it.
  r.held = split_held_out(in.train, in.questions,
                          held_out_size(cfg.val_size, cfg.refit, in.train.size(), in.questions.size()), cfg.seed);

  auto& m = r.m;
  const auto t0 = Clock::now();
  m.vocab = ae::build_vocab(r.held.data, cfg.vocab);
  m.tokenizer = cfg.vocab.tokenizer;
  m.audio = in.audio;
  if (r.speak)
    log::info("vocabulary: " + std::to_string(m.vocab.songs.size()) + " songs, " + std::to_string(m.vocab.tags.size()) +
              " tags, " + std::to_string(m.vocab.tokens.size()) + " title tokens, built in " + fmt(since(t0), 1) +
              " s");
  r.enc.reserve(r.held.data.size());
  log::Progress progress("encoding playlists", static_cast<std::int64_t>(r.held.data.size()), "playlists", 10.0,
                         r.speak);
  for (auto* p : r.held.data) {
    r.enc.push_back(ae::encode(*p, m.vocab, m.tokenizer));
    progress.update(static_cast<std::int64_t>(r.enc.size()));
  }
  progress.finish();
  ae::Dims dims;
  dims.n_songs = static_cast<std::int64_t>(m.vocab.songs.size());
  dims.n_tags = static_cast<std::int64_t>(m.vocab.tags.size());
  dims.n_tokens = static_cast<std::int64_t>(m.vocab.tokens.size());
  dims.audio_dim = m.audio.dim;
  dims.hidden = cfg.hidden;
  dims.neighbours = cfg.neighbours;
  if (cfg.neighbours > 0) {
    const auto tn = Clock::now();
    util::ThreadPool pool(cfg.threads > 0 ? cfg.threads : 1);
    m.neighbours = ae::build_neighbours(r.enc, dims.n_songs, cfg.neighbours, cfg.neighbour_gain, pool);
    if (r.speak)
      log::info("item-to-item term: " + std::to_string(m.neighbours.idx.size()) + " neighbour pairs (at most " +
                std::to_string(cfg.neighbours) + " a song, mean weight " + fmt(m.neighbours.tau, 4) + ") in " +
                fmt(since(tn), 1) + " s");
  }
  if (cfg.tag_answers_auto) {
    const auto tt = Clock::now();
    m.song_tags = ae::build_song_tags(r.enc, dims.n_songs, dims.n_tags);
    if (r.speak)
      log::info("song-tag table: " + std::to_string(m.song_tags.idx.size()) + " (song, tag) pairs (at most " +
                std::to_string(ae::kSongTagsPerSong) + " a song) in " + fmt(since(tt), 1) + " s");
  }
  m.layout = ae::make_layout(dims);
  m.audio_map = cfg.audio_map;
  m.audio_input = cfg.audio_input;
  if (dims.audio_dim > 0) m.song_audio = ae::song_audio_matrix(m.vocab, m.audio, m.audio_map);

  auto& st = r.st;
  st.layout = m.layout;
  st.config = fingerprint(cfg, dims.audio_dim > 0);
  st.config_hash = fnv1a64(st.config);
  st.vocab_hash = m.vocab.hash();
  st.ranks = r.nranks;
  st.tokenizer = cfg.vocab.tokenizer;
  st.audio_mean = m.audio.mean;
  st.audio_scale = m.audio.scale;
  st.pca_path = in.pca_path;
  st.audio_map = cfg.audio_map;
  st.audio_input = cfg.audio_input;
  for (auto i : r.held.held) st.held_out.push_back(in.train[i].id);
  r.steps_per_epoch = std::max<std::int64_t>(1, (r.examples() + cfg.batch - 1) / cfg.batch);
  r.sched = make_schedule(cfg, r.steps_per_epoch);
  if (cfg.parallel == Parallel::Vocab)
    r.shard = ae::make_shard(dims, r.nranks > 1 ? r.comm : MPI_COMM_NULL, r.rank, r.nranks);
  // Adam's moments only for this rank's slice: each rank updates only its
  // slice, and the checkpoint gets every rank's slices written in turn.
  if (r.shard && r.nranks > 1) st.moment_spans = ae::shard_spans(st.layout, *r.shard);
}

// ---- resume: the newest checkpoint of the same run, or a fresh start ----

// What rank 0 found for --resume=on when nothing can be resumed from.
std::string nothing_to_resume(const std::string& dir, bool existed, const std::vector<std::string>& set_aside,
                              const std::vector<std::string>& unreadable) {
  std::string why;
  if (!existed) {
    why = "the folder does not exist (a typo?)";
  } else if (set_aside.empty() && unreadable.empty()) {
    why = "it holds no checkpoint (ckpt-*.h5)";
  } else {
    why = std::to_string(set_aside.size() + unreadable.size()) + " damaged or unreadable checkpoint file(s): ";
    for (std::size_t i = 0; i < set_aside.size(); ++i) why += (i ? "; " : "") + set_aside[i];
    for (std::size_t i = 0; i < unreadable.size(); ++i) why += (i || !set_aside.empty() ? "; " : "") + unreadable[i];
  }
  return "--resume: no valid checkpoint in " + dir + ": " + why +
         " (--resume=auto starts from scratch when there is none)";
}

// "NAME.tmp.PID": an AtomicFile's name while it is written (a checkpoint, its
// marker, best.h5, curve.json). One left in the folder is a killed run's: the
// folder's lock says no other run is writing there.
bool is_temp_name(const std::string& name) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos || at + 5 == name.size()) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(at + 5), name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// The part of Adam's moments this rank holds (nullptr: all of them).
const ae::MomentSpans* moment_slices(const Run& r) { return r.st.moment_spans.empty() ? nullptr : &r.st.moment_spans; }

// Rank 0 clears temp files left by a killed write, sets damaged checkpoints
// aside (never deleting them) and names the checkpoint to resume from ("" for
// none); every rank gets the name, or the error (another run's checkpoints
// without --resume; nothing valid with --resume=on).
std::string find_resume_point(const Run& r) {
  const auto& cfg = r.cfg;
  std::string found, error;
  if (r.rank == 0) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool existed = fs::is_directory(cfg.checkpoint_dir, ec);
    // --resume=on naming a folder that is not there is a typo, not a new run: create nothing.
    if (existed || cfg.resume != Resume::On) make_dirs(cfg.checkpoint_dir);
    for (auto& e : fs::directory_iterator(cfg.checkpoint_dir, ec))
      if (is_temp_name(e.path().filename().string())) fs::remove(e.path(), ec);
    if (!existed && cfg.resume == Resume::On) {
      error = nothing_to_resume(cfg.checkpoint_dir, false, {}, {});
    } else if (cfg.resume == Resume::Off) {
      auto existing = ae::list_checkpoints(cfg.checkpoint_dir);
      if (!existing.empty())
        error = cfg.checkpoint_dir + " already holds checkpoints (" + existing.front() +
                "): pass --resume to continue, or use an empty --checkpoint-dir";
    } else {
      // Before anything is written (and so before pruning), damaged files go
      // aside: they are never resumed from, counted, pruned or overwritten.
      const auto set_aside = ae::set_aside_damaged(cfg.checkpoint_dir);
      std::vector<std::string> unreadable;
      std::string path;
      for (auto& p : ae::list_checkpoints(cfg.checkpoint_dir)) {
        // A checkpoint of other settings is not damaged: refused, kept as it
        // is (its layout may not even fit this run's moment slices).
        const auto config = ae::read_checkpoint_config(p);
        if (!config.empty() && config != r.st.config) {
          error = "refusing to resume from " + p +
                  ": it was trained with other settings: " + config_diff(config, r.st.config);
          break;
        }
        try {
          ae::read_checkpoint(p, true, moment_slices(r));
          path = p;
          break;
        } catch (const Error& e) {
          // Bytes as written but not loadable (another format, no moments): aside too.
          unreadable.push_back(std::string(e.what()) + " -> set aside as " +
                               std::filesystem::path(ae::set_aside(p)).filename().string());
          log::warn("skipping unreadable checkpoint: " + unreadable.back());
        }
      }
      if (!error.empty()) {
        // refused above
      } else if (!path.empty()) {
        found = path;
      } else if (cfg.resume == Resume::On) {
        error = nothing_to_resume(cfg.checkpoint_dir, existed, set_aside, unreadable);
      } else if (r.speak) {
        log::info("--resume=auto: no valid checkpoint in " + cfg.checkpoint_dir + ", starting from scratch");
      }
    }
  }
  mpi::bcast(r.comm, found);
  mpi::bcast(r.comm, error);
  MELON_CHECK(error.empty(), error);
  return found;
}

// Takes weights, moments and position from the checkpoint at `found`, after
// checking that it continues this very run.
void resume_from(Run& r, const std::string& found) {
  auto& st = r.st;
  const int nranks = r.nranks;
  auto c = ae::read_checkpoint(found, true, moment_slices(r));
  MELON_CHECK(c.config_hash == st.config_hash, "refusing to resume from " << found
                                                                          << ": it was trained with other settings: "
                                                                          << config_diff(c.config, st.config));
  // Vocabulary-parallel ranks all run the whole batch: another rank count
  // re-slices the model and changes only the order of some sums.
  MELON_CHECK(c.ranks == nranks || r.shard, "refusing to resume from "
                                                << found << ": it was written by a " << c.ranks
                                                << "-rank job and this job has " << nranks
                                                << " ranks (the batch split must not change; --parallel vocab "
                                                   "resumes on any rank count)");
  if (r.speak && c.ranks != nranks)
    log::info("resuming a " + std::to_string(c.ranks) + "-rank checkpoint on " + std::to_string(nranks) +
              " ranks: the model is re-sliced");
  MELON_CHECK(c.vocab_hash == st.vocab_hash,
              "refusing to resume from " << found
                                         << ": its vocabulary differs from the one built now (different input files?)");
  MELON_CHECK(static_cast<std::int64_t>(c.order.size()) == r.examples(),
              "refusing to resume from " << found << ": it orders " << c.order.size() << " examples, the data has "
                                         << r.examples());
  MELON_CHECK(c.layout.total == st.layout.total, found << ": layout does not match the model");
  st.params = std::move(c.params);
  st.adam_m = std::move(c.adam_m);
  st.adam_v = std::move(c.adam_v);
  st.step = c.step;
  st.epoch = c.epoch;
  st.epoch_step = c.epoch_step;
  st.order = std::move(c.order);
  st.rng_state = c.rng_state;
  st.best_val_score = c.best_val_score;
  st.best_step = c.best_step;
  r.last_ckpt = st.step;
  r.resumed_from = st.step;
  if (r.speak)
    log::info("resuming from " + found + ": step " + std::to_string(st.step) + ", epoch " +
              std::to_string(st.epoch + 1) + " step " + std::to_string(st.epoch_step));
}

void start_fresh(Run& r) {
  auto& st = r.st;
  const auto t0 = Clock::now();
  st.params = ae::init_params(st.layout, r.cfg.seed);
  st.adam_m.assign(static_cast<std::size_t>(ae::moments_size(st.layout, st.moment_spans)), 0.0f);
  st.adam_v.assign(st.adam_m.size(), 0.0f);
  st.order = epoch_order(r.examples(), r.cfg.seed, 0, st.rng_state);
  if (r.speak)
    log::info("initial weights: " + std::to_string(st.params.size()) + " parameters in " + fmt(since(t0), 1) + " s");
}

void resume_or_start(Run& r) {
  const auto& cfg = r.cfg;
  if (!cfg.checkpoint_dir.empty()) {
    const auto found = find_resume_point(r);
    if (!found.empty()) return resume_from(r, found);
  }
  start_fresh(r);
}

void log_setup(const Run& r, int threads) {
  const auto& d = r.dims();
  const auto n_val = r.held.held.size();
  log::info("training: " + std::to_string(r.examples()) + " playlists (" + std::to_string(r.in.train.size() - n_val) +
            " training + " + std::to_string(r.in.questions.size()) + " questions), " + std::to_string(n_val) +
            " held out; vocabulary " + std::to_string(d.n_songs) + " songs, " + std::to_string(d.n_tags) + " tags, " +
            std::to_string(d.n_tokens) + " title tokens; audio dim " + std::to_string(d.audio_dim) + "; hidden " +
            ae::join_widths(d.hidden) + "; " + std::to_string(r.m.layout.total) + " parameters; batch " +
            std::to_string(r.cfg.batch) + " over " + std::to_string(r.nranks) + " ranks x " + std::to_string(threads) +
            " threads; " + std::to_string(r.steps_per_epoch) + " steps/epoch; " +
            (r.shard ? std::string("vocabulary-parallel: this rank owns ") + std::to_string(r.shard->s1 - r.shard->s0) +
                           " songs, " + std::to_string(r.shard->t1 - r.shard->t0) + " tags, " +
                           std::to_string(r.shard->in1 - r.shard->in0) + " input rows"
                     : std::string("data-parallel, input allreduce: ") + to_string(r.cfg.input_reduce)));
  log::info("training: dense products on " + util::gemm_backend().describe);
  const auto& s = r.sched;
  const std::int64_t epochs = s.budget / r.steps_per_epoch;
  log::info(
      std::string("schedule: ") +
      (s.self_sizing ? "self-sizing (--epochs auto): at most " : "fixed (--epochs " + std::to_string(epochs) + "): ") +
      std::to_string(s.budget) + " steps (" + std::to_string(epochs) + " epochs)" +
      (s.self_sizing
           ? ", ending earlier once the held-out score has not improved for " + std::to_string(s.patience) + " steps"
           : std::string()) +
      "; lr " + fmt(s.lr, 5) + (s.warmup > 0 ? " after " + std::to_string(s.warmup) + " warm-up steps" : "") +
      ", falling linearly to " + fmt(s.lr * s.lr_final, 6));
}

// ---- checkpoints ----

// Rank 0 writes r.st, lending it the vocabulary for the write and taking it
// back even when the write fails; a failure there is raised on every rank.
template <class Write>
void write_on_rank0(Run& r, Write&& write) {
  mpi::on_root(r.comm, [&] {
    r.st.vocab = std::move(r.m.vocab);
    r.st.neighbours = std::move(r.m.neighbours);
    r.st.song_tags = std::move(r.m.song_tags);
    std::exception_ptr failed;
    try {
      write();
    } catch (...) {
      failed = std::current_exception();
    }
    r.m.vocab = std::move(r.st.vocab);
    r.m.neighbours = std::move(r.st.neighbours);
    r.m.song_tags = std::move(r.st.song_tags);
    r.m.vocab.build_index();
    if (failed) std::rethrow_exception(failed);
  });
}

// Weights are identical on every rank, so every rank reaches the same verdict
// without a message; moments held in slices are asked about.
void check_finite_weights(const Run& r, const char* what) {
  const auto bad = [](const std::vector<float>& v) {
    return std::any_of(v.begin(), v.end(), [](float x) { return !std::isfinite(x); });
  };
  bool bad_moments = bad(r.st.adam_m) || bad(r.st.adam_v);
  if (!r.st.moment_spans.empty()) bad_moments = mpi::any(r.comm, bad_moments);
  const char* which = bad(r.st.params) ? "weights" : bad_moments ? "Adam moments" : nullptr;
  MELON_CHECK(!which, "training diverged: the " << which << " hold non-finite values at step " << r.st.step
                                                << " (epoch " << r.st.epoch + 1 << "); not writing " << what
                                                << " (the checkpoints already written are kept); lower --lr?");
}

void checkpoint(Run& r) {
  const auto& cfg = r.cfg;
  if (cfg.checkpoint_dir.empty()) return;
  gather_shards(r);
  check_finite_weights(r, "a checkpoint");
  // Weights must be identical everywhere; a divergence would be silent otherwise.
  auto hashes = mpi::allgather(r.comm, static_cast<std::int64_t>(ae::params_hash(r.st.params)));
  for (auto h : hashes)
    MELON_CHECK(h == hashes[0],
                "ranks hold different weights at step " << r.st.step << " (non-deterministic reduction?)");
  if (r.st.moment_spans.empty()) {
    write_on_rank0(r, [&] { ae::write_checkpoint(cfg.checkpoint_dir, r.st, cfg.keep); });
  } else {
    // Rank 0 stages the file with its slices, each other rank adds its own,
    // rank 0 commits: no rank ever holds the whole moments. The temp file goes
    // (rank 0's `staged`) when any rank fails.
    std::optional<TempPath> staged;
    std::string tmp;
    write_on_rank0(r, [&] {
      ae::stage_checkpoint(cfg.checkpoint_dir, r.st, staged);
      tmp = staged->path();
    });
    mpi::bcast(r.comm, tmp);
    for (int k = 1; k < r.nranks; ++k)
      mpi::on_root(
          r.comm, [&] { ae::add_moment_slices(tmp, r.st); }, k);
    write_on_rank0(r, [&] { ae::commit_checkpoint(cfg.checkpoint_dir, r.st, cfg.keep, *staged); });
  }
  r.last_ckpt = r.st.step;
  if (r.speak) log::info("checkpoint " + ae::checkpoint_path(cfg.checkpoint_dir, r.st.step));
}

// The held-out score rises, peaks and falls as the model starts to memorise
// its training playlists; the peak's weights are kept for prediction.
void keep_if_best(Run& r, const EpochReport& rep) {
  const auto& cfg = r.cfg;
  auto& st = r.st;
  // A NaN score is never "better" (the comparison is false).
  if (rep.val_score < 0 || !(rep.val_score > st.best_val_score)) return;
  st.best_val_score = rep.val_score;
  st.best_step = st.step;
  if (cfg.checkpoint_dir.empty()) return;
  check_finite_weights(r, "best.h5");
  st.val_score = rep.val_score;
  write_on_rank0(r, [&] { ae::write_best(cfg.checkpoint_dir, st); });
  st.val_score = -1;
  if (r.speak)
    log::info("best held-out score so far (epoch " + std::to_string(rep.epoch) +
              "): " + ae::best_path(cfg.checkpoint_dir));
}

// A stop signal on any rank stops every rank at the same step.
bool stop_requested_anywhere(const Run& r) {
  if (!mpi::any(r.comm, stop_requested())) return false;
  if (r.speak)
    log::info(std::string("stop signal received (") + (stop_signal() ? signal_name(stop_signal()) : "on another rank") +
              "): checkpointing at step " + std::to_string(r.st.step) + " and exiting");
  return true;
}

// The step's loss summed over ranks (one small allreduce; every rank gets the
// same sums, so all stop together): a non-finite one ends the run before the
// weights it produced reach a checkpoint, best.h5 or the held-out score.
void check_finite_loss(const Run& r, const StepStats& s) {
  double loss[2] = {s.loss.song, s.loss.tag};
  mpi::allreduce_sum(r.comm, loss, 2);
  const char* which = !std::isfinite(loss[0]) ? "song" : !std::isfinite(loss[1]) ? "tag" : nullptr;
  MELON_CHECK(!which, "training diverged at step " << r.st.step << " (epoch " << r.st.epoch + 1 << " step "
                                                   << r.st.epoch_step << "): the " << which << " loss is "
                                                   << (which[0] == 's' ? loss[0] : loss[1])
                                                   << "; nothing of this step is written (the checkpoints already "
                                                      "written are kept); lower --lr?");
}

// ---- end of epoch ----

// This rank's sums over the epoch's steps.
struct EpochTally {
  double loss[4] = {0, 0, 0, 0};  // song sum, tag sum, song count, tag count
  std::int64_t steps = 0, samples = 0;
  double batch = 0, compute = 0, wait = 0, reduce = 0, update = 0;
  Clock::time_point start = Clock::now();

  void add(const StepStats& s) {
    loss[0] += s.loss.song;
    loss[1] += s.loss.tag;
    loss[2] += static_cast<double>(s.loss.n_song);
    loss[3] += static_cast<double>(s.loss.n_tag);
    ++steps;
    batch += s.batch, compute += s.compute, wait += s.wait, reduce += s.reduce, update += s.update;
    samples += s.samples;
  }
};

// Scores the held-out questions with the current weights; with audio, also
// picks whether cold songs compete and with which bias shift (one number,
// calibrated on held-out data), and records the pick in the training state.
void score_held_out(Run& r, EpochReport& rep, util::ThreadPool& pool) {
  if (r.held.questions.empty()) return;
  std::swap(r.m.params, r.st.params);
  r.m.tag_mix = 1;  // the songs are chosen on the head's tags, the mix last
  auto c = ae::choose_cold(r.m, r.held.questions, r.held.answers, r.in.song_dates, pool, r.comm);
  c = ae::choose_nbr_scale(r.m, c, r.held.questions, r.held.answers, r.in.song_dates, pool, r.comm);
  c = ae::choose_tag_mix(r.m, c, r.held.questions, r.held.answers, r.in.song_dates, pool, r.comm);
  r.m.neighbours.scale = 1;  // training goes on with the strength it has
  r.m.tag_mix = 1;
  rep.val_song = c.song, rep.val_tag = c.tag, rep.val_score = c.score;
  rep.cold_songs = c.cold_songs, rep.cold_shift = c.cold_shift, rep.nbr_scale = c.nbr_scale;
  rep.tag_mix = c.tag_mix;
  r.st.cold_songs = rep.cold_songs;
  r.st.cold_shift = rep.cold_shift;
  r.st.nbr_scale = rep.nbr_scale;
  r.st.tag_mix = rep.tag_mix;
  std::swap(r.m.params, r.st.params);
}

void log_epoch(const Run& r, const EpochReport& rep, const EpochTally& t, double ep_time, std::int64_t total_steps) {
  const double step_t = (t.batch + t.compute + t.wait + t.reduce + t.update) / std::max<std::int64_t>(1, t.steps);
  const double eta = step_t * static_cast<double>(total_steps - r.st.step);
  const std::string of = r.sched.self_sizing ? " (step " + std::to_string(r.st.step) + " of at most " +
                                                   std::to_string(r.sched.budget) + ")"
                                             : "/" + std::to_string(r.cfg.epochs);
  std::string msg = "epoch " + std::to_string(rep.epoch) + of + ": loss songs " + fmt(rep.song_loss) + " tags " +
                    fmt(rep.tag_loss) + " | " + fmt(t.samples / std::max(ep_time, 1e-9), 0) + " playlists/s, " +
                    fmt(t.steps / std::max(ep_time, 1e-9), 2) + " steps/s | per step: batch " +
                    fmt(1e3 * t.batch / t.steps, 1) + " ms, compute " + fmt(1e3 * t.compute / t.steps, 1) +
                    " ms, wait " + fmt(1e3 * t.wait / t.steps, 1) + " ms, allreduce " +
                    fmt(1e3 * t.reduce / t.steps, 1) + " ms (" +
                    fmt(100 * t.reduce / std::max(1e-12, step_t * t.steps), 1) + "%), adam " +
                    fmt(1e3 * t.update / t.steps, 1) + " ms";
  if (rep.val_score >= 0)
    msg += " | val nDCG songs " + fmt(rep.val_song, 4) + " tags " + fmt(rep.val_tag, 4) + " score " +
           fmt(rep.val_score, 4) +
           (r.dims().audio_dim > 0 ? rep.cold_songs ? " (cold songs on, shift " + fmt(rep.cold_shift, 1) + ")"
                                                    : std::string(" (cold songs off)")
                                   : std::string()) +
           (r.m.neighbours.empty() ? std::string() : " (item-to-item term x" + fmt(rep.nbr_scale, 3) + ")") +
           (r.m.song_tags.empty() ? std::string() : " (tag head's share " + fmt(rep.tag_mix, 1) + ")");
  msg += " | ETA " + fmt_time(eta);
  log::info(msg);
}

// Closes the epoch: losses summed over ranks, the held-out score, the log
// line, best.h5; then the next epoch's order.
EpochReport end_epoch(Run& r, EpochTally& t, util::ThreadPool& pool, std::int64_t total_steps) {
  auto& st = r.st;
  EpochReport rep;
  rep.epoch = st.epoch + 1;
  rep.steps = t.steps;
  mpi::allreduce_sum(r.comm, t.loss, 4);
  rep.song_loss = t.loss[0] / std::max(1.0, t.loss[2]);
  rep.tag_loss = t.loss[1] / std::max(1.0, t.loss[3]);
  const double ep_time = since(t.start);
  gather_shards(r);  // the held-out score and best.h5 need the whole model
  score_held_out(r, rep, pool);
  if (r.speak) log_epoch(r, rep, t, ep_time, total_steps);
  keep_if_best(r, rep);
  if (r.rank == 0 && !r.cfg.checkpoint_dir.empty())
    append_curve(r.cfg.checkpoint_dir, curve_point(rep, st.step, r.resumed_from, t.steps, ep_time, t.reduce,
                                                   t.batch + t.compute + t.wait + t.reduce + t.update));
  ++st.epoch;
  st.epoch_step = 0;
  st.order = epoch_order(r.examples(), r.cfg.seed, st.epoch, st.rng_state);
  return rep;
}

void log_run(const Run& r, const TrainResult& res, std::int64_t steps, double seconds) {
  const double t = res.t_total;
  log::info("trained " + std::to_string(steps) + " steps in " + fmt(seconds, 1) +
            " s: " + fmt(res.samples / std::max(t, 1e-9), 1) + " playlists/s; per step: batch " +
            fmt(1e3 * res.t_batch / res.timed_steps, 1) + " ms, compute " +
            fmt(1e3 * res.t_compute / res.timed_steps, 1) + " ms, wait for the slowest rank " +
            fmt(1e3 * res.t_wait / res.timed_steps, 1) + " ms, allreduce " +
            fmt(1e3 * res.t_reduce / res.timed_steps, 1) + " ms (" + fmt(100 * res.t_reduce / std::max(t, 1e-12), 1) +
            "%), adam " + fmt(1e3 * res.t_update / res.timed_steps, 1) +
            " ms; weights fnv1a64=" + hex64(ae::params_hash(r.st.params)));
}

}  // namespace

TrainResult run_training(const TrainConfig& cfg, const TrainInputs& in, MPI_Comm comm) {
  Run r(cfg, in, comm);
  r.rank = mpi::rank(comm), r.nranks = mpi::size(comm);
  r.speak = r.rank == 0 && !cfg.quiet;
  check_config(cfg);
  const auto t_start = Clock::now();

  std::optional<DirLock> lock;  // one run per checkpoint folder (util/dir_lock.hpp)
  if (!cfg.checkpoint_dir.empty())
    mpi::on_root(comm, [&] {
      // The lock creates the folder: a --resume=on typo must be refused before it.
      MELON_CHECK(cfg.resume != Resume::On || std::filesystem::is_directory(cfg.checkpoint_dir),
                  nothing_to_resume(cfg.checkpoint_dir, false, {}, {}));
      lock.emplace(cfg.checkpoint_dir);
    });
  setup(r);
  resume_or_start(r);
  const int threads = mpi::threads_per_rank(cfg.threads, comm);
  util::ThreadPool pool(threads);
  if (r.speak) log_setup(r, threads);

  auto& st = r.st;
  const std::int64_t planned = r.sched.budget;
  const std::int64_t total_steps = cfg.max_steps > 0 ? std::min(cfg.max_steps, planned) : planned;
  const std::int64_t first_step = st.step;
  TrainResult res;
  StopSignals signals;
  StepBuffers buffers;
  EpochTally tally;
  log::Progress progress("epoch " + std::to_string(st.epoch + 1), r.steps_per_epoch, "steps", 10.0, r.speak);

  // Resumed after the early stop: nothing left to do.
  bool done = stop_early(r.sched, st.step, st.best_step) && st.epoch_step == 0;
  // Training on moves best.h5 away from what a refit repeated.
  if (!done && st.step < planned && (cfg.max_steps <= 0 || st.step < cfg.max_steps) && !cfg.checkpoint_dir.empty())
    mpi::on_root(comm, [&] { ae::remove_refit(cfg.checkpoint_dir); });
  while (!done && st.step < planned) {
    if (cfg.max_steps > 0 && st.step >= cfg.max_steps) break;
    if (stop_requested_anywhere(r)) {
      res.stopped_by_signal = true;
      break;
    }
    const auto s = train_step(r, buffers, pool);
    check_finite_loss(r, s);
    tally.add(s);
    res.t_batch += s.batch, res.t_compute += s.compute, res.t_wait += s.wait, res.t_reduce += s.reduce,
        res.t_update += s.update;
    res.t_total += s.batch + s.compute + s.wait + s.reduce + s.update;
    ++res.timed_steps;
    res.samples += s.samples;
    progress.update(st.epoch_step);

    if (st.epoch_step == r.steps_per_epoch) {
      progress.finish();
      res.epochs.push_back(end_epoch(r, tally, pool, total_steps));
      tally = EpochTally{};
      if (stop_early(r.sched, st.step, st.best_step)) {
        done = res.stopped_early = true;
        if (r.speak)
          log::info("stopping early at step " + std::to_string(st.step) + ": no better held-out score for " +
                    std::to_string(st.step - st.best_step) + " steps (best " + fmt(st.best_val_score, 4) + " at step " +
                    std::to_string(st.best_step) + ", patience " + std::to_string(r.sched.patience) + ")");
      }
      progress = log::Progress("epoch " + std::to_string(st.epoch + 1), r.steps_per_epoch, "steps", 10.0,
                               r.speak && !done && st.step < planned);
    }
    if (cfg.checkpoint_every > 0 && st.step % cfg.checkpoint_every == 0) checkpoint(r);
    if (cfg.test_kill_at_step > 0 && st.step == cfg.test_kill_at_step && r.rank == 0) std::raise(SIGKILL);
  }
  if (r.last_ckpt != st.step) checkpoint(r);

  if (r.speak && res.timed_steps > 0) log_run(r, res, st.step - first_step, since(t_start));
  res.step = st.step;
  res.epoch = st.epoch;
  res.epoch_step = st.epoch_step;
  res.completed = !res.stopped_by_signal && (done || st.step >= planned);
  res.steps_per_epoch = r.steps_per_epoch;
  res.budget = r.sched.budget;
  res.warmup = r.sched.warmup;
  res.best_step = st.best_step;
  res.examples = r.examples();
  res.held_out = static_cast<std::int64_t>(r.held.held.size());
  gather_shards(r);
  res.params = std::move(st.params);
  return res;
}

}  // namespace melon::train

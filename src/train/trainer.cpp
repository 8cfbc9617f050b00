#include "melon/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "melon/error.hpp"
#include "melon/eval/metric.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/questions/held_out.hpp"
#include "melon/recommend/predict.hpp"
#include "melon/train/checkpoint.hpp"
#include "melon/train/curve.hpp"
#include "melon/train/signals.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/log.hpp"
#include "melon/util/rng.hpp"

namespace melon::train {

namespace {

// Pieces of the input rows' Adam update between which the dense layers'
// allreduce is polled (enough for the library to keep its pipeline moving).
constexpr int kAdamSlabs = 32;

using Clock = std::chrono::steady_clock;
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

// The input layer's gradient summed over ranks as the union of touched rows.
void reduce_rows(MPI_Comm comm, model::Grad<float>& g, std::int64_t cols, std::vector<float>& packed) {
  std::string mine(reinterpret_cast<const char*>(g.rows.data()), g.rows.size() * sizeof(std::int32_t));
  auto all = mpi::allgather_bytes(comm, mine);
  std::vector<std::int32_t> uni;
  for (auto& part : all) {
    const auto* p = reinterpret_cast<const std::int32_t*>(part.data());
    uni.insert(uni.end(), p, p + part.size() / sizeof(std::int32_t));
  }
  std::sort(uni.begin(), uni.end());
  uni.erase(std::unique(uni.begin(), uni.end()), uni.end());
  packed.assign(uni.size() * cols, 0.0f);
  std::size_t u = 0;
  for (std::size_t r = 0; r < g.rows.size(); ++r) {
    while (uni[u] != g.rows[r]) ++u;
    std::copy_n(g.row_grad.data() + r * cols, cols, packed.data() + u * cols);
  }
  mpi::allreduce_sum_buckets(comm, packed.data(), packed.size());
  g.rows = std::move(uni);
  g.row_grad.swap(packed);
}

}  // namespace

TrainResult run_training(const TrainConfig& cfg, const TrainInputs& in, MPI_Comm comm) {
  const int rank = mpi::rank(comm), nranks = mpi::size(comm);
  const bool speak = rank == 0 && !cfg.quiet;
  MELON_CHECK(cfg.batch > 0, "--batch must be positive");
  MELON_CHECK(cfg.epochs >= 0, "--epochs must not be negative");
  MELON_CHECK(cfg.adam.lr > 0, "--lr must be positive");
  MELON_CHECK(cfg.lr_final >= 0 && cfg.lr_final <= 1, "--lr-final must be in [0, 1]");
  const auto t_start = Clock::now();

  // Held-out slice of the training playlists (at most a fifth), scored every
  // epoch and never trained on; the reranker (rank/rerank.hpp) learns on it.
  const auto held_idx =
      questions::held_out_indices(in.train.size(), cfg.val_size, cfg.seed, questions::HeldOutDraw::Training);
  const auto n_val = held_idx.size();
  std::vector<char> held(in.train.size(), 0);
  for (auto i : held_idx) held[i] = 1;
  std::vector<const arena::Playlist*> data;
  for (std::size_t i = 0; i < in.train.size(); ++i)
    if (!held[i]) data.push_back(&in.train[i]);
  for (auto& q : in.questions) data.push_back(&q);
  MELON_CHECK(!data.empty(), "no training playlists");
  std::vector<arena::Playlist> val_q;
  std::vector<arena::Result> val_a;
  for (std::size_t j = 0; j < held_idx.size(); ++j) {
    auto h = make_held_out(in.train[held_idx[j]], static_cast<std::int64_t>(j), cfg.seed);
    val_q.push_back(std::move(h.question));
    val_a.push_back(std::move(h.answer));
  }

  recommend::AeModel m;
  m.vocab = build_vocab(data, cfg.vocab);
  m.tokenizer = cfg.vocab.tokenizer;
  m.audio = in.audio;
  std::vector<Encoded> enc;
  enc.reserve(data.size());
  for (auto* p : data) enc.push_back(encode(*p, m.vocab, m.tokenizer));
  model::Dims dims;
  dims.n_songs = static_cast<std::int64_t>(m.vocab.songs.size());
  dims.n_tags = static_cast<std::int64_t>(m.vocab.tags.size());
  dims.n_tokens = static_cast<std::int64_t>(m.vocab.tokens.size());
  dims.audio_dim = m.audio.dim;
  dims.hidden = cfg.hidden;
  m.layout = model::make_layout(dims);
  m.audio_map = cfg.audio_map;
  m.audio_input = cfg.audio_input;
  if (dims.audio_dim > 0) m.song_audio = song_audio_matrix(m.vocab, m.audio, m.audio_map);
  const auto& L = m.layout;
  const std::int64_t h0 = dims.hidden.front();

  Checkpoint st;  // the whole training state
  st.layout = L;
  st.config = fingerprint(cfg, dims.audio_dim > 0);
  st.config_hash = fnv1a64(st.config.data(), st.config.size());
  st.vocab_hash = m.vocab.hash();
  st.ranks = nranks;
  st.tokenizer = cfg.vocab.tokenizer;
  st.audio_mean = m.audio.mean;
  st.audio_scale = m.audio.scale;
  st.pca_path = in.pca_path;
  st.audio_map = cfg.audio_map;
  st.audio_input = cfg.audio_input;
  for (auto i : held_idx) st.held_out.push_back(in.train[i].id);
  const auto N = static_cast<std::int64_t>(enc.size());
  const std::int64_t steps_per_epoch = std::max<std::int64_t>(1, (N + cfg.batch - 1) / cfg.batch);

  bool resumed = false;
  if (!cfg.checkpoint_dir.empty()) {
    std::string found;
    if (rank == 0) {
      make_dirs(cfg.checkpoint_dir);
      std::error_code ec;
      for (auto& e : std::filesystem::directory_iterator(cfg.checkpoint_dir, ec))
        if (e.path().filename().string().find(".h5.tmp.") != std::string::npos) std::filesystem::remove(e.path(), ec);
      auto existing = list_checkpoints(cfg.checkpoint_dir);
      if (cfg.resume) {
        std::string path;
        if (read_latest(cfg.checkpoint_dir, true, &path)) found = path;
      } else if (!existing.empty()) {
        found = "!" + existing.front();
      }
    }
    mpi::bcast(comm, found);
    MELON_CHECK(found.empty() || found[0] != '!',
                cfg.checkpoint_dir << " already holds checkpoints (" << found.substr(1)
                                   << "): pass --resume to continue, or use an empty --checkpoint-dir");
    if (!found.empty()) {
      auto c = read_checkpoint(found, true);
      MELON_CHECK(c.config_hash == st.config_hash,
                  "refusing to resume from " << found << ": it was trained with other settings: "
                                             << config_diff(c.config, st.config));
      MELON_CHECK(c.ranks == nranks, "refusing to resume from " << found << ": it was written by a " << c.ranks
                                                                << "-rank job and this job has " << nranks
                                                                << " ranks (the batch split must not change)");
      MELON_CHECK(c.vocab_hash == st.vocab_hash,
                  "refusing to resume from " << found
                                             << ": its vocabulary differs from the one built now (different input files?)");
      MELON_CHECK(static_cast<std::int64_t>(c.order.size()) == N,
                  "refusing to resume from " << found << ": it orders " << c.order.size() << " examples, the data has "
                                             << N);
      MELON_CHECK(c.layout.total == L.total, found << ": layout does not match the model");
      st.params = std::move(c.params);
      st.adam_m = std::move(c.adam_m);
      st.adam_v = std::move(c.adam_v);
      st.step = c.step;
      st.epoch = c.epoch;
      st.epoch_step = c.epoch_step;
      st.order = std::move(c.order);
      st.rng_state = c.rng_state;
      st.best_val_score = c.best_val_score;
      resumed = true;
      if (speak)
        log::info("resuming from " + found + ": step " + std::to_string(st.step) + ", epoch " +
                  std::to_string(st.epoch + 1) + " step " + std::to_string(st.epoch_step));
    } else if (cfg.resume && speak) {
      log::info("--resume: no checkpoint in " + cfg.checkpoint_dir + ", starting from scratch");
    }
  }
  if (!resumed) {
    st.params = model::init_params(L, cfg.seed);
    st.adam_m.assign(st.params.size(), 0.0f);
    st.adam_v.assign(st.params.size(), 0.0f);
    st.order = epoch_order(N, cfg.seed, 0, st.rng_state);
  }

  int threads = cfg.threads;
  if (threads <= 0)
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / mpi::node_size(comm));
  model::Pool pool(threads);
  if (speak)
    log::info("training: " + std::to_string(N) + " playlists (" + std::to_string(in.train.size() - n_val) +
              " training + " + std::to_string(in.questions.size()) + " questions), " + std::to_string(n_val) +
              " held out; vocabulary " + std::to_string(dims.n_songs) + " songs, " + std::to_string(dims.n_tags) +
              " tags, " + std::to_string(dims.n_tokens) + " title tokens; audio dim " +
              std::to_string(dims.audio_dim) + "; hidden " + join_ints(dims.hidden) + "; " +
              std::to_string(L.total) + " parameters; batch " + std::to_string(cfg.batch) + " over " +
              std::to_string(nranks) + " ranks x " + std::to_string(threads) + " threads; " +
              std::to_string(steps_per_epoch) + " steps/epoch; input allreduce: " + to_string(cfg.input_reduce));

  TrainResult res;
  std::int64_t last_ckpt = resumed ? st.step : -1;
  // Rank 0 writes st (lending it the vocabulary for the write); a failure
  // there is raised on every rank.
  auto write_on_rank0 = [&](auto&& write) {
    std::string err;
    if (rank == 0) {
      try {
        st.vocab = std::move(m.vocab);
        write();
      } catch (const Error& e) {
        err = e.what();
      }
      m.vocab = std::move(st.vocab);
      m.vocab.build_index();
    }
    mpi::throw_if_any(comm, err);
  };
  auto checkpoint = [&] {
    if (cfg.checkpoint_dir.empty()) return;
    // Weights must be identical everywhere; a divergence would be silent otherwise.
    auto hashes = mpi::allgather(comm, static_cast<std::int64_t>(params_hash(st.params)));
    for (auto h : hashes)
      MELON_CHECK(h == hashes[0], "ranks hold different weights at step " << st.step << " (non-deterministic reduction?)");
    write_on_rank0([&] { write_checkpoint(cfg.checkpoint_dir, st, cfg.keep); });
    last_ckpt = st.step;
    if (speak) log::info("checkpoint " + checkpoint_path(cfg.checkpoint_dir, st.step));
  };
  // The held-out score rises, peaks and falls as the model starts to memorise
  // its training playlists; the peak's weights are kept for prediction.
  auto keep_if_best = [&](const EpochReport& rep) {
    if (cfg.checkpoint_dir.empty() || rep.val_score < 0 || !(rep.val_score > st.best_val_score)) return;
    st.best_val_score = st.val_score = rep.val_score;
    write_on_rank0([&] { write_best(cfg.checkpoint_dir, st); });
    st.val_score = -1;
    if (speak) log::info("best held-out score so far (epoch " + std::to_string(rep.epoch) + "): " + best_path(cfg.checkpoint_dir));
  };

  // Scores the held-out questions; with audio, also picks whether cold songs
  // compete and with which bias shift (one number, calibrated on held-out data).
  auto validate = [&](EpochReport& rep) {
    if (val_q.empty()) return;
    std::swap(m.params, st.params);
    std::vector<std::pair<bool, double>> grid{{dims.audio_dim > 0 ? false : true, 0.0}};
    if (dims.audio_dim > 0)
      for (double s : {-4.0, -2.0, 0.0}) grid.emplace_back(true, s);
    const auto r = mpi::block_range(static_cast<std::int64_t>(val_q.size()), rank, nranks);
    for (auto [on, shift] : grid) {
      m.cold_enabled = on;
      m.cold_shift = shift;
      recommend::prepare_cold(m);
      recommend::PredictOptions po;
      po.song_dates = in.song_dates;
      auto mine = recommend::predict(m, val_q, po, pool, comm, false);
      double sums[2] = {0, 0};
      for (auto i = r.begin; i < r.end; ++i) {
        sums[0] += eval::ndcg(mine[i - r.begin].songs, val_a[i].songs);
        sums[1] += eval::ndcg(mine[i - r.begin].tags, val_a[i].tags);
      }
      mpi::allreduce_sum(comm, sums, 2);
      const double song = sums[0] / val_q.size(), tag = sums[1] / val_q.size(), score = 0.85 * song + 0.15 * tag;
      if (score > rep.val_score) {
        rep.val_song = song, rep.val_tag = tag, rep.val_score = score;
        rep.cold_songs = on, rep.cold_shift = shift;
      }
    }
    st.cold_songs = rep.cold_songs;
    st.cold_shift = rep.cold_shift;
    std::swap(m.params, st.params);
  };

  StopSignals signals;
  model::Batch batch;
  model::Grad<float> grad;
  model::Workspace<float> ws;
  std::vector<float> packed, dense_input;
  std::vector<std::int32_t> slab_rows;
  double ep_loss[4] = {0, 0, 0, 0};  // song sum, tag sum, song count, tag count (this rank)
  std::int64_t ep_steps = 0;
  const std::int64_t total_steps = cfg.max_steps > 0 ? std::min(cfg.max_steps, cfg.epochs * steps_per_epoch)
                                                     : cfg.epochs * steps_per_epoch;
  const std::int64_t first_step = st.step;
  auto ep_start = Clock::now();
  log::Progress progress("epoch " + std::to_string(st.epoch + 1), steps_per_epoch, "steps", 10.0, speak);
  double ep_reduce = 0, ep_compute = 0, ep_wait = 0, ep_update = 0, ep_batch = 0;
  std::int64_t ep_samples = 0;

  while (st.epoch < cfg.epochs) {
    if (cfg.max_steps > 0 && st.step >= cfg.max_steps) break;
    if (mpi::any(comm, stop_requested())) {
      res.stopped_by_signal = true;
      if (speak) log::info("stop signal received: checkpointing at step " + std::to_string(st.step) + " and exiting");
      break;
    }
    const auto t0 = Clock::now();
    const std::int64_t g0 = st.epoch_step * cfg.batch, g1 = std::min(N, g0 + cfg.batch), nb = g1 - g0;
    const auto part = mpi::block_range(nb, rank, nranks);
    batch.clear();
    for (auto k = part.begin; k < part.end; ++k) {
      const auto ex = st.order[g0 + k];
      add_example(batch, enc[ex], dims, m.input_audio(), true, cfg.corruption,
                  mix_seed(cfg.seed, static_cast<std::uint64_t>(st.epoch), static_cast<std::uint64_t>(ex)));
    }
    const auto t1 = Clock::now();
    auto ls = model::forward_backward<float>(L, st.params.data(), m.song_audio, batch, cfg.loss, 1.0 / nb, grad, ws,
                                             pool);
    const auto t2w = Clock::now();
    // The barrier only measures: without it the time a fast rank waits for a
    // slow one (load imbalance, other jobs on the node) would count as
    // allreduce time.
    if (nranks > 1) mpi::barrier(comm);
    const auto t2 = Clock::now();
    // The input layer's rows first (small), then the dense layers' sum runs
    // while Adam updates the input rows, which need only the rows' sum: the
    // library progresses between slabs of that update (poll). Adam is
    // elementwise, so the slabs change no bit of the result.
    if (nranks > 1 && cfg.input_reduce == InputReduce::Rows) {
      reduce_rows(comm, grad, h0, packed);
    } else if (cfg.input_reduce == InputReduce::Dense) {
      dense_input.assign(static_cast<std::size_t>(dims.n_inputs() * h0), 0.0f);
      for (std::size_t r = 0; r < grad.rows.size(); ++r)
        std::copy_n(grad.row_grad.data() + r * h0, h0, dense_input.data() + grad.rows[r] * h0);
      mpi::allreduce_sum_buckets(comm, dense_input.data(), dense_input.size());
    }
    mpi::PendingAllreduce dense_sum(comm, grad.dense.data(), grad.dense.size());
    const auto t3 = Clock::now();
    AdamOptions ao = cfg.adam;
    const double planned = static_cast<double>(std::max<std::int64_t>(1, cfg.epochs * steps_per_epoch));
    ao.lr *= 1.0 - (1.0 - cfg.lr_final) * std::min(1.0, static_cast<double>(st.step) / planned);
    const AdamStep as(ao, st.step + 1);
    float* p = st.params.data();
    float* am = st.adam_m.data();
    float* av = st.adam_v.data();
    if (cfg.input_reduce == InputReduce::Dense) {
      adam_dense(as, p, am, av, dense_input.data(), dims.n_inputs() * h0, pool);
    } else {
      const int slabs = nranks > 1 ? kAdamSlabs : 1;
      for (int k = 0; k < slabs; ++k) {
        const auto rg = mpi::block_range(dims.n_inputs(), k, slabs);
        const auto lo = std::lower_bound(grad.rows.begin(), grad.rows.end(), rg.begin);
        const auto hi = std::lower_bound(lo, grad.rows.end(), rg.end);
        slab_rows.assign(lo, hi);
        for (auto& r : slab_rows) r -= static_cast<std::int32_t>(rg.begin);
        const auto off = rg.begin * h0;
        adam_rows(as, p + off, am + off, av + off, rg.end - rg.begin, h0, slab_rows,
                  grad.row_grad.data() + (lo - grad.rows.begin()) * h0, pool);
        dense_sum.poll();
      }
    }
    const auto t3b = Clock::now();
    dense_sum.wait();
    const auto t3c = Clock::now();
    adam_dense(as, p + L.sparse_end, am + L.sparse_end, av + L.sparse_end, grad.dense.data(),
               L.total - L.sparse_end, pool);
    const auto t4 = Clock::now();
    ++st.step;
    ++st.epoch_step;
    ep_loss[0] += ls.song;
    ep_loss[1] += ls.tag;
    ep_loss[2] += static_cast<double>(ls.n_song);
    ep_loss[3] += static_cast<double>(ls.n_tag);
    ++ep_steps;
    const double tb = std::chrono::duration<double>(t1 - t0).count(),
                 tc = std::chrono::duration<double>(t2w - t1).count(),
                 tw = std::chrono::duration<double>(t2 - t2w).count(),
                 tr = std::chrono::duration<double>((t3 - t2) + (t3c - t3b)).count(),
                 tu = std::chrono::duration<double>((t3b - t3) + (t4 - t3c)).count();
    ep_batch += tb, ep_compute += tc, ep_wait += tw, ep_reduce += tr, ep_update += tu;
    res.t_batch += tb, res.t_compute += tc, res.t_wait += tw, res.t_reduce += tr, res.t_update += tu;
    res.t_total += tb + tc + tw + tr + tu;
    ++res.timed_steps;
    res.samples += nb;
    ep_samples += nb;
    progress.update(st.epoch_step);

    if (st.epoch_step == steps_per_epoch) {
      progress.finish();
      EpochReport rep;
      rep.epoch = st.epoch + 1;
      rep.steps = ep_steps;
      mpi::allreduce_sum(comm, ep_loss, 4);
      rep.song_loss = ep_loss[0] / std::max(1.0, ep_loss[2]);
      rep.tag_loss = ep_loss[1] / std::max(1.0, ep_loss[3]);
      const double ep_time = since(ep_start);
      validate(rep);
      res.epochs.push_back(rep);
      if (speak) {
        const double step_t = (ep_batch + ep_compute + ep_wait + ep_reduce + ep_update) / std::max<std::int64_t>(1, ep_steps);
        const double eta = step_t * static_cast<double>(total_steps - st.step);
        std::string msg = "epoch " + std::to_string(rep.epoch) + "/" + std::to_string(cfg.epochs) + ": loss songs " +
                          fmt(rep.song_loss) + " tags " + fmt(rep.tag_loss) + " | " +
                          fmt(ep_samples / std::max(ep_time, 1e-9), 0) + " playlists/s, " +
                          fmt(ep_steps / std::max(ep_time, 1e-9), 2) + " steps/s | per step: batch " +
                          fmt(1e3 * ep_batch / ep_steps, 1) + " ms, compute " + fmt(1e3 * ep_compute / ep_steps, 1) +
                          " ms, wait " + fmt(1e3 * ep_wait / ep_steps, 1) + " ms, allreduce " + fmt(1e3 * ep_reduce / ep_steps, 1) + " ms (" +
                          fmt(100 * ep_reduce / std::max(1e-12, step_t * ep_steps), 1) + "%), adam " +
                          fmt(1e3 * ep_update / ep_steps, 1) + " ms";
        if (rep.val_score >= 0)
          msg += " | val nDCG songs " + fmt(rep.val_song, 4) + " tags " + fmt(rep.val_tag, 4) + " score " +
                 fmt(rep.val_score, 4) +
                 (dims.audio_dim > 0 ? rep.cold_songs ? " (cold songs on, shift " + fmt(rep.cold_shift, 1) + ")"
                                                      : std::string(" (cold songs off)")
                                     : std::string());
        msg += " | ETA " + fmt_time(eta);
        log::info(msg);
      }
      keep_if_best(rep);
      if (rank == 0 && !cfg.checkpoint_dir.empty()) append_curve(cfg.checkpoint_dir, curve_point(rep, st.step, resumed ? first_step : -1, ep_steps, ep_time, ep_reduce, ep_batch + ep_compute + ep_wait + ep_reduce + ep_update));
      ++st.epoch;
      st.epoch_step = 0;
      st.order = epoch_order(N, cfg.seed, st.epoch, st.rng_state);
      std::fill(std::begin(ep_loss), std::end(ep_loss), 0.0);
      ep_steps = 0;
      ep_batch = ep_compute = ep_wait = ep_reduce = ep_update = 0;
      ep_samples = 0;
      ep_start = Clock::now();
      progress = log::Progress("epoch " + std::to_string(st.epoch + 1), steps_per_epoch, "steps", 10.0,
                               speak && st.epoch < cfg.epochs);
    }
    if (cfg.checkpoint_every > 0 && st.step % cfg.checkpoint_every == 0) checkpoint();
    if (cfg.test_kill_at_step > 0 && st.step == cfg.test_kill_at_step && rank == 0) std::raise(SIGKILL);
  }
  if (last_ckpt != st.step) checkpoint();

  if (speak && res.timed_steps > 0) {
    const double t = res.t_total;
    log::info("trained " + std::to_string(st.step - first_step) + " steps in " + fmt(since(t_start), 1) +
              " s: " + fmt(res.samples / std::max(t, 1e-9), 1) + " playlists/s; per step: batch " +
              fmt(1e3 * res.t_batch / res.timed_steps, 1) + " ms, compute " +
              fmt(1e3 * res.t_compute / res.timed_steps, 1) + " ms, wait for the slowest rank " +
              fmt(1e3 * res.t_wait / res.timed_steps, 1) + " ms, allreduce " +
              fmt(1e3 * res.t_reduce / res.timed_steps, 1) + " ms (" + fmt(100 * res.t_reduce / std::max(t, 1e-12), 1) +
              "%), adam " + fmt(1e3 * res.t_update / res.timed_steps, 1) + " ms; weights fnv1a64=" +
              hex64(params_hash(st.params)));
  }
  res.step = st.step;
  res.epoch = st.epoch;
  res.epoch_step = st.epoch_step;
  res.params = std::move(st.params);
  return res;
}

}  // namespace melon::train

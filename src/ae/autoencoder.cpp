// Eigen's AVX-512 helpers trip GCC 12's uninitialised-variable false positives at -O1.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "melon/ae/autoencoder.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/gemm.hpp"
#include "melon/util/rng.hpp"

namespace melon::ae {

// ---- layout and initialisation ----

std::vector<int> parse_widths(const std::string& s, const std::string& what) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MELON_CHECK(used == item.size() && !item.empty() && v > 0,
                what << ": expected a comma-separated list of positive integers, got '" << s << "'");
    out.push_back(v);
  }
  MELON_CHECK(!out.empty(), what << ": empty list");
  return out;
}

std::string join_widths(const std::vector<int>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

const Tensor& Layout::get(const std::string& name) const {
  for (auto& t : tensors)
    if (t.name == name) return t;
  MELON_ASSERT(false, "no tensor named " << name);
}

bool Layout::has(const std::string& name) const {
  for (auto& t : tensors)
    if (t.name == name) return true;
  return false;
}

Layout make_layout(const Dims& d) {
  MELON_CHECK(!d.hidden.empty(), "model: at least one hidden layer is needed");
  for (int h : d.hidden) MELON_CHECK(h > 0, "model: hidden layer widths must be positive, got " << h);
  MELON_CHECK(d.n_songs > 0, "model: the song vocabulary is empty (lower --min-song-count?)");
  Layout L;
  L.dims = d;
  auto add = [&](const std::string& name, std::int64_t rows, std::int64_t cols) {
    // 64-byte aligned starts keep every tensor's rows friendly to SIMD loads.
    L.total = (L.total + 15) / 16 * 16;
    L.tensors.push_back({name, rows, cols, L.total});
    L.total += rows * cols;
  };
  const int h0 = d.hidden.front(), hl = d.hidden.back();
  add("input", d.n_inputs(), h0);
  L.sparse_end = (L.total + 15) / 16 * 16;
  if (d.audio_dim > 0) add("input_audio", d.audio_dim, h0);
  add("input_bias", 1, h0);
  for (std::size_t l = 1; l < d.hidden.size(); ++l) {
    add("hidden" + std::to_string(l), d.hidden[l - 1], d.hidden[l]);
    add("hidden" + std::to_string(l) + "_bias", 1, d.hidden[l]);
  }
  add("song_out", d.n_songs, hl);
  add("song_bias", 1, d.n_songs);
  add("tag_out", d.n_tags, hl);
  add("tag_bias", 1, d.n_tags);
  if (d.audio_dim > 0) add("song_audio", d.audio_dim + 1, hl);
  if (d.neighbours > 0) add("song_nbr", 1, d.n_songs);
  L.total = (L.total + 15) / 16 * 16;
  return L;
}

std::vector<float> init_params(const Layout& L, std::uint64_t seed) {
  std::vector<float> p(static_cast<std::size_t>(L.total), 0.0f);
  for (std::size_t k = 0; k < L.tensors.size(); ++k) {
    const auto& t = L.tensors[k];
    // The item-to-item weights start at 1: the term counts from the first step.
    if (t.name == "song_nbr") {
      std::fill(p.begin() + t.offset, p.begin() + t.offset + t.size(), 1.0f);
      continue;
    }
    // Biases and the audio map start at zero: the map grows from the songs' gradients.
    if (t.rows == 1 || t.name == "song_audio") continue;
    const double a = std::sqrt(6.0 / static_cast<double>(t.rows + t.cols));
    Rng rng(mix_seed(seed, 0x1417, k));
    for (std::int64_t i = 0; i < t.size(); ++i) p[t.offset + i] = static_cast<float>((2 * rng.uniform() - 1) * a);
  }
  return p;
}

void Batch::clear() {
  size = 0;
  own_out = false;
  in_ptr.assign(1, 0);
  in_idx.clear();
  in_w.clear();
  audio.clear();
  song_ptr.assign(1, 0);
  tag_ptr.assign(1, 0);
  song_idx.clear();
  tag_idx.clear();
}

void Batch::end_example() {
  ++size;
  in_ptr.push_back(static_cast<std::int64_t>(in_idx.size()));
  song_ptr.push_back(static_cast<std::int64_t>(song_idx.size()));
  tag_ptr.push_back(static_cast<std::int64_t>(tag_idx.size()));
}

// ---- kernels ----

namespace {

template <class T>
using CMap = Eigen::Map<const Mat<T>>;
template <class T>
using MMap = Eigen::Map<Mat<T>>;

template <class T>
CMap<T> view(const Layout& L, const T* p, const std::string& name) {
  const auto& t = L.get(name);
  return CMap<T>(p + t.offset, t.rows, t.cols);
}

template <class T>
MMap<T> gview(const Layout& L, Grad<T>& g, const std::string& name) {
  const auto& t = L.get(name);
  return MMap<T>(g.dense.data() + (t.offset - L.sparse_end), t.rows, t.cols);
}

template <class T>
Mat<T> audio_matrix(const Batch& b, int a) {
  MELON_ASSERT(b.audio.size() == static_cast<std::size_t>(b.size * a),
               "batch audio has " << b.audio.size() << " values, expected " << b.size * a);
  return Eigen::Map<const Mat<float>>(b.audio.data(), b.size, a).template cast<T>();
}

// out = Σ rows of m, summed top to bottom. Eigen's colwise().sum() picks its
// summation order by the destination's address alignment, so into a buffer
// that is not 64-byte aligned it gave run-to-run different bias gradients.
template <class Src, class Dst>
void column_sums(const Src& m, Dst&& out) {
  out.setZero();
  for (Eigen::Index r = 0; r < m.rows(); ++r) out += m.row(r);
}

// out = tanh(out) in place, by row chunks.
template <class T>
void tanh_rows(Mat<T>& m, util::ThreadPool& pool) {
  util::Chunks ch{m.rows(), kRowChunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    auto blk = m.middleRows(ch.begin(c), ch.len(c));
    blk = blk.array().tanh();
  });
}

// logits = h·Wᵀ + bias (+ g·Sᵀ), chunked over the vocabulary; s: the rows
// of S matching w's rows (s_cols wide).
template <class T>
void logits(const Mat<T>& h, const CMap<T>& w, const CMap<T>& bias, const Mat<T>* g, const T* s, std::int64_t s_cols,
            Mat<T>& z, util::ThreadPool& pool) {
  z.resize(h.rows(), w.rows());
  util::Chunks ch{w.rows(), kVocabChunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    const auto c0 = ch.begin(c), n = ch.len(c);
    const std::int64_t B = h.rows(), H = h.cols(), V = z.cols();
    util::gemm(false, true, B, n, H, T(1), h.data(), H, w.data() + c0 * H, H, T(0), z.data() + c0, V);
    if (g)
      util::gemm(false, true, B, n, g->cols(), T(1), g->data(), g->cols(), s + c0 * s_cols, s_cols, T(1), z.data() + c0,
                 V);
    z.middleCols(c0, n).rowwise() += bias.middleCols(c0, n).row(0);
  });
}

// A shard's collective (a sum, or an exact max), timed; nothing without one.
template <class T>
void shard_reduce(const Shard* sh, T* data, std::int64_t n, bool max) {
  if (!sh || sh->comm == MPI_COMM_NULL) return;
  const auto t = std::chrono::steady_clock::now();
  if (max) mpi::allreduce_max(sh->comm, data, static_cast<std::size_t>(n));
  else mpi::allreduce_sum(sh->comm, data, static_cast<std::size_t>(n));
  sh->comm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Multinomial log-likelihood of one output group. z holds the columns
// [v0, v0 + z.cols()) of a vocabulary of `width` items (all of them without a
// shard); targets idx are whole-vocabulary indices. Returns Σ loss over rows
// with targets; when grad, replaces z by d(weight·scale·loss)/dz. A shard's
// ranks combine each row's maximum, then its sum of exponentials and its
// target logits, in three passes; alone, the passes reduce to one softmax.
template <class T>
std::pair<double, std::int64_t> group_loss(Mat<T>& z, std::int64_t v0, std::int64_t width,
                                           const std::vector<std::int64_t>& ptr, const std::vector<std::int32_t>& idx,
                                           double weight, double scale, bool grad, util::ThreadPool& pool,
                                           const Shard* sh) {
  const std::int64_t B = z.rows(), V = z.cols();
  const auto skip = [&](std::int64_t i) { return ptr[i + 1] == ptr[i] || width == 0; };
  const auto mine = [&](std::int32_t j) { return j >= v0 && j < v0 + V; };
  std::vector<T> mx(static_cast<std::size_t>(B), -std::numeric_limits<T>::infinity());
  std::vector<double> sums(static_cast<std::size_t>(2 * B), 0.0);  // per row: Σ exp(z - max), Σ target logits
  util::Chunks ch{B, kRowChunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    for (auto i = ch.begin(c); i < ch.begin(c) + ch.len(c); ++i) {
      if (skip(i) || V == 0) continue;
      for (auto k = ptr[i]; k < ptr[i + 1]; ++k)
        if (mine(idx[k])) sums[2 * i + 1] += static_cast<double>(z(i, idx[k] - v0));
      mx[i] = z.row(i).maxCoeff();
    }
  });
  shard_reduce(sh, mx.data(), B, true);
  pool.run(ch.count(), [&](std::int64_t c) {
    for (auto i = ch.begin(c); i < ch.begin(c) + ch.len(c); ++i) {
      if (skip(i) || V == 0) continue;
      auto row = z.row(i);
      if (grad) {
        row = (row.array() - mx[i]).exp();
        sums[2 * i] = static_cast<double>(row.sum());
      } else {
        sums[2 * i] = static_cast<double>((row.array() - mx[i]).exp().sum());
      }
    }
  });
  shard_reduce(sh, sums.data(), 2 * B, false);
  std::vector<double> loss(static_cast<std::size_t>(B), 0.0);
  pool.run(ch.count(), [&](std::int64_t c) {
    for (auto i = ch.begin(c); i < ch.begin(c) + ch.len(c); ++i) {
      auto row = z.row(i);
      if (skip(i)) {
        if (grad) row.setZero();
        continue;
      }
      const auto n = ptr[i + 1] - ptr[i];
      const double sum = sums[2 * i];
      if (grad) {
        const T a = static_cast<T>(weight * scale / sum), t = static_cast<T>(weight * scale / n);
        row *= a;
        for (auto k = ptr[i]; k < ptr[i + 1]; ++k)
          if (mine(idx[k])) row(idx[k] - v0) -= t;
      }
      const double lse = static_cast<double>(mx[i]) + std::log(sum);
      loss[i] = lse - sums[2 * i + 1] / n;
    }
  });
  double total = 0;
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < B; ++i) {
    total += loss[i];
    count += skip(i) ? 0 : 1;
  }
  return {total, count};
}

// The full vocabulary as one shard (the unsharded model).
Shard whole(const Dims& d) {
  Shard sh;
  sh.in1 = d.n_inputs(), sh.s1 = d.n_songs, sh.t1 = d.n_tags;
  return sh;
}

}  // namespace

namespace {

// Views of a shard's rows of an output tensor and of its bias.
template <class T>
CMap<T> out_rows(const Layout& L, const T* p, const std::string& name, std::int64_t r0, std::int64_t r1) {
  const auto& t = L.get(name);
  return CMap<T>(p + t.offset + r0 * t.cols, r1 - r0, t.cols);
}

template <class T>
void forward_sharded(const Layout& L, const T* p, const Mat<T>& song_audio, const Batch& b, Workspace<T>& ws,
                     util::ThreadPool& pool, const Shard& sh, const Shard* comm, const Neighbours* nbr) {
  const auto& d = L.dims;
  const std::int64_t B = b.size;
  const int h0 = d.hidden.front();
  ws.h.resize(d.hidden.size());
  auto E = view(L, p, "input");
  auto b0 = view(L, p, "input_bias");
  Mat<T>& a0 = ws.h[0];
  a0.resize(B, h0);
  // The sparse input layer: a gather-sum of the active rows, never a dense
  // product; a shard sums its own rows and the ranks add up the partial sums.
  util::Chunks ch{B, kRowChunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    for (auto i = ch.begin(c); i < ch.begin(c) + ch.len(c); ++i) {
      auto row = a0.row(i);
      if (sh.root) row = b0.row(0);
      else row.setZero();
      for (auto k = b.in_ptr[i]; k < b.in_ptr[i + 1]; ++k)
        if (b.in_idx[k] >= sh.in0 && b.in_idx[k] < sh.in1) row += static_cast<T>(b.in_w[k]) * E.row(b.in_idx[k]);
    }
  });
  shard_reduce(comm, a0.data(), a0.size(), false);
  if (d.audio_dim > 0) a0.noalias() += audio_matrix<T>(b, d.audio_dim) * view(L, p, "input_audio");
  tanh_rows(a0, pool);
  for (std::size_t l = 1; l < d.hidden.size(); ++l) {
    const auto name = "hidden" + std::to_string(l);
    ws.h[l].noalias() = ws.h[l - 1] * view(L, p, name);
    ws.h[l].rowwise() += view(L, p, name + "_bias").row(0);
    tanh_rows(ws.h[l], pool);
  }
  const Mat<T>& h = ws.h.back();
  const auto Os = out_rows(L, p, "song_out", sh.s0, sh.s1), Ot = out_rows(L, p, "tag_out", sh.t0, sh.t1);
  const auto& bs = L.get("song_bias");
  const auto& bt = L.get("tag_bias");
  const CMap<T> song_bias(p + bs.offset + sh.s0, 1, sh.s1 - sh.s0), tag_bias(p + bt.offset + sh.t0, 1, sh.t1 - sh.t0);
  if (d.audio_dim > 0) {
    MELON_ASSERT(song_audio.rows() == d.n_songs && song_audio.cols() == d.audio_dim + 1,
                 "song audio matrix " << song_audio.rows() << "x" << song_audio.cols());
    ws.g.noalias() = h * view(L, p, "song_audio").transpose();
    logits(h, Os, song_bias, &ws.g, song_audio.data() + sh.s0 * song_audio.cols(), song_audio.cols(), ws.zs, pool);
  } else {
    logits<T>(h, Os, song_bias, nullptr, nullptr, 0, ws.zs, pool);
  }
  logits<T>(h, Ot, tag_bias, nullptr, nullptr, 0, ws.zt, pool);
  if (d.neighbours > 0) {
    MELON_ASSERT(nbr && nbr->k == d.neighbours && static_cast<std::int64_t>(nbr->ptr.size()) == d.n_songs + 1,
                 "the model has an item-to-item term but no matching neighbours were given");
    const auto& gt = L.get("song_nbr");
    const T* g = p + gt.offset;
    ws.nbr.resize(static_cast<std::size_t>(B));
    pool.run(ch.count(), [&](std::int64_t c) {
      std::vector<float> scratch(static_cast<std::size_t>(sh.s1 - sh.s0), 0.0f);
      std::vector<std::int32_t> shown, own;
      for (auto i = ch.begin(c); i < ch.begin(c) + ch.len(c); ++i) {
        shown.clear();
        for (auto k = b.in_ptr[i]; k < b.in_ptr[i + 1]; ++k)
          if (b.in_idx[k] < d.n_songs) shown.push_back(b.in_idx[k]);
        auto& f = ws.nbr[static_cast<std::size_t>(i)];
        const auto n_shown = static_cast<std::int64_t>(shown.size());
        if (b.own_out) {
          // The playlist's songs: the shown ones and the targets (which are
          // the hidden ones, or all of them).
          own.assign(shown.begin(), shown.end());
          own.insert(own.end(), b.song_idx.begin() + b.song_ptr[i], b.song_idx.begin() + b.song_ptr[i + 1]);
          std::sort(own.begin(), own.end());
          own.erase(std::unique(own.begin(), own.end()), own.end());
          neighbour_features_own_out(*nbr, shown.data(), n_shown, own, sh.s0, sh.s1, scratch, f);
        } else {
          neighbour_features(*nbr, shown.data(), n_shown, sh.s0, sh.s1, scratch, f);
        }
        for (auto [col, v] : f) ws.zs(i, col) += g[sh.s0 + col] * static_cast<T>(v);
      }
    });
  }
}

}  // namespace

Shard make_shard(const Dims& d, MPI_Comm comm, int rank, int ranks) {
  Shard sh;
  sh.comm = comm;
  sh.root = rank == 0;
  const auto in = mpi::block_range(d.n_inputs(), rank, ranks), s = mpi::block_range(d.n_songs, rank, ranks),
             t = mpi::block_range(d.n_tags, rank, ranks);
  sh.in0 = in.begin, sh.in1 = in.end, sh.s0 = s.begin, sh.s1 = s.end, sh.t0 = t.begin, sh.t1 = t.end;
  return sh;
}

bool is_sharded(const Tensor& t) {
  return t.name == "input" || t.name == "song_out" || t.name == "tag_out" || t.name == "song_bias" ||
         t.name == "tag_bias" || t.name == "song_nbr";
}

std::pair<std::int64_t, std::int64_t> shard_part(const Tensor& t, const Shard& sh) {
  if (!is_sharded(t)) return {t.offset, t.offset + t.size()};
  const bool song = t.name == "song_out" || t.name == "song_bias" || t.name == "song_nbr";
  const auto [v0, v1] = t.name == "input" ? std::pair{sh.in0, sh.in1}
                        : song            ? std::pair{sh.s0, sh.s1}
                                          : std::pair{sh.t0, sh.t1};
  const bool bias = t.name == "song_bias" || t.name == "tag_bias" || t.name == "song_nbr";  // one entry per item
  const std::int64_t width = bias ? 1 : t.cols;
  return {t.offset + v0 * width, t.offset + v1 * width};
}

std::vector<std::pair<std::int64_t, std::int64_t>> shard_spans(const Layout& L, const Shard& sh) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& t : L.tensors) out.push_back(shard_part(t, sh));
  return out;
}

template <class T>
void forward(const Layout& L, const T* p, const Mat<T>& song_audio, const Batch& b, Workspace<T>& ws,
             util::ThreadPool& pool, const Neighbours* nbr) {
  forward_sharded(L, p, song_audio, b, ws, pool, whole(L.dims), nullptr, nbr);
}

template <class T>
LossSums loss_only(const Layout& L, const T* p, const Mat<T>& song_audio, const Batch& b, Workspace<T>& ws,
                   util::ThreadPool& pool, const Neighbours* nbr) {
  forward(L, p, song_audio, b, ws, pool, nbr);
  LossSums s;
  const auto& d = L.dims;
  std::tie(s.song, s.n_song) = group_loss(ws.zs, 0, d.n_songs, b.song_ptr, b.song_idx, 1, 1, false, pool,
                                          static_cast<const Shard*>(nullptr));
  std::tie(s.tag, s.n_tag) = group_loss(ws.zt, 0, d.n_tags, b.tag_ptr, b.tag_idx, 1, 1, false, pool,
                                        static_cast<const Shard*>(nullptr));
  return s;
}

template <class T>
LossSums forward_backward(const Layout& L, const T* p, const Mat<T>& song_audio, const Batch& b, const LossWeights& lw,
                          double scale, Grad<T>& grad, Workspace<T>& ws, util::ThreadPool& pool, const Shard* shard,
                          const Neighbours* nbr) {
  const auto& d = L.dims;
  const std::int64_t B = b.size;
  const Shard sh = shard ? *shard : whole(d);
  const Shard* comm = shard && shard->comm != MPI_COMM_NULL ? shard : nullptr;
  forward_sharded(L, p, song_audio, b, ws, pool, sh, comm, nbr);
  LossSums s;
  std::tie(s.song, s.n_song) = group_loss(ws.zs, sh.s0, d.n_songs, b.song_ptr, b.song_idx, lw.song, scale, true, pool,
                                          comm);
  std::tie(s.tag, s.n_tag) = group_loss(ws.zt, sh.t0, d.n_tags, b.tag_ptr, b.tag_idx, lw.tag, scale, true, pool, comm);

  // Every tensor's gradient that this shard owns is assigned in full below;
  // the alignment gaps between tensors (and other shards' rows) are never
  // written, and they stay zero from the first resize.
  grad.dense.resize(static_cast<std::size_t>(L.total - L.sparse_end), T(0));
  const Mat<T>& h = ws.h.back();
  const std::int64_t H = h.cols();

  // Output layers: dO = dZᵀ·h and the bias sums, by vocabulary chunks of the shard's rows.
  auto out_grads = [&](const Mat<T>& dz, const std::string& out, const std::string& bias, std::int64_t v0) {
    auto dO = gview(L, grad, out);
    auto db = gview(L, grad, bias);
    util::Chunks ch{dz.cols(), kVocabChunk};
    pool.run(ch.count(), [&](std::int64_t c) {
      const auto c0 = ch.begin(c), n = ch.len(c);
      util::gemm(true, false, n, H, B, T(1), dz.data() + c0, dz.cols(), h.data(), H, T(0), dO.data() + (v0 + c0) * H,
                 H);
      column_sums(dz.middleCols(c0, n), db.middleCols(v0 + c0, n));
    });
  };
  out_grads(ws.zs, "song_out", "song_bias", sh.s0);
  out_grads(ws.zt, "tag_out", "tag_bias", sh.t0);
  if (d.neighbours > 0) {
    // dg_j = Σ_examples dz_j · f_j, in batch order (reproducible).
    auto dg = gview(L, grad, "song_nbr").middleCols(sh.s0, sh.s1 - sh.s0);
    dg.setZero();
    for (std::int64_t i = 0; i < B; ++i)
      for (auto [col, v] : ws.nbr[static_cast<std::size_t>(i)]) dg(0, col) += ws.zs(i, col) * static_cast<T>(v);
  }

  // dh = dZs·Os + dZt·Ot (+ dG·P), by column chunks of h so each task packs
  // only its slice of the big output matrix. A shard's ranks sum their
  // partial dh and dG: from there on every rank holds the whole gradient.
  const auto Os = out_rows(L, p, "song_out", sh.s0, sh.s1), Ot = out_rows(L, p, "tag_out", sh.t0, sh.t1);
  Mat<T> dg;
  if (d.audio_dim > 0) {
    dg.resize(B, d.audio_dim + 1);
    const auto S = song_audio.middleRows(sh.s0, sh.s1 - sh.s0);
    util::Chunks rc{B, 4 * kRowChunk};
    pool.run(rc.count(), [&](std::int64_t c) {
      dg.middleRows(rc.begin(c), rc.len(c)).noalias() = ws.zs.middleRows(rc.begin(c), rc.len(c)) * S;
    });
    shard_reduce(comm, dg.data(), dg.size(), false);
    gview(L, grad, "song_audio").noalias() = dg.transpose() * h;
  }
  ws.dh.resize(B, H);
  util::Chunks hc{H, 128};
  pool.run(hc.count(), [&](std::int64_t c) {
    const auto c0 = hc.begin(c), n = hc.len(c);
    util::gemm(false, false, B, n, ws.zs.cols(), T(1), ws.zs.data(), ws.zs.cols(), Os.data() + c0, H, T(0),
               ws.dh.data() + c0, H);
    util::gemm(false, false, B, n, ws.zt.cols(), T(1), ws.zt.data(), ws.zt.cols(), Ot.data() + c0, H, T(1),
               ws.dh.data() + c0, H);
  });
  shard_reduce(comm, ws.dh.data(), ws.dh.size(), false);
  if (d.audio_dim > 0) ws.dh.noalias() += dg * view(L, p, "song_audio");

  // Hidden layers, top down.
  for (std::size_t l = d.hidden.size() - 1; l >= 1; --l) {
    const auto name = "hidden" + std::to_string(l);
    ws.da = ws.dh.array() * (T(1) - ws.h[l].array().square());
    gview(L, grad, name).noalias() = ws.h[l - 1].transpose() * ws.da;
    column_sums(ws.da, gview(L, grad, name + "_bias"));
    ws.dh.noalias() = ws.da * view(L, p, name).transpose();
  }
  ws.da = ws.dh.array() * (T(1) - ws.h[0].array().square());
  column_sums(ws.da, gview(L, grad, "input_bias"));
  if (d.audio_dim > 0) gview(L, grad, "input_audio").noalias() = audio_matrix<T>(b, d.audio_dim).transpose() * ws.da;

  // Input embedding: one gradient row per touched input row of the shard,
  // summed over the examples in batch order (a fixed order: reproducible,
  // thread-independent).
  std::vector<std::int64_t> order;
  for (std::int64_t k = 0; k < b.in_ptr.back(); ++k)
    if (b.in_idx[k] >= sh.in0 && b.in_idx[k] < sh.in1) order.push_back(k);
  const auto nnz = static_cast<std::int64_t>(order.size());
  std::stable_sort(order.begin(), order.end(), [&](auto x, auto y) { return b.in_idx[x] < b.in_idx[y]; });
  std::vector<std::int32_t> example(b.in_idx.size());
  for (std::int64_t i = 0; i < B; ++i)
    for (auto k = b.in_ptr[i]; k < b.in_ptr[i + 1]; ++k) example[k] = static_cast<std::int32_t>(i);
  std::vector<std::int64_t> start;  // into order: where each distinct row begins
  grad.rows.clear();
  for (std::int64_t k = 0; k < nnz; ++k) {
    if (k == 0 || b.in_idx[order[k]] != b.in_idx[order[k - 1]]) {
      start.push_back(k);
      grad.rows.push_back(b.in_idx[order[k]]);
    }
  }
  start.push_back(nnz);
  const int h0 = d.hidden.front();
  grad.row_grad.assign(grad.rows.size() * h0, T(0));
  MMap<T> rg(grad.row_grad.data(), static_cast<std::int64_t>(grad.rows.size()), h0);
  util::Chunks rch{static_cast<std::int64_t>(grad.rows.size()), 64};
  pool.run(rch.count(), [&](std::int64_t c) {
    for (auto r = rch.begin(c); r < rch.begin(c) + rch.len(c); ++r)
      for (auto k = start[r]; k < start[r + 1]; ++k)
        rg.row(r) += static_cast<T>(b.in_w[order[k]]) * ws.da.row(example[order[k]]);
  });
  return s;
}

template void forward<float>(const Layout&, const float*, const Mat<float>&, const Batch&, Workspace<float>&,
                             util::ThreadPool&, const Neighbours*);
template void forward<double>(const Layout&, const double*, const Mat<double>&, const Batch&, Workspace<double>&,
                              util::ThreadPool&, const Neighbours*);
template LossSums loss_only<float>(const Layout&, const float*, const Mat<float>&, const Batch&, Workspace<float>&,
                                   util::ThreadPool&, const Neighbours*);
template LossSums loss_only<double>(const Layout&, const double*, const Mat<double>&, const Batch&, Workspace<double>&,
                                    util::ThreadPool&, const Neighbours*);
template LossSums forward_backward<float>(const Layout&, const float*, const Mat<float>&, const Batch&,
                                          const LossWeights&, double, Grad<float>&, Workspace<float>&,
                                          util::ThreadPool&, const Shard*, const Neighbours*);
template LossSums forward_backward<double>(const Layout&, const double*, const Mat<double>&, const Batch&,
                                           const LossWeights&, double, Grad<double>&, Workspace<double>&,
                                           util::ThreadPool&, const Shard*, const Neighbours*);

}  // namespace melon::ae

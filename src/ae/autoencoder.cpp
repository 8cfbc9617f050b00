// Eigen's AVX-512 helpers trip GCC 12's uninitialised-variable false positives at -O1.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "melon/ae/autoencoder.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "melon/error.hpp"
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
  L.total = (L.total + 15) / 16 * 16;
  return L;
}

std::vector<float> init_params(const Layout& L, std::uint64_t seed) {
  std::vector<float> p(static_cast<std::size_t>(L.total), 0.0f);
  for (std::size_t k = 0; k < L.tensors.size(); ++k) {
    const auto& t = L.tensors[k];
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

// logits = h·Wᵀ + bias (+ g·Sᵀ), chunked over the vocabulary.
template <class T>
void logits(const Mat<T>& h, const CMap<T>& w, const CMap<T>& bias, const Mat<T>* g, const Mat<T>* s, Mat<T>& z,
            util::ThreadPool& pool) {
  z.resize(h.rows(), w.rows());
  util::Chunks ch{w.rows(), kVocabChunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    const auto c0 = ch.begin(c), n = ch.len(c);
    const std::int64_t B = h.rows(), H = h.cols(), V = z.cols();
    util::gemm(false, true, B, n, H, T(1), h.data(), H, w.data() + c0 * H, H, T(0), z.data() + c0, V);
    if (g)
      util::gemm(false, true, B, n, g->cols(), T(1), g->data(), g->cols(), s->data() + c0 * s->cols(), s->cols(), T(1),
                 z.data() + c0, V);
    z.middleCols(c0, n).rowwise() += bias.middleCols(c0, n).row(0);
  });
}

// Multinomial log-likelihood of one output group. Returns Σ loss over rows
// with targets; when grad, replaces z by d(weight·scale·loss)/dz.
template <class T>
std::pair<double, std::int64_t> group_loss(Mat<T>& z, const std::vector<std::int64_t>& ptr,
                                           const std::vector<std::int32_t>& idx, double weight, double scale, bool grad,
                                           util::ThreadPool& pool) {
  const std::int64_t B = z.rows();
  std::vector<double> loss(static_cast<std::size_t>(B), 0.0);
  std::vector<char> has(static_cast<std::size_t>(B), 0);
  util::Chunks ch{B, kRowChunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    for (auto i = ch.begin(c); i < ch.begin(c) + ch.len(c); ++i) {
      auto row = z.row(i);
      const auto n = ptr[i + 1] - ptr[i];
      if (n == 0 || z.cols() == 0) {
        if (grad) row.setZero();
        continue;
      }
      double tsum = 0;
      for (auto k = ptr[i]; k < ptr[i + 1]; ++k) tsum += static_cast<double>(row(idx[k]));
      const T m = row.maxCoeff();
      double sum = 0;
      if (grad) {
        row = (row.array() - m).exp();
        sum = static_cast<double>(row.sum());
        const T a = static_cast<T>(weight * scale / sum), t = static_cast<T>(weight * scale / n);
        row *= a;
        for (auto k = ptr[i]; k < ptr[i + 1]; ++k) row(idx[k]) -= t;
      } else {
        sum = static_cast<double>((row.array() - m).exp().sum());
      }
      const double lse = static_cast<double>(m) + std::log(sum);
      loss[i] = lse - tsum / n;
      has[i] = 1;
    }
  });
  double total = 0;
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < B; ++i) {
    total += loss[i];
    count += has[i];
  }
  return {total, count};
}

}  // namespace

template <class T>
void forward(const Layout& L, const T* p, const Mat<T>& song_audio, const Batch& b, Workspace<T>& ws,
             util::ThreadPool& pool) {
  const auto& d = L.dims;
  const std::int64_t B = b.size;
  const int h0 = d.hidden.front();
  ws.h.resize(d.hidden.size());
  auto E = view(L, p, "input");
  auto b0 = view(L, p, "input_bias");
  Mat<T>& a0 = ws.h[0];
  a0.resize(B, h0);
  // The sparse input layer: a gather-sum of the active rows, never a dense product.
  util::Chunks ch{B, kRowChunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    for (auto i = ch.begin(c); i < ch.begin(c) + ch.len(c); ++i) {
      auto row = a0.row(i);
      row = b0.row(0);
      for (auto k = b.in_ptr[i]; k < b.in_ptr[i + 1]; ++k) row += static_cast<T>(b.in_w[k]) * E.row(b.in_idx[k]);
    }
  });
  if (d.audio_dim > 0) a0.noalias() += audio_matrix<T>(b, d.audio_dim) * view(L, p, "input_audio");
  tanh_rows(a0, pool);
  for (std::size_t l = 1; l < d.hidden.size(); ++l) {
    const auto name = "hidden" + std::to_string(l);
    ws.h[l].noalias() = ws.h[l - 1] * view(L, p, name);
    ws.h[l].rowwise() += view(L, p, name + "_bias").row(0);
    tanh_rows(ws.h[l], pool);
  }
  const Mat<T>& h = ws.h.back();
  if (d.audio_dim > 0) {
    MELON_ASSERT(song_audio.rows() == d.n_songs && song_audio.cols() == d.audio_dim + 1,
                 "song audio matrix " << song_audio.rows() << "x" << song_audio.cols());
    ws.g.noalias() = h * view(L, p, "song_audio").transpose();
    logits(h, view(L, p, "song_out"), view(L, p, "song_bias"), &ws.g, &song_audio, ws.zs, pool);
  } else {
    logits<T>(h, view(L, p, "song_out"), view(L, p, "song_bias"), nullptr, nullptr, ws.zs, pool);
  }
  logits<T>(h, view(L, p, "tag_out"), view(L, p, "tag_bias"), nullptr, nullptr, ws.zt, pool);
}

template <class T>
LossSums loss_only(const Layout& L, const T* p, const Mat<T>& song_audio, const Batch& b, Workspace<T>& ws,
                   util::ThreadPool& pool) {
  forward(L, p, song_audio, b, ws, pool);
  LossSums s;
  std::tie(s.song, s.n_song) = group_loss(ws.zs, b.song_ptr, b.song_idx, 1, 1, false, pool);
  std::tie(s.tag, s.n_tag) = group_loss(ws.zt, b.tag_ptr, b.tag_idx, 1, 1, false, pool);
  return s;
}

template <class T>
LossSums forward_backward(const Layout& L, const T* p, const Mat<T>& song_audio, const Batch& b, const LossWeights& lw,
                          double scale, Grad<T>& grad, Workspace<T>& ws, util::ThreadPool& pool) {
  const auto& d = L.dims;
  const std::int64_t B = b.size;
  forward(L, p, song_audio, b, ws, pool);
  LossSums s;
  std::tie(s.song, s.n_song) = group_loss(ws.zs, b.song_ptr, b.song_idx, lw.song, scale, true, pool);
  std::tie(s.tag, s.n_tag) = group_loss(ws.zt, b.tag_ptr, b.tag_idx, lw.tag, scale, true, pool);

  // Every tensor's gradient is assigned in full below; only the alignment gaps
  // between tensors are never written, and they stay zero from the first resize.
  grad.dense.resize(static_cast<std::size_t>(L.total - L.sparse_end), T(0));
  const Mat<T>& h = ws.h.back();
  const std::int64_t H = h.cols();

  // Output layers: dO = dZᵀ·h and the bias sums, by vocabulary chunks.
  auto out_grads = [&](const Mat<T>& dz, const std::string& out, const std::string& bias) {
    auto dO = gview(L, grad, out);
    auto db = gview(L, grad, bias);
    util::Chunks ch{dO.rows(), kVocabChunk};
    pool.run(ch.count(), [&](std::int64_t c) {
      const auto c0 = ch.begin(c), n = ch.len(c);
      util::gemm(true, false, n, H, B, T(1), dz.data() + c0, dz.cols(), h.data(), H, T(0), dO.data() + c0 * H, H);
      column_sums(dz.middleCols(c0, n), db.middleCols(c0, n));
    });
  };
  out_grads(ws.zs, "song_out", "song_bias");
  out_grads(ws.zt, "tag_out", "tag_bias");

  // dh = dZs·Os + dZt·Ot (+ dG·P), by column chunks of h so each task packs
  // only its slice of the big output matrix.
  auto Os = view(L, p, "song_out");
  auto Ot = view(L, p, "tag_out");
  Mat<T> dg;
  if (d.audio_dim > 0) {
    dg.resize(B, d.audio_dim + 1);
    util::Chunks rc{B, 4 * kRowChunk};
    pool.run(rc.count(), [&](std::int64_t c) {
      dg.middleRows(rc.begin(c), rc.len(c)).noalias() = ws.zs.middleRows(rc.begin(c), rc.len(c)) * song_audio;
    });
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

  // Input embedding: one gradient row per touched input row, summed over the
  // examples in batch order (a fixed order: reproducible, thread-independent).
  const std::int64_t nnz = b.in_ptr.back();
  std::vector<std::int64_t> order(static_cast<std::size_t>(nnz));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto x, auto y) { return b.in_idx[x] < b.in_idx[y]; });
  std::vector<std::int32_t> example(static_cast<std::size_t>(nnz));
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
                             util::ThreadPool&);
template void forward<double>(const Layout&, const double*, const Mat<double>&, const Batch&, Workspace<double>&,
                              util::ThreadPool&);
template LossSums loss_only<float>(const Layout&, const float*, const Mat<float>&, const Batch&, Workspace<float>&,
                                   util::ThreadPool&);
template LossSums loss_only<double>(const Layout&, const double*, const Mat<double>&, const Batch&, Workspace<double>&,
                                    util::ThreadPool&);
template LossSums forward_backward<float>(const Layout&, const float*, const Mat<float>&, const Batch&,
                                          const LossWeights&, double, Grad<float>&, Workspace<float>&,
                                          util::ThreadPool&);
template LossSums forward_backward<double>(const Layout&, const double*, const Mat<double>&, const Batch&,
                                           const LossWeights&, double, Grad<double>&, Workspace<double>&,
                                           util::ThreadPool&);

}  // namespace melon::ae

// EASE (Steck, "Embarrassingly Shallow Autoencoders", WWW 2019): the item-item
// weights minimising ||X - XB||^2 + lambda ||B||^2 with diag(B) = 0, in closed
// form B = I - P diag(P)^-1, P = (X^T X + lambda I)^-1. On music data it beat
// Mult-VAE (arena.md). The Gram matrix is dense in the columns, so the columns
// are capped: the most frequent songs and tags, plus title tokens that only
// feed the input side (their output columns are dropped), so title-only
// questions have something to start from.
// Eigen's AVX-512 helpers trip GCC 12's uninitialised-variable false positives (as in ae/candidates.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/gemm.hpp"
#include "melon/util/log.hpp"
#include "reference_models.hpp"

namespace melon::recommend {
namespace ease {
namespace {

// The `want` most frequent items of [begin, end) (count desc, then id), count > 0.
std::vector<std::int32_t> most_frequent(const Corpus& c, std::size_t begin, std::size_t end, std::int64_t want) {
  std::vector<std::int32_t> v;
  for (auto i = begin; i < end; ++i)
    if (c.count(static_cast<std::int32_t>(i)) > 0) v.push_back(static_cast<std::int32_t>(i));
  const auto n = std::min<std::size_t>(v.size(), static_cast<std::size_t>(std::max<std::int64_t>(want, 0)));
  std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(),
                    [&](auto a, auto b) { return c.count(a) != c.count(b) ? c.count(a) > c.count(b) : a < b; });
  v.resize(n);
  return v;
}

}  // namespace

Columns choose_columns(const Corpus& c, const ReferenceOptions& opt) {
  Columns cols;
  const auto tag0 = c.n_songs, tok0 = c.n_songs + c.tags.size();
  // Order matters: songs, then tags, then tokens, so the output columns
  // (songs and tags) are a prefix.
  for (auto part : {most_frequent(c, 0, tag0, opt.ease_songs), most_frequent(c, tag0, tok0, opt.ease_tags),
                    most_frequent(c, tok0, c.n_items(), opt.ease_tokens)})
    cols.items.insert(cols.items.end(), part.begin(), part.end());
  cols.column_of.assign(c.n_items(), -1);
  for (std::size_t j = 0; j < cols.items.size(); ++j) cols.column_of[cols.items[j]] = static_cast<std::int32_t>(j);
  return cols;
}

Eigen::MatrixXd gram(const Corpus& c, const Columns& cols) {
  const auto n = static_cast<Eigen::Index>(cols.items.size());
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
  // Each rank counts its block of playlists; the counts are integers, so the
  // allreduce'd sum is exact and the same for any rank count.
  const auto mine = mpi::block_range(static_cast<std::int64_t>(c.n_playlists()), mpi::rank(mpi::world()),
                                     mpi::size(mpi::world()));
  std::vector<std::int32_t> row;
  for (auto p = mine.begin; p < mine.end; ++p) {
    row.clear();
    for (auto k = c.offsets[p]; k < c.offsets[p + 1]; ++k)
      if (auto j = cols.column_of[c.items[k]]; j >= 0) row.push_back(j);
    for (auto a : row)
      for (auto b : row) g(a, b) += 1.0;
  }
  mpi::allreduce_sum(mpi::world(), g.data(), static_cast<std::size_t>(g.size()));
  return g;
}

Eigen::MatrixXd weights(Eigen::MatrixXd g, double lambda) {
  MELON_CHECK(std::isfinite(lambda) && lambda > 0, "ease: lambda must be positive (got " << lambda << ")");
  const auto n = g.rows();
  g.diagonal().array() += lambda;
  // In place: P overwrites g, B overwrites P.
  // X^T X is positive semi-definite, so with lambda > 0 this fails only on
  // NaN input or a matrix too ill-conditioned for doubles.
  MELON_CHECK(util::spd_inverse(g.data(), n), "ease: Cholesky of X^T X + lambda I failed (lambda " << lambda << ")");
  for (Eigen::Index j = 0; j < n; ++j) {
    const double d = g(j, j);
    g.col(j) /= -d;
    g(j, j) = 0.0;
  }
  return g;
}

}  // namespace ease

namespace {

class Ease : public Reference {
 public:
  explicit Ease(const Fitted& f) : cols_(f.columns), n_out_(f.n_out), w_(f.weights) {
    std::int32_t top = -1;
    for (auto i : cols_) top = std::max(top, i);
    column_of_.assign(static_cast<std::size_t>(top + 1), -1);
    for (std::size_t j = 0; j < cols_.size(); ++j) column_of_[cols_[j]] = static_cast<std::int32_t>(j);
  }

  void score(const Corpus&, const Query& q, Workspace& ws) const override {
    for (auto& [item, w] : q) {
      if (item < 0 || static_cast<std::size_t>(item) >= column_of_.size()) continue;
      const auto i = column_of_[item];
      if (i < 0) continue;
      const float* row = w_.data() + static_cast<std::size_t>(i) * n_out_;
      for (std::size_t j = 0; j < n_out_; ++j) ws.add_item(cols_[j], w * row[j]);
    }
  }

 private:
  std::vector<std::int32_t> cols_;
  std::size_t n_out_;
  std::vector<float> w_;                 // columns x n_out_, row-major: row i = what input i says of each output
  std::vector<std::int32_t> column_of_;  // corpus item -> column, -1 outside
};

}  // namespace

std::vector<Fitted> fit_ease_lambdas(const Corpus& c, const std::vector<ReferenceOptions>& opts) {
  MELON_ASSERT(!opts.empty(), "fit_ease_lambdas: no options");
  const auto& opt = opts.front();
  MELON_CHECK(opt.ease_songs >= 0 && opt.ease_tags >= 0 && opt.ease_tokens >= 0,
              "ease: --ease-songs, --ease-tags and --ease-tokens must not be negative");
  for (const auto& o : opts) {
    MELON_CHECK(std::isfinite(o.ease_lambda) && o.ease_lambda > 0,
                "ease: --ease-lambda must be positive (got " << o.ease_lambda << ")");
    MELON_ASSERT(o.ease_songs == opt.ease_songs && o.ease_tags == opt.ease_tags && o.ease_tokens == opt.ease_tokens,
                 "fit_ease_lambdas: the options may differ in lambda only");
  }
  auto cols = ease::choose_columns(c, opt);
  std::size_t n_out = 0;
  while (n_out < cols.items.size() && !c.is_token(cols.items[n_out])) ++n_out;
  const auto n = cols.items.size();
  MELON_CHECK(n > 0, "ease: the training data has no items");
  const int rank = mpi::rank(mpi::world()), ranks = mpi::size(mpi::world());
  if (rank == 0) {
    std::string lambdas;
    for (const auto& o : opts) lambdas += (lambdas.empty() ? "" : ", ") + std::to_string(o.ease_lambda);
    const auto& backend = util::gemm_backend();
    log::info("ease: " + std::to_string(n) + " columns (" + std::to_string(n_out) + " songs and tags), lambda " +
              lambdas + "; solved by " + (backend.backend == util::GemmBackend::OpenBlas ? "LAPACK in " : "") +
              backend.describe);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto g = ease::gram(c, cols);
  const auto t1 = std::chrono::steady_clock::now();
  // The solve is the costly step: rank k % ranks solves the k-th lambda, so
  // a grid costs ceil(grid / ranks) solves of wall time, and broadcasts it:
  // every rank then scores with exactly the same weights.
  // In floats, as the weights are kept: half the memory a solved lambda
  // holds until its broadcast, and half the bytes broadcast.
  std::vector<std::vector<float>> flat(opts.size());
  // Collective: on a failed solve the other ranks would otherwise wait in bcast forever.
  mpi::collective(mpi::world(), [&] {
    for (std::size_t k = static_cast<std::size_t>(rank); k < opts.size(); k += static_cast<std::size_t>(ranks)) {
      const auto b = ease::weights(g, opts[k].ease_lambda);
      flat[k].resize(n * n_out);
      // b is column-major, flat row-major: copied in tiles, as an element-wise
      // copy strides one of the two by a whole column for every number.
      constexpr std::size_t kTile = 64;
      for (std::size_t i0 = 0; i0 < n; i0 += kTile)
        for (std::size_t j0 = 0; j0 < n_out; j0 += kTile)
          for (std::size_t j = j0; j < std::min(j0 + kTile, n_out); ++j)
            for (std::size_t i = i0; i < std::min(i0 + kTile, n); ++i)
              flat[k][i * n_out + j] = static_cast<float>(
                  b(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
    }
  });
  std::vector<Fitted> out(opts.size());
  for (std::size_t k = 0; k < opts.size(); ++k) {
    if (ranks > 1) mpi::bcast(mpi::world(), flat[k], static_cast<int>(k % static_cast<std::size_t>(ranks)));
    out[k].method = ReferenceMethod::Ease;
    out[k].opt = opts[k];
    out[k].columns = cols.items;
    out[k].n_out = n_out;
    out[k].weights = std::move(flat[k]);
  }
  if (rank == 0) {
    const auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    char b[160];
    std::snprintf(b, sizeof b, "ease: weights solved (Gram matrix %.1f s, inverses and broadcast %.1f s)",
                  seconds(t0, t1), seconds(t1, std::chrono::steady_clock::now()));
    log::info(b);
  }
  return out;
}

void fit_ease(const Corpus& c, Fitted& f) { f = std::move(fit_ease_lambdas(c, {f.opt}).front()); }

std::unique_ptr<Reference> make_ease(const Fitted& f) {
  MELON_CHECK(f.weights.size() == f.columns.size() * f.n_out && f.n_out <= f.columns.size(),
              "ease: fitted weights are " << f.weights.size() << " numbers for " << f.columns.size() << " columns x "
                                          << f.n_out << " outputs");
  return std::make_unique<Ease>(f);
}

}  // namespace melon::recommend

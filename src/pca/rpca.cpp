// GCC 12's AVX-512 intrinsic headers trip -Wuninitialized inside Eigen's
// packet transposes (GCC bug 105593): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "melon/pca/rpca.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/pca/cholqr.hpp"
#include "melon/pca/kernels.hpp"
#include "melon/pca/state.hpp"
#include "melon/util/bytes.hpp"
#include "melon/util/log.hpp"
#include "melon/util/memory.hpp"
#include "melon/util/rng.hpp"
#include "passes.hpp"

namespace melon::pca {
namespace {

constexpr std::uint64_t kOmegaStream = 0x4f4d454741ull;  // "OMEGA"
constexpr std::uint64_t kPsiStream = 0x505349ull;        // "PSI"

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// N(0,1) values from one stream, two per Box-Muller pair (half the log/sqrt
// calls of one-at-a-time). Deterministic: a function of the stream alone.
void fill_normals(Rng& rng, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; i += 2) {
    double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();  // u1 in (0, 1]
    double r = std::sqrt(-2.0 * std::log(u1)), a = 6.283185307179586 * u2;
    out[i] = static_cast<float>(r * std::cos(a));
    if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(a));
  }
}

// Psi's column for the row of song `key` (s values): a function of (seed, key)
// alone, so of no rank count or block.
void psi_row(std::uint64_t seed, std::int64_t key, int s, float* out) {
  Rng rng(mix_seed(seed, kPsiStream, static_cast<std::uint64_t>(key)));
  fill_normals(rng, out, s);
}

enum class Kind { Scan, Sketch, Z, Y, B };

// Krylov keeps the blocks of a multi-pass run; with q = 0 there is only Q_0,
// and its basis is the power method's.
bool keeps_blocks(const Options& o) { return o.method == Method::Krylov && !o.single_pass && o.power_iters > 0; }

Kind kind_of(const Options& o, int pass) {
  if (o.single_pass) return Kind::Sketch;
  if (pass == 0) return Kind::Scan;
  if (pass == 2 * o.power_iters + 1) return Kind::B;
  return pass % 2 == 1 ? Kind::Z : Kind::Y;
}

std::string iteration(const Options& o, int i) {
  return (keeps_blocks(o) ? "Krylov block " : "power iteration ") + std::to_string(i) + "/" +
         std::to_string(o.power_iters);
}

std::string pass_label(const Options& o, int pass) {
  return "pass " + std::to_string(pass + 1) + "/" + std::to_string(pass_count(o)) + " (" + pass_name(o, pass) + ")";
}

// What every pass of one run reads and never changes.
struct Run {
  const RowSource& src;
  const Options& opt;
  MPI_Comm comm;
  int D;                    // feature dimension
  int l0;                   // sketch columns asked for: k + p, capped by D
  int s_width;              // single-pass: Psi's rows (2 l0 + 1); 0 otherwise
  std::int64_t cand_total;  // candidate rows, all ranks
  util::ThreadPool& pool;
  Streamer& stream;
  const Eigen::MatrixXf& omega;  // D x l0
  const PackedColumns& omega_packed;
};

// Checks the settings against the data; returns D and the candidate count of all ranks.
std::pair<int, std::int64_t> check_inputs(const RowSource& src, const Options& opt) {
  MPI_Comm comm = opt.comm;
  const int nranks = mpi::size(comm);
  MELON_CHECK(opt.components >= 1, "pca: --components must be >= 1, got " << opt.components);
  MELON_CHECK(opt.oversample >= 0, "pca: --oversample must be >= 0, got " << opt.oversample);
  MELON_CHECK(opt.power_iters >= 0, "pca: --power-iters must be >= 0, got " << opt.power_iters);
  MELON_CHECK(opt.block >= 1, "pca: --block must be >= 1, got " << opt.block);
  MELON_CHECK(opt.threads >= 1 && opt.threads <= 256, "pca: --threads must be 1..256, got " << opt.threads);
  MELON_CHECK(std::isfinite(opt.tol) && opt.tol >= 0 && opt.tol < 1,
              "pca: --tol must be in [0, 1) (0 = a fixed number of passes), got " << opt.tol);
  MELON_CHECK(opt.tol == 0 || (!opt.single_pass && opt.method == Method::Power),
              "pca: --tol needs the multi-pass power method: "
                  << (opt.single_pass ? "--single-pass on makes one pass only"
                                      : "--method krylov would need one more pass to stop early (its last pass "
                                        "reads the data against every block)"));
  const int D = src.dim();
  {
    std::int64_t dmax = static_cast<std::int64_t>(mpi::allreduce_max(comm, static_cast<double>(D)));
    std::int64_t dsum = mpi::allreduce_sum(comm, static_cast<std::int64_t>(D));
    MELON_ASSERT(dsum == dmax * nranks, "ranks disagree on the feature dimension");
  }
  MELON_CHECK(D >= 1, "pca: feature rows are empty");
  MELON_CHECK(opt.components <= D, "pca: k = " << opt.components << " components exceed the feature dimension D = " << D
                                               << " (k must be <= min(songs, D))");
  const std::int64_t cand_total = mpi::allreduce_sum(comm, src.size());
  MELON_CHECK(cand_total > 0, "pca: no readable rows: no rank has any song to read (all missing?)");
  // Checked again after the first pass against the songs actually read; this
  // catches the obvious case before reading anything.
  MELON_CHECK(opt.components <= cand_total, "pca: k = " << opt.components << " components exceed the " << cand_total
                                                        << " songs given (k must be <= min(songs, D = " << D << "))");
  return {D, cand_total};
}

// The settings a checkpoint must match: the caller's (input, songs, features) and the algorithm's.
std::string run_fingerprint(const Options& opt, int nranks, int D, std::int64_t cand_total) {
  std::ostringstream fp;
  fp << opt.fingerprint << "k=" << opt.components << "\noversample=" << opt.oversample
     << "\npower_iters=" << opt.power_iters << "\nseed=" << opt.seed
     << "\nmode=" << (opt.single_pass ? "single-pass" : "multi-pass")
     << "\nmethod=" << (opt.single_pass ? "none" : method_name(opt.method)) << "\nblock=" << opt.block
     << "\ntol=" << opt.tol << "\nthreads=" << opt.threads << "\nranks=" << nranks << "\ndim=" << D
     << "\ncandidates=" << cand_total << "\n";
  return fp.str();
}

// The state to start from: the last checkpoint with --resume, else a fresh
// one (pass -1), clearing an old run's files.
State start_state(const Options& opt, const std::string& fingerprint, int n_passes, bool talk) {
  State w;
  if (opt.state_dir.empty()) return w;
  if (!opt.resume) {
    remove_state(opt.comm, opt.state_dir);  // a fresh run never mixes with an old one's files
    return w;
  }
  auto cp = load_checkpoint(opt.comm, opt.state_dir, fingerprint);
  if (cp) {
    w = std::move(*cp);
    if (talk)
      log::info("pca: resuming after pass " + std::to_string(w.pass + 1) + "/" + std::to_string(n_passes) + " from " +
                opt.state_dir);
  } else if (talk) {
    log::info("pca: --resume: no checkpoint in " + opt.state_dir + ", starting from the first pass");
  }
  return w;
}

// Omega: D x l0, the same bits on every rank for every rank count, since a
// column is a function of (seed, column) alone. Each rank draws a block of
// the columns and they swap them: drawing all of them took ~0.09 s a rank
// at D = 90,048, work that did not shrink with more ranks.
Eigen::MatrixXf draw_omega(MPI_Comm comm, std::uint64_t seed, int D, int l0) {
  const int rank = mpi::rank(comm), nranks = mpi::size(comm);
  Eigen::MatrixXf omega(D, l0);
  const auto cols = mpi::block_range(l0, rank, nranks);
  const int n_cols = static_cast<int>(cols.end - cols.begin);
  float* mine = omega.data() + static_cast<std::size_t>(cols.begin) * D;
  gaussian_matrix(seed, kOmegaStream, D, n_cols, mine, static_cast<int>(cols.begin));
  ByteWriter block;
  block.raw(mine, static_cast<std::size_t>(n_cols) * D);
  auto parts = mpi::allgather_bytes(comm, block.buf);
  std::size_t at = 0;  // blocks in rank order: together, omega's columns in order
  for (auto& part : parts) {
    MELON_ASSERT(at + part.size() <= sizeof(float) * static_cast<std::size_t>(omega.size()),
                 "Omega's column blocks overrun the matrix");
    std::memcpy(reinterpret_cast<char*>(omega.data()) + at, part.data(), part.size());
    at += part.size();
  }
  MELON_ASSERT(at == sizeof(float) * static_cast<std::size_t>(omega.size()), "Omega's column blocks do not fill it");
  return omega;
}

// Where later passes get their rows: kept in memory when --memory-mb has room,
// else spilled to --spill-dir when given and a later pass would otherwise make
// them again, else made again from the spectrograms.
void plan_rows(Streamer& stream, const RowSource& src, const Options& opt, const State& w, int start, int n_passes,
               int D, std::int64_t cand_total, bool talk) {
  MPI_Comm comm = opt.comm;
  const int nranks = mpi::size(comm);
  std::int64_t cache_rows = start == 0 ? src.size() : static_cast<std::int64_t>(w.rows.size());
  bool on = opt.cache_bytes > 0 && cache_rows * static_cast<std::int64_t>(D) * 4 <= opt.cache_bytes;
  // Spilling pays only when a later pass would otherwise make the rows again.
  const bool spill = !on && !opt.spill_dir.empty() && !opt.single_pass && start < n_passes - 1;
  mpi::collective(comm, [&] {  // out of memory (or of scratch space) on one rank must stop every rank
    stream.allocate_block();
    if (on) stream.enable_cache(cache_rows);
    if (spill) stream.enable_spill(opt.spill_dir);
  });
  std::int64_t counts[2] = {on ? 1 : 0, spill ? 1 : 0};
  mpi::allreduce_sum(comm, counts, 2);
  if (talk && opt.cache_bytes > 0)
    log::info("pca: " + std::to_string(counts[0]) + "/" + std::to_string(nranks) +
              " ranks keep their feature rows in memory between passes (--memory-mb allows it)");
  if (talk && counts[1] > 0)
    log::info("pca: " + std::to_string(counts[1]) + "/" + std::to_string(nranks) +
              " ranks spill their feature rows to " + opt.spill_dir + " for the later passes (about " +
              fmt("%.0f", static_cast<double>(cand_total) * D * 4 / nranks / 1048576.0) + " MB a rank)");
}

// After the first pass's reading: the job's row counts, checked against k.
void count_rows(const Run& r, State& w) {
  const std::int64_t n_local = static_cast<std::int64_t>(w.rows.size());
  std::int64_t counts[3] = {n_local, static_cast<std::int64_t>(w.skipped.size()), w.nonfinite_total};
  mpi::allreduce_sum(r.comm, counts, 3);
  w.rows_total = counts[0];
  w.skipped_total = counts[1];
  w.nonfinite_total = counts[2];
  MELON_CHECK(w.rows_total > 0,
              "pca: no readable rows: all " << r.cand_total << " songs given were missing or unreadable");
  MELON_CHECK(w.rows_total >= 2, "pca: only one readable song: PCA needs at least 2");
  MELON_CHECK(r.opt.components <= w.rows_total,
              "pca: k = " << r.opt.components << " components exceed the " << w.rows_total
                          << " songs read (k must be <= min(songs, D = " << r.D << "))");
}

// The mean and ||Ac||_F^2 from the column sums and sums of squares (2 D, this rank's).
void column_statistics(const Run& r, State& w, Eigen::VectorXd& sum) {
  const int D = r.D;
  mpi::allreduce_sum_same(r.comm, sum.data(), static_cast<std::size_t>(sum.size()));
  w.mean = sum.head(D) / static_cast<double>(w.rows_total);
  // ||Ac||^2 = sum x^2 - N mu^2 per column: the squares of floats are exact
  // in double, so the cancellation costs ~eps * mean^2 / variance: nothing.
  w.total_ss = std::max(0.0, (sum.tail(D) - w.mean.cwiseProduct(sum.head(D))).sum());
}

// Single-pass: X = (Psi Q)^+ W, kept transposed (D x l), from W = Psi A
// summed over the ranks (wacc, D x s) and Psi 1 (psi1); X plays B's part.
Eigen::MatrixXd solve_sketch(const Run& r, const State& w, Eigen::MatrixXd& wacc, Eigen::VectorXd& psi1) {
  const int s_width = r.s_width, T = r.pool.threads();
  const std::int64_t n_local = static_cast<std::int64_t>(w.rows.size());
  // W = Psi Ac = Psi A - (Psi 1) mu^T, kept transposed (D x s).
  mpi::allreduce_sum_same(r.comm, wacc.data(), static_cast<std::size_t>(wacc.size()));
  mpi::allreduce_sum_same(r.comm, psi1.data(), static_cast<std::size_t>(psi1.size()));
  wacc -= w.mean * psi1.transpose();
  // Psi Q (s x l) from the same float-rounded Psi entries as W.
  Eigen::MatrixXd psiq = Eigen::MatrixXd::Zero(s_width, w.sketch);
  std::vector<Eigen::MatrixXd> part(T, Eigen::MatrixXd::Zero(s_width, w.sketch));
  r.pool.run_per_thread([&](int t) {
    auto rg = chunk(n_local, t, T);
    Eigen::VectorXf pf(s_width);
    for (std::int64_t i = rg.begin; i < rg.end; ++i) {
      psi_row(r.opt.seed, r.src.key(w.rows[i]), s_width, pf.data());
      part[t].noalias() += pf.cast<double>() * w.local.row(i);
    }
  });
  for (auto& m : part) psiq += m;
  mpi::allreduce_sum_same(r.comm, psiq.data(), static_cast<std::size_t>(psiq.size()));
  // X = (Psi Q)^+ W; X^T = W^T Qp Rp^-T with Psi Q = Qp Rp.
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(psiq);
  Eigen::MatrixXd qp = qr.householderQ() * Eigen::MatrixXd::Identity(s_width, w.sketch);
  Eigen::MatrixXd rp = qr.matrixQR().topRows(w.sketch).triangularView<Eigen::Upper>();
  Eigen::MatrixXd xt = wacc * qp;
  rp.transpose().triangularView<Eigen::Lower>().solveInPlace<Eigen::OnTheRight>(xt);
  return xt;
}

// Pass 0, or the single pass: reads every candidate once. Y = A Omega and the
// column sums give the mean, ||Ac||_F^2 and Q = qr(Y - 1 mu^T Omega); in
// single-pass mode W = Psi A as well, solved into the sketch X.
void first_pass(const Run& r, State& w, Counters& c, log::Progress& prog, double scale) {
  const int D = r.D, l0 = r.l0, s_width = r.s_width, T = r.pool.threads();
  const std::int64_t n_cand = r.src.size();
  Eigen::MatrixXd y(n_cand, l0);
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(2 * D);  // column sums, then sums of squares
  AtAccumulator wsum(r.pool, s_width > 0 ? D : 0, s_width);
  Eigen::VectorXd psi1 = Eigen::VectorXd::Zero(s_width);
  RowMatF psi;
  std::string error = r.stream.scan(w, c, prog, scale, [&](float* a, std::int64_t v0, std::int64_t nv) {
    r.pool.run_per_thread([&](int t) {
      auto rg = chunk(D, t, T);
      column_sums(a, nv, D, rg.begin, rg.end, sum.data(), sum.data() + D);
    });
    const double g0 = now();
    multiply_rows(r.pool, a, nv, r.omega_packed, y, v0);
    c.flops += 2.0 * nv * D * l0;
    if (s_width > 0) {
      psi.resize(nv, s_width);
      std::vector<float> p(s_width);
      for (std::int64_t i = 0; i < nv; ++i) {
        psi_row(r.opt.seed, r.src.key(w.rows[v0 + i]), s_width, p.data());
        for (int j = 0; j < s_width; ++j) {
          psi(i, j) = p[j];
          psi1[j] += p[j];  // row by row: no dependence on the block size
        }
      }
      wsum.add(a, nv, psi);
      c.flops += 2.0 * nv * D * s_width;
    }
    c.gemm += now() - g0;
  });
  mpi::throw_if_any(r.comm, error);
  count_rows(r, w);
  column_statistics(r, w, sum);
  r.stream.set_mean(w.mean);
  r.stream.centre_cache(w);
  const std::int64_t n_local = static_cast<std::int64_t>(w.rows.size());
  w.sketch = static_cast<int>(std::min<std::int64_t>(l0, w.rows_total));
  y.conservativeResize(n_local, w.sketch);
  Eigen::RowVectorXd mu_omega = w.mean.transpose() * r.omega.leftCols(w.sketch).cast<double>();
  y.rowwise() -= mu_omega;
  w.qr_shifted_steps += cholqr(r.comm, y, w.rows_total).shifted_steps;
  w.local = std::move(y);
  if (s_width > 0) w.shared = solve_sketch(r, w, wsum.result(), psi1);
}

// Puts block q (rows x l) to the right of the blocks kept so far.
void append_block(Eigen::MatrixXd& kept, const Eigen::MatrixXd& q) {
  const Eigen::Index at = kept.cols();
  kept.conservativeResize(q.rows(), at + q.cols());
  kept.rightCols(q.cols()) = q;
}

// Before the last pass of a Krylov run: Q becomes K = orth([Q_0 .. Q_q]).
// K holds Q_0's l orthonormal columns, so it keeps at least l directions
// unless the blocks hold exactly zero columns; should it keep fewer, Q_q is
// used as the power method would: never a basis narrower than the sketch.
void krylov_basis(const Run& r, State& w) {
  Eigen::MatrixXd k = std::move(w.krylov);
  append_block(k, w.local);
  const Eigen::Index columns = k.cols();
  const int kept = orthonormal_basis(r.comm, k, w.rows_total);
  const bool talk = r.opt.progress && mpi::rank(r.comm) == 0;
  if (talk)
    log::info("pca: Krylov basis of " + std::to_string(kept) + " directions from " + std::to_string(columns) +
              " block columns" + (kept < columns ? " (the others repeat them to within 1e-6)" : ""));
  if (kept >= w.sketch) w.local = std::move(k);
  else if (talk)
    log::warn("pca: the Krylov basis kept only " + std::to_string(kept) + " directions, fewer than the sketch's " +
              std::to_string(w.sketch) + ": using the last block alone, as the power method does");
  w.krylov.resize(0, 0);
}

// --tol: records R's top-k singular values (the Ritz values of the current Q,
// the same on every rank since R is) and says whether they moved by at most
// tol, relative to each value, since the last transpose pass. The first
// check can only record. Why this estimate: the Ritz values rise towards the
// singular values geometrically, at the rate (sigma_{l+1} / sigma_j)^2 an
// iteration, so with the sketch's oversampling the error left after a step
// is of the order of that step's change; tests/unit/test_pca_rpca.cpp
// measures it against an exact SVD on fast and slow spectra.
bool converged(const Run& r, State& w, const Eigen::MatrixXd& rz) {
  const int k = r.opt.components;
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(rz);
  const Eigen::VectorXd now = svd.singularValues().head(k);
  const bool first = w.ritz.size() != k;
  double change = 0;
  if (!first) {
    const double floor = 1e-12 * std::max(now(0), 1e-300);
    for (int j = 0; j < k; ++j) change = std::max(change, std::fabs(now(j) - w.ritz(j)) / std::max(now(j), floor));
  }
  w.ritz = now;
  const bool done = !first && change <= r.opt.tol;
  if (r.opt.progress && mpi::rank(r.comm) == 0) {
    const int it = (w.pass + 2) / 2;  // the transpose pass of iteration it (w.pass: the pass before it)
    if (first)
      log::info("pca: --tol " + fmt("%.1e", r.opt.tol) + ": top-" + std::to_string(k) +
                " Ritz values recorded after iteration " + std::to_string(it - 1));
    else
      log::info("pca: --tol " + fmt("%.1e", r.opt.tol) + ": the top-" + std::to_string(k) +
                " Ritz values moved by at most " + fmt("%.2e", change) + " (relative) in iteration " +
                std::to_string(it - 1) + (done ? ": converged, this pass becomes the last" : ""));
  }
  return done;
}

// Ac^T Q (D x l), summed over the ranks: a power iteration's Z = qr(Ac^T Q)
// or, on the last pass (last = true), Bt = Ac^T Q for the final SVD.
void transpose_pass(const Run& r, State& w, Counters& c, log::Progress& prog, double scale, bool last) {
  const int D = r.D, cols = static_cast<int>(w.local.cols());  // l, or the Krylov basis on the last pass
  AtAccumulator sum(r.pool, D, cols);
  RowMatF qf;
  std::string error = r.stream.rows(w, c, prog, scale, [&](const float* a, std::int64_t r0, std::int64_t n) {
    const double g0 = now();
    qf = w.local.middleRows(r0, n).cast<float>();
    sum.add(a, n, qf);
    c.flops += 2.0 * n * D * cols;
    c.gemm += now() - g0;
  });
  mpi::throw_if_any(r.comm, error);
  Eigen::MatrixXd acc = std::move(sum.result());
  if (!last) {
    // --tol: Ac^T Q = Z R, so R's singular values are the Ritz values of Q,
    // and once they stop moving this pass has computed what the last pass
    // would: the unreduced sum is kept for that case (D x l doubles).
    const bool may_stop = r.opt.tol > 0 && w.ritz.size() > 0;
    Eigen::MatrixXd kept_sum = may_stop ? acc : Eigen::MatrixXd();
    Eigen::MatrixXd rz;
    // CholeskyQR2 (BLAS-3, ~20x faster than Householder at D x l).
    w.qr_shifted_steps += sum_and_orthonormalise(r.comm, acc, r.opt.tol > 0 ? &rz : nullptr);
    if (r.opt.tol > 0 && converged(r, w, rz)) {
      // The same reduction the last pass makes: the bits of a run asked for this many passes.
      mpi::allreduce_sum_same(r.comm, kept_sum.data(), static_cast<std::size_t>(kept_sum.size()));
      w.shared = std::move(kept_sum);
      w.done = true;
      return;
    }
    w.shared = std::move(acc);
    if (keeps_blocks(r.opt)) append_block(w.krylov, w.local);
    w.local.resize(0, 0);  // the next pass rebuilds it
  } else {
    mpi::allreduce_sum_same(r.comm, acc.data(), static_cast<std::size_t>(acc.size()));
    w.shared = std::move(acc);
  }
}

// A power iteration's Y = Ac Z, this rank's rows, then Q = qr(Y).
void range_pass(const Run& r, State& w, Counters& c, log::Progress& prog, double scale) {
  const int D = r.D;
  const PackedColumns zp = pack_columns(w.shared.data(), D, w.sketch);
  const std::int64_t n_local = static_cast<std::int64_t>(w.rows.size());
  Eigen::MatrixXd y(n_local, w.sketch);
  std::string error = r.stream.rows(w, c, prog, scale, [&](const float* a, std::int64_t r0, std::int64_t n) {
    const double g0 = now();
    multiply_rows(r.pool, a, n, zp, y, r0);
    c.flops += 2.0 * n * D * w.sketch;
    c.gemm += now() - g0;
  });
  mpi::throw_if_any(r.comm, error);
  w.qr_shifted_steps += cholqr(r.comm, y, w.rows_total).shifted_steps;
  w.local = std::move(y);
  w.shared.resize(0, 0);
}

// The pass's figures for the whole job (collective), logged by rank 0.
PassStat summarise_pass(const Options& opt, int pass, double t0, const Counters& c, const State& w, bool talk) {
  MPI_Comm comm = opt.comm;
  PassStat ps;
  ps.name = pass_name(opt, pass);
  ps.seconds = mpi::allreduce_max(comm, now() - t0);
  ps.gemm_seconds = c.gemm;
  {
    double v[2] = {c.flops, c.bytes};
    mpi::allreduce_sum(comm, v, 2);
    ps.flops = v[0];
    ps.bytes = v[1];
  }
  ps.rows = mpi::allreduce_sum(comm, c.rows);
  if (talk) {
    const Kind kind = kind_of(opt, pass);
    std::ostringstream os;
    os << pass_label(opt, pass) << ": " << ps.rows << " songs in " << fmt("%.2f", ps.seconds) << " s, "
       << fmt("%.1f", ps.bytes / std::max(ps.seconds, 1e-9) / 1e6) << " MB/s, "
       << fmt("%.2f", ps.flops / std::max(ps.seconds, 1e-9) / 1e9) << " GFLOP/s over the pass ("
       << fmt("%.2f", ps.gemm_seconds) << " s in block products on rank 0)";
    if (kind == Kind::Scan || kind == Kind::Sketch)
      os << "; " << w.skipped_total << " skipped, " << w.nonfinite_total << " non-finite values replaced";
    log::info(os.str());
  }
  return ps;
}

// The top k of B = U S V^T (B = Bt^T, basis columns x D), the same on every rank.
struct TopK {
  Eigen::MatrixXd u, v;  // basis columns x k, D x k
  Eigen::VectorXd s;
};

// Bt = Qb Rb, Rb^T = U S W^T, so B = U S (Qb W)^T: an SVD of a small square
// matrix. A Krylov basis lies in the range of Ac, so it is at most D wide up
// to rounding; should rounding keep it wider, Bt has no orthonormal Qb, and
// B, small itself then, is taken apart directly.
TopK small_svd(Eigen::MatrixXd bt, int k, int& shifted_steps) {
  const Eigen::Index D = bt.rows();
  if (bt.cols() > D) {
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(bt.transpose(), Eigen::ComputeThinU | Eigen::ComputeThinV);
    return {svd.matrixU().leftCols(k), svd.matrixV().leftCols(k), svd.singularValues().head(k)};
  }
  Eigen::MatrixXd rb;
  shifted_steps += cholqr(MPI_COMM_SELF, bt, D, &rb).shifted_steps;
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(rb.transpose(), Eigen::ComputeFullU | Eigen::ComputeFullV);
  return {svd.matrixU().leftCols(k), bt * svd.matrixV().leftCols(k), svd.singularValues().head(k)};
}

// Rayleigh-Ritz over the basis Q (or K): components V^T, scores Q U S.
void final_svd(const Options& opt, int D, State& w, Result& res) {
  MELON_ASSERT(w.shared.rows() == D && w.shared.cols() == w.local.cols(), "final sketch has the wrong shape");
  const int k = opt.components;
  res.basis = static_cast<int>(w.local.cols());
  TopK t = small_svd(std::move(w.shared), k, w.qr_shifted_steps);
  res.components = t.v.transpose();
  res.scores = w.local * (t.u * t.s.asDiagonal());
  normalize_signs(res.components, res.scores);
  res.singular_values = t.s;
  const double dof = static_cast<double>(w.rows_total - 1);
  res.explained_variance = res.singular_values.array().square() / dof;
  res.explained_variance_ratio = w.total_ss > 0 ? Eigen::VectorXd(res.singular_values.array().square() / w.total_ss)
                                                : Eigen::VectorXd(Eigen::VectorXd::Zero(k));
  res.total_variance = w.total_ss / dof;
  res.mean = w.mean;
  res.k = k;
  res.sketch = w.sketch;
  res.dim = D;
  res.rows_total = w.rows_total;
  res.row_offset = mpi::exscan_sum(opt.comm, static_cast<std::int64_t>(w.rows.size()));
  res.rows = std::move(w.rows);
  res.skipped = std::move(w.skipped);
  res.skipped_total = w.skipped_total;
  res.nonfinite_total = w.nonfinite_total;
  res.qr_shifted_steps = w.qr_shifted_steps;
}

}  // namespace

const char* method_name(Method m) { return m == Method::Krylov ? "krylov" : "power"; }

Method parse_method(const std::string& s) {
  if (s == "krylov") return Method::Krylov;
  if (s == "power") return Method::Power;
  throw Error("--method must be krylov or power, got '" + s + "'");
}

int pass_count(const Options& o) { return o.single_pass ? 1 : 2 * o.power_iters + 2; }

std::string pass_name(const Options& o, int pass) {
  switch (kind_of(o, pass)) {
    case Kind::Sketch: return "single-pass sketch: Y = A Omega, W = Psi A, mean";
    case Kind::Scan: return "Y = A Omega, mean";
    case Kind::B: return keeps_blocks(o) ? "B = K^T Ac, K = orth([Q_0 .. Q_q]), block Krylov" : "B = Q^T Ac";
    case Kind::Z: return "Z = Ac^T Q, " + iteration(o, (pass + 1) / 2);
    case Kind::Y: return "Y = Ac Z, " + iteration(o, pass / 2);
  }
  return "?";
}

void gaussian_matrix(std::uint64_t seed, std::uint64_t stream, int rows, int cols, float* out, int first_col) {
  for (int j = 0; j < cols; ++j) {
    Rng rng(mix_seed(seed, stream, static_cast<std::uint64_t>(first_col + j)));
    fill_normals(rng, out + static_cast<std::size_t>(j) * rows, rows);
  }
}

void normalize_signs(Eigen::MatrixXd& components, Eigen::MatrixXd& scores) {
  const Eigen::Index k = components.rows();
  std::vector<Eigen::Index> best(static_cast<std::size_t>(k), 0);
  std::vector<double> big(static_cast<std::size_t>(k), -1);
  // Column by column: components is column-major, k x D.
  for (Eigen::Index d = 0; d < components.cols(); ++d)
    for (Eigen::Index j = 0; j < k; ++j) {
      const double v = std::fabs(components(j, d));
      if (v > big[j]) {
        big[j] = v;
        best[j] = d;
      }
    }
  for (Eigen::Index j = 0; j < k; ++j) {
    if (components.cols() > 0 && components(j, best[j]) < 0) {
      components.row(j) *= -1;
      if (scores.cols() > j) scores.col(j) *= -1;
    }
  }
}

std::int64_t log_peak_memory(MPI_Comm comm, const std::string& what) {
  std::int64_t mine = util::peak_rss_kib();
  auto all = mpi::allgather(comm, mine);
  std::int64_t top = *std::max_element(all.begin(), all.end());
  if (mpi::rank(comm) == 0) {
    std::ostringstream os;
    os << what << " peak memory (VmHWM) per rank:";
    for (std::size_t r = 0; r < all.size(); ++r) os << " r" << r << "=" << fmt("%.1f", all[r] / 1024.0) << "MB";
    os << "; max " << fmt("%.1f", top / 1024.0) << " MB";
    log::info(os.str());
  }
  return top;
}

std::int64_t planned_bytes(std::int64_t n_local, int dim, const Options& o) {
  const std::int64_t l = std::min<std::int64_t>(o.components + o.oversample, dim);
  const std::int64_t s = o.single_pass ? 2 * l + 1 : 0;
  const std::int64_t D = dim;
  std::int64_t b = o.block * D * 4;                    // block buffer
  b += D * l * (4 + 8 + 8 + 4 + 4);                    // Omega, accumulator, shared, float copy, GEMM temp
  b += D * s * (8 + 4);                                // single-pass W and its temp
  b += D * l * 8 * 2;                                  // final QR of Bt
  b += n_local * (l * 8 * 2 + o.components * 8 + 16);  // Y/Q, scratch, scores, bookkeeping
  if (keeps_blocks(o)) {
    const std::int64_t kl = (o.power_iters + 1) * l;
    b += n_local * kl * 8 * 2;      // the kept blocks, then K and its scaled copy
    b += D * kl * (8 + 4 + 8 * 2);  // the last pass's accumulators and the final QR, (q + 1) l wide
  }
  b += D * 8 * 4;  // sums, mean
  return b;
}

Result run(const RowSource& src, const Options& opt) {
  MPI_Comm comm = opt.comm;
  const int rank = mpi::rank(comm), nranks = mpi::size(comm);
  const bool talk = opt.progress && rank == 0;
  const auto [D, cand_total] = check_inputs(src, opt);
  const int l0 = std::min(opt.components + opt.oversample, D);
  const int n_passes = pass_count(opt);
  const std::string fingerprint = run_fingerprint(opt, nranks, D, cand_total);

  State w = start_state(opt, fingerprint, n_passes, talk);
  const int start = w.pass + 1;
  Result res;
  res.resumed_after = w.pass;

  const Eigen::MatrixXf omega = draw_omega(comm, opt.seed, D, l0);
  const PackedColumns omega_packed = pack_columns(omega.data(), D, l0);
  util::ThreadPool pool(opt.threads);
  Streamer stream(src, opt, pool, D);
  plan_rows(stream, src, opt, w, start, n_passes, D, cand_total, talk);
  if (start > 0) stream.set_mean(w.mean);
  const Run r{src, opt, comm, D, l0, opt.single_pass ? 2 * l0 + 1 : 0, cand_total, pool, stream, omega, omega_packed};

  double since_checkpoint = 0;
  for (int pass = start; pass < n_passes && !w.done; ++pass) {
    const Kind kind = kind_of(opt, pass);
    const bool first = kind == Kind::Scan || kind == Kind::Sketch;
    const double t0 = now();
    Counters c;
    const std::int64_t total = first ? cand_total : w.rows_total;
    const std::int64_t mine = first ? src.size() : static_cast<std::int64_t>(w.rows.size());
    // Rank 0 reports for the job: ranks are balanced by bytes, so its own
    // fraction done stands for everyone's; exact totals come at the pass end.
    const double scale = mine > 0 ? static_cast<double>(total) / mine : 0;
    log::Progress prog(pass_label(opt, pass), total, "songs", 5.0, talk);
    switch (kind) {
      case Kind::Scan:
      case Kind::Sketch: first_pass(r, w, c, prog, scale); break;
      case Kind::Z: transpose_pass(r, w, c, prog, scale, false); break;
      case Kind::B:
        if (keeps_blocks(opt)) krylov_basis(r, w);
        transpose_pass(r, w, c, prog, scale, true);
        break;
      case Kind::Y: range_pass(r, w, c, prog, scale); break;
    }
    res.passes.push_back(summarise_pass(opt, pass, t0, c, w, talk));
    w.pass = pass;
    since_checkpoint +=
        res.passes.back().seconds;  // the job's slowest rank: the same on every rank, so all decide alike
    if (!opt.state_dir.empty() && (since_checkpoint >= opt.checkpoint_seconds || pass == opt.stop_after_pass)) {
      since_checkpoint = 0;
      save_checkpoint(comm, opt.state_dir, fingerprint, w);
    }
    if (pass == opt.stop_after_pass) throw Stopped(pass);
  }

  final_svd(opt, D, w, res);
  res.passes_total = w.pass + 1;
  res.iterations = w.pass / 2;
  return res;
}

}  // namespace melon::pca

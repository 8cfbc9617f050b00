// Randomized PCA (src/pca/rpca.cpp, cholqr.cpp, state.cpp, output.cpp) on one
// process without MPI: accuracy against an exact SVD, determinism, skipped
// rows, bad input, resume and the HDF5 output. Multi-rank behaviour is in
// tests/mpi/test_pca_mpi.cpp.
// GCC 12 false positive inside Eigen's AVX-512 packet code (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <tuple>

#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/pca/cholqr.hpp"
#include "melon/pca/output.hpp"
#include "melon/pca/rpca.hpp"
#include "melon/util/eigen.hpp"
#include "melon/util/rng.hpp"
#include "../support/exact_svd.hpp"
#include "../support/spectra.hpp"

namespace {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

RowMatF make_matrix(int n, int d, int rank, double sigma0, double decay, double noise, std::uint64_t seed) {
  return melon::test_support::decaying_spectrum(n, d, rank, sigma0, decay, noise, seed, 3.0, 0.01);
}

class MatrixRows : public melon::pca::RowSource {
 public:
  MatrixRows(const RowMatF& m, std::int64_t begin, std::int64_t end) : m_(m), begin_(begin), end_(end) {}
  std::int64_t size() const override { return end_ - begin_; }
  int dim() const override { return static_cast<int>(m_.cols()); }
  std::int64_t key(std::int64_t i) const override { return begin_ + i; }
  melon::pca::RowStatus row(std::int64_t i, float* out) const override {
    melon::pca::RowStatus st;
    const std::int64_t g = begin_ + i;
    if (bad.count(g)) {
      st.ok = false;
      st.reason = "row " + std::to_string(g) + " is corrupt";
      return st;
    }
    if (fail_after_reads > 0 && ++reads > fail_after_reads) {
      st.ok = false;
      st.reason = "disk gone";
      return st;
    }
    std::memcpy(out, m_.data() + g * m_.cols(), sizeof(float) * m_.cols());
    st.bytes = sizeof(float) * m_.cols();
    return st;
  }
  std::set<std::int64_t> bad;
  std::int64_t fail_after_reads = 0;
  mutable std::atomic<std::int64_t> reads{0};

 private:
  const RowMatF& m_;
  std::int64_t begin_, end_;
};

struct Exact {
  Eigen::VectorXd s;
  Eigen::MatrixXd v;  // D x r
  double total_ss;
};

Exact exact_pca(const RowMatF& m) {
  Eigen::MatrixXd a = m.cast<double>();
  Eigen::RowVectorXd mu = a.colwise().mean();
  a.rowwise() -= mu;
  auto svd = melon::test_support::exact_svd(a, melon::test_support::kThinV);
  return {svd.s, svd.v, a.squaredNorm()};
}

// sin of the largest principal angle between span(v1) and span(v2) (orthonormal columns).
double max_angle_sin(const Eigen::MatrixXd& v1, const Eigen::MatrixXd& v2) {
  double c = melon::test_support::principal_cosines(v1, v2).minCoeff();
  return std::sqrt(std::max(0.0, 1 - c * c));
}

melon::pca::Options quiet(int k, int p, int q) {
  melon::pca::Options o;
  o.components = k;
  o.oversample = p;
  o.power_iters = q;
  o.seed = 7;
  o.block = 37;  // blocks that do not divide the row count
  o.progress = false;
  return o;
}

std::string temp_dir(const std::string& name) {
  std::string d = ::testing::TempDir() + "melon_pca_" + std::to_string(::getpid()) + "_" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

TEST(PcaRpca, MatchesExactSvdOnADecayingSpectrum) {
  RowMatF m = make_matrix(700, 180, 40, 100.0, 0.8, 1e-3, 1);
  Exact ex = exact_pca(m);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(8, 10, 2);
  auto r = melon::pca::run(src, o);
  ASSERT_EQ(r.k, 8);
  ASSERT_EQ(r.rows_total, 700);
  for (int j = 0; j < 8; ++j) EXPECT_NEAR(r.singular_values[j] / ex.s[j], 1.0, 1e-3) << "sigma_" << j;
  EXPECT_LT(max_angle_sin(ex.v.leftCols(8), r.components.transpose()), 1e-3);
  // Components are orthonormal rows; scores are the centred data projected on them.
  EXPECT_LT((r.components * r.components.transpose() - Eigen::MatrixXd::Identity(8, 8)).norm(), 1e-9);
  Eigen::MatrixXd ac = m.cast<double>();
  ac.rowwise() -= r.mean.transpose();
  Eigen::MatrixXd proj = ac * r.components.transpose();
  EXPECT_LT((proj - r.scores).norm() / proj.norm(), 1e-4);
  // Explained variance: sigma^2 / ||Ac||^2, with the total from the exact matrix.
  EXPECT_NEAR(r.total_variance * (700 - 1), ex.total_ss, 1e-9 * ex.total_ss);
  for (int j = 0; j < 8; ++j) EXPECT_NEAR(r.explained_variance_ratio[j], ex.s[j] * ex.s[j] / ex.total_ss, 1e-4);
  EXPECT_NEAR(r.explained_variance[0], r.singular_values[0] * r.singular_values[0] / 699, 1e-9);
  // Signs: the largest-|x| entry of every component is positive.
  for (int j = 0; j < 8; ++j) {
    Eigen::Index at;
    r.components.row(j).cwiseAbs().maxCoeff(&at);
    EXPECT_GT(r.components(j, at), 0);
  }
}

// The figures --method's default was chosen by: the rank-k approximation's
// Frobenius residual (relative to ||Ac||_F, and its excess over the exact
// SVD's best) and the top-k singular values' largest relative error, for
// both methods at the same number of passes (q = 1, 2) on a slowly and a
// fast decaying spectrum. Block Krylov searches a space that holds the
// power method's, so it may not be worse beyond rounding (1e-6).
struct Accuracy {
  double residual, excess, sigma_error;
};

Accuracy accuracy(const RowMatF& m, const Exact& ex, const melon::pca::Result& r) {
  Eigen::MatrixXd ac = m.cast<double>();
  ac.rowwise() -= r.mean.transpose();
  const double best = std::sqrt(std::max(0.0, ex.total_ss - ex.s.head(r.k).squaredNorm()));
  const double resid = (ac - r.scores * r.components).norm();
  const double sigma = ((r.singular_values - ex.s.head(r.k)).array() / ex.s.head(r.k).array()).abs().maxCoeff();
  return {resid / std::sqrt(ex.total_ss), resid / best - 1, sigma};
}

TEST(PcaRpca, KrylovIsAtLeastAsAccurateAsPowerAtEqualPasses) {
  struct Case {
    const char* name;
    int rank;
    double decay, noise;
  };
  for (Case c : {Case{"slow decay", 200, 0.97, 0.05}, Case{"fast decay", 40, 0.7, 1e-3}}) {
    RowMatF m = make_matrix(800, 200, c.rank, 100.0, c.decay, c.noise, 31);
    Exact ex = exact_pca(m);
    MatrixRows src(m, 0, m.rows());
    for (int q : {1, 2}) {
      auto o = quiet(10, 5, q);
      o.method = melon::pca::Method::Power;
      const Accuracy pw = accuracy(m, ex, melon::pca::run(src, o));
      o.method = melon::pca::Method::Krylov;
      const auto kr_result = melon::pca::run(src, o);
      const Accuracy kr = accuracy(m, ex, kr_result);
      std::printf(
          "[pca accuracy] %-10s q=%d (%d passes): residual power %.6f krylov %.6f (excess over best %.2e vs "
          "%.2e); top-10 sigma max rel error power %.2e krylov %.2e; Krylov basis %d columns\n",
          c.name, q, 2 * q + 2, pw.residual, kr.residual, pw.excess, kr.excess, pw.sigma_error, kr.sigma_error,
          kr_result.basis);
      SCOPED_TRACE(std::string(c.name) + ", q = " + std::to_string(q));
      EXPECT_LE(kr.excess, pw.excess + 1e-6);
      EXPECT_LE(kr.sigma_error, pw.sigma_error + 1e-6);
    }
  }
}

bool same_bits(const melon::pca::Result& a, const melon::pca::Result& b) {
  return a.scores.size() == b.scores.size() && a.k == b.k &&
         0 == std::memcmp(a.scores.data(), b.scores.data(), sizeof(double) * a.scores.size()) &&
         0 == std::memcmp(a.components.data(), b.components.data(), sizeof(double) * a.components.size()) &&
         0 == std::memcmp(a.singular_values.data(), b.singular_values.data(), sizeof(double) * a.k);
}

// run() must throw melon::Error with `words` in its message.
void expect_run_error(const melon::pca::RowSource& src, const melon::pca::Options& o, const std::string& words) {
  try {
    melon::pca::run(src, o);
    ADD_FAILURE() << "no error, expected: " << words;
  } catch (const melon::Error& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

// Runs o stopped after pass `stop` (checkpointed in o.state_dir), then resumes it.
melon::pca::Result stop_and_resume(const melon::pca::RowSource& src, const melon::pca::Options& o, int stop) {
  auto os = o;
  os.stop_after_pass = stop;
  EXPECT_THROW(melon::pca::run(src, os), melon::pca::Stopped);
  auto ores = o;
  ores.resume = true;
  auto r = melon::pca::run(src, ores);
  EXPECT_EQ(r.resumed_after, stop);
  return r;
}

// --tol's promise: it stops once the top-k Ritz values move by at most tol in
// an iteration, and what it returns is then that close to the exact SVD's
// singular values (measured on a fast and a slow spectrum, with the sketch's
// default oversampling ratio), in fewer passes than the cap, with the bits of
// the run asked for exactly that many iterations.
TEST(PcaRpca, TolStopsOnceRitzValuesSettleWithinTolOfExactAndWithTheFixedRunsBits) {
  struct Case {
    const char* name;
    int rank;
    double decay, noise, tol;
  };
  for (Case c : {Case{"fast decay", 40, 0.7, 1e-3, 1e-4}, Case{"slow decay", 200, 0.97, 0.05, 1e-3},
                 Case{"slow decay", 200, 0.97, 0.05, 1e-4}}) {
    SCOPED_TRACE(std::string(c.name) + ", tol " + std::to_string(c.tol));
    RowMatF m = make_matrix(800, 200, c.rank, 100.0, c.decay, c.noise, 31);
    Exact ex = exact_pca(m);
    MatrixRows src(m, 0, m.rows());
    auto o = quiet(10, 10, 12);
    o.tol = c.tol;
    const auto r = melon::pca::run(src, o);
    const Accuracy acc = accuracy(m, ex, r);
    std::printf(
        "[pca --tol] %-10s tol %.0e: stopped after %d iterations (%d passes; cap 12): top-10 sigma max rel "
        "error %.2e, residual excess over best %.2e\n",
        c.name, c.tol, r.iterations, r.passes_total, acc.sigma_error, acc.excess);
    EXPECT_GE(r.iterations, 1);
    EXPECT_LT(r.iterations, 12);
    EXPECT_EQ(r.passes_total, 2 * r.iterations + 2);
    EXPECT_LE(acc.sigma_error, c.tol);
    auto fixed = quiet(10, 10, r.iterations);
    EXPECT_TRUE(same_bits(r, melon::pca::run(src, fixed)));
  }
  // The check needs two iterations' values: tol can never stop before the
  // first power iteration, and a cap of 1 iteration is simply the fixed run.
  RowMatF m = make_matrix(300, 60, 6, 10.0, 0.5, 0.0, 2);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(3, 3, 1);
  o.tol = 0.5;
  const auto r = melon::pca::run(src, o);
  EXPECT_EQ(r.iterations, 1);
  EXPECT_TRUE(same_bits(r, melon::pca::run(src, quiet(3, 3, 1))));
}

TEST(PcaRpca, TolResumesAfterEveryPassIncludingTheOneThatConverged) {
  RowMatF m = make_matrix(300, 70, 20, 30.0, 0.7, 1e-3, 8);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(5, 5, 10);
  o.tol = 1e-5;
  const auto full = melon::pca::run(src, o);
  ASSERT_LT(full.iterations, 10);
  const std::string dir = temp_dir("resume_tol");
  o.state_dir = dir + "/out.h5.state";
  o.fingerprint = "input=test\n";
  for (int stop = 0; stop < full.passes_total; ++stop) {
    SCOPED_TRACE("stopped after pass " + std::to_string(stop));
    const auto r = stop_and_resume(src, o, stop);
    EXPECT_EQ(r.iterations, full.iterations);
    EXPECT_EQ(r.passes_total, full.passes_total);
    EXPECT_TRUE(same_bits(full, r));
  }
  // Another tol is another run: refused by name.
  auto os = o;
  os.stop_after_pass = 1;
  EXPECT_THROW(melon::pca::run(src, os), melon::pca::Stopped);
  auto other = o;
  other.resume = true;
  other.tol = 1e-3;
  expect_run_error(src, other, "tol=");
  std::filesystem::remove_all(dir);
}

TEST(PcaRpca, TolIsRefusedOutsideItsDomainAndForKrylovAndSinglePass) {
  RowMatF m = make_matrix(100, 20, 5, 10.0, 0.7, 1e-3, 3);
  MatrixRows src(m, 0, m.rows());
  auto expect_error = [&](const melon::pca::Options& o, const std::string& words) { expect_run_error(src, o, words); };
  for (double bad : {-1e-3, 1.0, std::nan(""), HUGE_VAL}) {
    auto o = quiet(2, 2, 3);
    o.tol = bad;
    expect_error(o, "--tol must be in [0, 1)");
  }
  auto o = quiet(2, 2, 3);
  o.tol = 1e-3;
  o.method = melon::pca::Method::Krylov;
  expect_error(o, "--method krylov would need one more pass");
  o.method = melon::pca::Method::Power;
  o.single_pass = true;
  expect_error(o, "--single-pass on makes one pass only");
}

TEST(PcaRpca, ExplainedVarianceRatiosSumToOneWhenKCoversTheRank) {
  RowMatF m = make_matrix(300, 60, 6, 10.0, 0.7, 0.0, 2);  // rank 6 after centring (+ float rounding)
  MatrixRows src(m, 0, m.rows());
  auto r = melon::pca::run(src, quiet(6, 4, 1));
  EXPECT_NEAR(r.explained_variance_ratio.sum(), 1.0, 1e-5);
  auto r2 = melon::pca::run(src, quiet(3, 4, 1));
  Exact ex = exact_pca(m);
  EXPECT_NEAR(r2.explained_variance_ratio.sum(), ex.s.head(3).squaredNorm() / ex.total_ss, 1e-5);
}

TEST(PcaRpca, SinglePassSketchIsAccurateOnAFastDecayingSpectrum) {
  RowMatF m = make_matrix(800, 150, 30, 100.0, 0.5, 1e-4, 3);
  Exact ex = exact_pca(m);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(5, 15, 0);
  o.single_pass = true;
  auto r = melon::pca::run(src, o);
  ASSERT_EQ(r.passes.size(), 1u);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(r.singular_values[j] / ex.s[j], 1.0, 1e-3) << "sigma_" << j;
  EXPECT_LT(max_angle_sin(ex.v.leftCols(5), r.components.transpose()), 1e-2);
}

void repeats_bit_for_bit(melon::pca::Method method) {
  RowMatF m = make_matrix(500, 120, 30, 50.0, 0.85, 1e-2, 4);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(6, 6, 2);
  o.method = method;
  auto a = melon::pca::run(src, o);
  auto b = melon::pca::run(src, o);
  EXPECT_EQ(0, std::memcmp(a.scores.data(), b.scores.data(), sizeof(double) * a.scores.size()));
  EXPECT_EQ(0, std::memcmp(a.components.data(), b.components.data(), sizeof(double) * a.components.size()));
  auto oc = o;
  oc.cache_bytes = 1 << 30;  // rows kept in memory between passes: same bits
  auto c = melon::pca::run(src, oc);
  EXPECT_EQ(0, std::memcmp(a.scores.data(), c.scores.data(), sizeof(double) * a.scores.size()));
  EXPECT_EQ(0, std::memcmp(a.singular_values.data(), c.singular_values.data(), sizeof(double) * 6));
  // Within a rank, sums follow the rows and columns alone: other block sizes
  // and thread counts (with or without the cache) give the same bits.
  for (auto [block, threads, cached] :
       {std::tuple{256, 1, false}, std::tuple{37, 3, false}, std::tuple{500, 2, true}, std::tuple{1, 4, true}}) {
    auto ot = o;
    ot.block = block;
    ot.threads = threads;
    ot.cache_bytes = cached ? 1 << 30 : 0;
    auto t = melon::pca::run(src, ot);
    SCOPED_TRACE("block " + std::to_string(block) + ", " + std::to_string(threads) + " threads");
    EXPECT_EQ(0, std::memcmp(a.scores.data(), t.scores.data(), sizeof(double) * a.scores.size()));
    EXPECT_EQ(0, std::memcmp(a.components.data(), t.components.data(), sizeof(double) * a.components.size()));
  }
}

TEST(PcaRpca, RepeatsBitForBitAndBlockSizeCacheAndThreadsDoNotChangeBits) {
  for (auto method : {melon::pca::Method::Power, melon::pca::Method::Krylov}) {
    SCOPED_TRACE(melon::pca::method_name(method));
    repeats_bit_for_bit(method);
  }
}

// --spill-dir: the first pass writes the rows it makes to scratch, later
// passes read them back instead of asking the source again: the same bits as
// making them every pass, for any block size and thread count, after a
// resume too, and no file is left in the folder.
TEST(PcaRpca, SpilledRowsAreReadBackWithTheSameBitsAndLeaveNoFile) {
  const std::string dir = temp_dir("spill");
  auto empty = [&] { return std::filesystem::is_empty(dir); };
  RowMatF m = make_matrix(300, 70, 20, 30.0, 0.8, 1e-2, 9);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(5, 5, 2);
  const auto a = melon::pca::run(src, o);  // rows made again every pass
  for (auto [block, threads] : {std::pair{37, 1}, std::pair{256, 3}, std::pair{1, 2}}) {
    SCOPED_TRACE("block " + std::to_string(block) + ", " + std::to_string(threads) + " threads");
    auto os = o;
    os.block = block;
    os.threads = threads;
    os.spill_dir = dir;
    src.fail_after_reads = 1 << 30;  // counts the reads
    src.reads = 0;
    auto r = melon::pca::run(src, os);
    EXPECT_EQ(src.reads, 300) << "later passes asked the source again";
    EXPECT_EQ(0, std::memcmp(a.scores.data(), r.scores.data(), sizeof(double) * a.scores.size()));
    EXPECT_EQ(0, std::memcmp(a.components.data(), r.components.data(), sizeof(double) * a.components.size()));
    EXPECT_TRUE(empty());
  }
  // A source that fails after its first pass is no obstacle once rows are spilled.
  src.fail_after_reads = 300;
  src.reads = 0;
  auto os = o;
  os.spill_dir = dir;
  EXPECT_NO_THROW(melon::pca::run(src, os));
  src.fail_after_reads = 0;
  // Resumed after pass 2: its first pass makes the rows again and spills them for the rest.
  os.state_dir = temp_dir("spill_state") + "/out.h5.state";
  os.fingerprint = "input=test\n";
  os.stop_after_pass = 1;
  EXPECT_THROW(melon::pca::run(src, os), melon::pca::Stopped);
  os.stop_after_pass = -1;
  os.resume = true;
  src.fail_after_reads = 1 << 30;
  src.reads = 0;
  auto r = melon::pca::run(src, os);
  EXPECT_EQ(r.resumed_after, 1);
  EXPECT_EQ(src.reads, 300);
  EXPECT_EQ(0, std::memcmp(a.scores.data(), r.scores.data(), sizeof(double) * a.scores.size()));
  EXPECT_TRUE(empty());
  src.fail_after_reads = 0;
  // A folder that cannot take the file: a clear error naming it.
  auto bad = o;
  bad.spill_dir = dir + "/no/such/folder";
  try {
    melon::pca::run(src, bad);
    FAIL() << "no error for a missing --spill-dir";
  } catch (const melon::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--spill-dir " + bad.spill_dir), std::string::npos) << e.what();
  }
}

TEST(PcaRpca, GaussianTestMatrixIsAFunctionOfSeedAndColumnOnly) {
  std::vector<float> a(50 * 4), b(80 * 6);
  melon::pca::gaussian_matrix(3, 1, 50, 4, a.data());
  melon::pca::gaussian_matrix(3, 1, 80, 6, b.data());
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 50; ++i) ASSERT_EQ(a[j * 50 + i], b[j * 80 + i]);
  // Columns 2..5 drawn on their own (as a rank draws its block) are the same columns.
  std::vector<float> c(80 * 4);
  melon::pca::gaussian_matrix(3, 1, 80, 4, c.data(), 2);
  EXPECT_EQ(0, std::memcmp(c.data(), b.data() + 2 * 80, sizeof(float) * c.size()));
  double mean = 0, sq = 0;
  for (float x : b) {
    mean += x;
    sq += x * x;
  }
  EXPECT_NEAR(mean / b.size(), 0, 0.15);
  EXPECT_NEAR(sq / b.size(), 1, 0.2);
}

TEST(PcaCholQr, OrthonormalisesIllConditionedAndRankDeficientMatrices) {
  melon::Rng rng(5);
  for (double cond : {1e2, 1e7, 1e12}) {
    Eigen::MatrixXd g(400, 12);
    for (int i = 0; i < g.size(); ++i) g.data()[i] = rng.normal();
    auto svd = melon::test_support::exact_svd(g, melon::test_support::kThinU | melon::test_support::kThinV);
    Eigen::VectorXd s(12);
    for (int j = 0; j < 12; ++j) s[j] = std::pow(cond, -j / 11.0);
    Eigen::MatrixXd y = svd.u * s.asDiagonal() * svd.v.transpose();
    Eigen::MatrixXd y0 = y;
    auto info = melon::pca::cholqr(MPI_COMM_WORLD, y, 400);
    EXPECT_LT((y.transpose() * y - Eigen::MatrixXd::Identity(12, 12)).norm(), 1e-12) << "cond " << cond;
    EXPECT_EQ(info.shifted_steps > 0, cond > 1e6) << "cond " << cond;
    // Same column space (the leading columns at least, where the data is well resolved).
    Eigen::MatrixXd resid = y0.leftCols(3) - y * (y.transpose() * y0.leftCols(3));
    EXPECT_LT(resid.norm(), 1e-9);
  }
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(50, 4);
  y.col(0).setOnes();
  y.col(1).setOnes();  // rank 1 of 4
  for (int i = 0; i < 50; ++i) y(i, 2) = i;
  y.col(3) = y.col(2) * 2 + y.col(0);
  melon::pca::cholqr(MPI_COMM_WORLD, y, 50);
  EXPECT_TRUE(y.allFinite());
  Eigen::MatrixXd z = Eigen::MatrixXd::Zero(10, 3);
  EXPECT_THROW(melon::pca::cholqr(MPI_COMM_WORLD, z, 10), melon::Error);
}

TEST(PcaRpca, CorruptRowsAreSkippedAndListedNeverZero) {
  RowMatF m = make_matrix(400, 80, 20, 30.0, 0.8, 1e-3, 6);
  MatrixRows src(m, 0, m.rows());
  src.bad = {0, 17, 399};
  auto r = melon::pca::run(src, quiet(4, 6, 1));
  EXPECT_EQ(r.rows_total, 397);
  EXPECT_EQ(r.skipped_total, 3);
  ASSERT_EQ(r.skipped.size(), 3u);
  EXPECT_EQ(r.skipped[1].candidate, 17);
  EXPECT_NE(r.skipped[1].reason.find("corrupt"), std::string::npos);
  EXPECT_EQ(r.rows.size(), 397u);
  EXPECT_EQ(std::count(r.rows.begin(), r.rows.end(), 17), 0);
  // The result is the PCA of the remaining rows.
  RowMatF kept(397, 80);
  for (int i = 0, j = 0; i < 400; ++i)
    if (!src.bad.count(i)) kept.row(j++) = m.row(i);
  Exact ex = exact_pca(kept);
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(r.singular_values[j] / ex.s[j], 1.0, 1e-3);
}

TEST(PcaRpca, BadInputIsAClearError) {
  RowMatF m = make_matrix(20, 30, 5, 10.0, 0.8, 1e-3, 7);
  MatrixRows src(m, 0, m.rows());
  auto expect_error = [&](const melon::pca::Options& o, const std::string& words) {
    try {
      melon::pca::run(src, o);
      FAIL() << "no error, expected: " << words;
    } catch (const melon::Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expect_error(quiet(25, 2, 1), "exceed the 20 songs given");
  expect_error(quiet(31, 2, 1), "exceed the feature dimension D = 30");
  expect_error(quiet(0, 2, 1), "--components");
  src.bad = {0, 1, 2};
  expect_error(quiet(18, 2, 1), "exceed the 17 songs read");
  for (int i = 0; i < 20; ++i) src.bad.insert(i);
  expect_error(quiet(2, 2, 1), "no readable rows");
  src.bad.clear();
  src.fail_after_reads = 25;  // readable in the first pass, gone in the second
  expect_error(quiet(2, 2, 1), "was read in the first pass but now fails: disk gone");
}

TEST(PcaRpca, ResumesFromEachPassWithIdenticalBits) {
  RowMatF m = make_matrix(300, 70, 20, 30.0, 0.8, 1e-2, 8);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(5, 5, 2);
  o.method = melon::pca::Method::Power;
  auto full = melon::pca::run(src, o);
  const std::string dir = temp_dir("resume");
  o.state_dir = dir + "/out.h5.state";
  o.fingerprint = "input=test\n";
  for (int stop : {0, 2, 5}) {
    auto r = stop_and_resume(src, o, stop);
    EXPECT_EQ(static_cast<int>(r.passes.size()), 6 - stop - 1);
    EXPECT_EQ(0, std::memcmp(full.scores.data(), r.scores.data(), sizeof(double) * full.scores.size())) << stop;
    EXPECT_EQ(0, std::memcmp(full.components.data(), r.components.data(), sizeof(double) * full.components.size()));
  }
  // Saves spaced out (--checkpoint-every): a stop still saves its pass, and a
  // resume from an older save gives the same bits.
  auto spaced = o;
  spaced.checkpoint_seconds = 1e9;
  spaced.stop_after_pass = 3;
  EXPECT_THROW(melon::pca::run(src, spaced), melon::pca::Stopped);
  spaced.stop_after_pass = -1;
  spaced.resume = true;
  auto r3 = melon::pca::run(src, spaced);
  EXPECT_EQ(r3.resumed_after, 3);
  EXPECT_EQ(0, std::memcmp(full.scores.data(), r3.scores.data(), sizeof(double) * full.scores.size()));
  // Another setting: refuse, naming it.
  auto os = o;
  os.stop_after_pass = 1;
  EXPECT_THROW(melon::pca::run(src, os), melon::pca::Stopped);
  auto other = o;
  other.resume = true;
  other.seed = 99;
  expect_run_error(src, other, "seed=7");
  std::filesystem::remove_all(dir);
}

// Krylov's state carries every block kept so far: a resume after any pass
// (before, between and after the blocks are joined) gives the same bits.
TEST(PcaRpca, KrylovResumesAfterEveryPassWithIdenticalBits) {
  RowMatF m = make_matrix(300, 70, 20, 30.0, 0.8, 1e-2, 8);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(5, 5, 2);
  o.method = melon::pca::Method::Krylov;
  const auto full = melon::pca::run(src, o);
  EXPECT_GT(full.basis, full.sketch);
  const std::string dir = temp_dir("resume_krylov");
  o.state_dir = dir + "/out.h5.state";
  o.fingerprint = "input=test\n";
  for (int stop = 0; stop < melon::pca::pass_count(o); ++stop) {
    SCOPED_TRACE("stopped after pass " + std::to_string(stop));
    const auto r = stop_and_resume(src, o, stop);
    EXPECT_EQ(r.basis, full.basis);
    EXPECT_EQ(0, std::memcmp(full.scores.data(), r.scores.data(), sizeof(double) * full.scores.size()));
    EXPECT_EQ(0, std::memcmp(full.components.data(), r.components.data(), sizeof(double) * full.components.size()));
    EXPECT_EQ(0, std::memcmp(full.singular_values.data(), r.singular_values.data(), sizeof(double) * full.k));
  }
  std::filesystem::remove_all(dir);
}

TEST(PcaRpca, ResumeRefusesAStateOfTheOtherMethodNamingTheFile) {
  RowMatF m = make_matrix(200, 40, 10, 20.0, 0.8, 1e-2, 12);
  MatrixRows src(m, 0, m.rows());
  const std::string dir = temp_dir("resume_method");
  using melon::pca::Method;
  for (auto [saved, now] : {std::pair{Method::Krylov, Method::Power}, std::pair{Method::Power, Method::Krylov}}) {
    auto o = quiet(4, 4, 1);
    o.state_dir = dir + "/out.h5.state";
    o.fingerprint = "input=test\n";
    o.method = saved;
    o.stop_after_pass = 2;
    EXPECT_THROW(melon::pca::run(src, o), melon::pca::Stopped);
    o.stop_after_pass = -1;
    o.resume = true;
    o.method = now;
    try {
      melon::pca::run(src, o);
      FAIL() << "a " << melon::pca::method_name(saved) << " state was resumed by " << melon::pca::method_name(now);
    } catch (const melon::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(o.state_dir + "/CHECKPOINT"), std::string::npos) << what;
      EXPECT_NE(what.find(std::string("saved 'method=") + melon::pca::method_name(saved) +
                          "' vs now 'method=" + melon::pca::method_name(now) + "'"),
                std::string::npos)
          << what;
    }
  }
  std::filesystem::remove_all(dir);
}

// The top k of r against the exact SVD: singular values within 1e-5,
// components within `angle` (largest principal angle's sine), orthonormal.
void expect_exact_top_k(const melon::pca::Result& r, const Exact& ex, int k, double angle) {
  for (int j = 0; j < k; ++j) EXPECT_NEAR(r.singular_values[j] / ex.s[j], 1.0, 1e-5) << "sigma_" << j;
  EXPECT_LT(max_angle_sin(ex.v.leftCols(k), r.components.transpose()), angle);
  EXPECT_LT((r.components * r.components.transpose() - Eigen::MatrixXd::Identity(k, k)).norm(), 1e-9);
}

// (q + 1) l = 30 block columns for D = 24 features: every block lies in the
// range of Ac, so the basis keeps at most D directions (the rest are
// rounding) and the answer is still exact.
TEST(PcaRpca, KrylovWithMoreBlockColumnsThanFeaturesStillMatchesExactSvd) {
  RowMatF m = make_matrix(300, 24, 24, 40.0, 0.85, 1e-3, 13);
  Exact ex = exact_pca(m);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(4, 6, 2);
  o.method = melon::pca::Method::Krylov;
  const auto r = melon::pca::run(src, o);
  EXPECT_GE(r.basis, 10);
  EXPECT_LE(r.basis, 24);
  expect_exact_top_k(r, ex, 4, 1e-3);
}

// A spectrum spanning 1e-5 (sigma_j = 100 * 0.2^j, D = 8): the later blocks'
// float rounding, blown up by the orthonormalisation, leaves directions
// outside the range of Ac above the basis tolerance, so the basis is wider
// than D and B is taken apart directly: still the exact answer.
TEST(PcaRpca, KrylovBasisWiderThanTheFeaturesFromRoundingStillMatchesExactSvd) {
  RowMatF m = make_matrix(300, 8, 8, 100.0, 0.2, 0.0, 14);
  Exact ex = exact_pca(m);
  MatrixRows src(m, 0, m.rows());
  auto o = quiet(4, 4, 2);
  o.method = melon::pca::Method::Krylov;
  const auto r = melon::pca::run(src, o);
  EXPECT_GT(r.basis, 8);
  expect_exact_top_k(r, ex, 4, 1e-4);
}

// [Q0 Q1] with Q1 repeating three of Q0's directions: five of eight kept,
// orthonormal and spanning the input; a zero matrix is an error.
TEST(PcaCholQr, OrthonormalBasisDropsDependentDirections) {
  melon::Rng rng(17);
  Eigen::MatrixXd g(300, 5);
  for (int i = 0; i < g.size(); ++i) g.data()[i] = rng.normal();
  Eigen::MatrixXd q0 = Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ() * Eigen::MatrixXd::Identity(300, 4);
  Eigen::MatrixXd y(300, 8);
  y.leftCols(4) = q0;
  y.col(4) = g.col(4);
  y.rightCols(3) = q0.leftCols(3) * Eigen::MatrixXd::Random(3, 3) + 1e-12 * Eigen::MatrixXd::Random(300, 3);
  const Eigen::MatrixXd y0 = y;
  EXPECT_EQ(melon::pca::orthonormal_basis(MPI_COMM_WORLD, y, 300), 5);
  ASSERT_EQ(y.cols(), 5);
  EXPECT_LT((y.transpose() * y - Eigen::MatrixXd::Identity(5, 5)).norm(), 1e-12);
  EXPECT_LT((y0 - y * (y.transpose() * y0)).norm() / y0.norm(), 1e-10);
  Eigen::MatrixXd z = Eigen::MatrixXd::Zero(10, 3);
  EXPECT_THROW(melon::pca::orthonormal_basis(MPI_COMM_WORLD, z, 10), melon::Error);
}

TEST(PcaOutput, WritesTheDocumentedDatasetsAtomically) {
  RowMatF m = make_matrix(120, 40, 10, 20.0, 0.8, 1e-3, 9);
  MatrixRows src(m, 0, m.rows());
  src.bad = {5};
  auto r = melon::pca::run(src, quiet(3, 4, 1));
  std::vector<melon::arena::SongId> ids;
  for (auto c : r.rows) ids.push_back(static_cast<melon::arena::SongId>(1000 + c));
  std::vector<melon::pca::SkippedSong> skipped = {{1005, "corrupt"}, {999, "missing file"}};
  melon::pca::Attributes attrs;
  attrs.ints = {{"k", 3}};
  attrs.text = {{"input", "test"}};
  const std::string dir = temp_dir("out");
  const std::string path = dir + "/pca.h5";
  melon::pca::write_output(MPI_COMM_NULL, path, r, ids, skipped, attrs);
  int entries = 0;
  for (auto it = std::filesystem::directory_iterator(dir); it != std::filesystem::directory_iterator(); ++it) ++entries;
  EXPECT_EQ(entries, 1);  // no temp file left
  auto f = melon::h5::File::open(path, MPI_COMM_NULL);
  auto sid = melon::h5::read_all<std::int32_t>(f, "song_ids");
  ASSERT_EQ(sid.size(), 119u);
  EXPECT_EQ(sid[5], 1006);
  auto scores = melon::h5::Dataset::open(f, "scores");
  EXPECT_EQ(scores.dims(), (std::vector<hsize_t>{119, 3}));
  EXPECT_EQ(scores.type(), melon::h5::Type::F32);
  auto sc = melon::h5::read_all<float>(f, "scores");
  EXPECT_FLOAT_EQ(sc[7 * 3 + 2], static_cast<float>(r.scores(7, 2)));
  auto comp = melon::h5::read_all<double>(f, "components");
  EXPECT_EQ(comp[1 * 40 + 3], r.components(1, 3));
  EXPECT_EQ(melon::h5::read_all<double>(f, "mean").size(), 40u);
  EXPECT_EQ(melon::h5::read_all<double>(f, "singular_values")[0], r.singular_values[0]);
  EXPECT_EQ(melon::h5::read_all<double>(f, "explained_variance_ratio").size(), 3u);
  EXPECT_EQ(melon::h5::read_all<std::int32_t>(f, "skipped_song_ids"), (std::vector<std::int32_t>{999, 1005}));
  auto why = melon::h5::Dataset::open(f, "skipped_reasons").read_strings();
  EXPECT_EQ(why[0], "missing file");
  EXPECT_EQ(f.attr_int("k"), 3);
  EXPECT_EQ(f.attr_string("melon_version"), MELON_VERSION);
  EXPECT_EQ(f.attr_int("n_songs"), 119);
  f.close();
  std::filesystem::remove_all(dir);
}

TEST(PcaOutput, ReadScoresGivesBackTheSongsAndScoresWritten) {
  RowMatF m = make_matrix(60, 24, 6, 20.0, 0.8, 1e-3, 4);
  MatrixRows src(m, 0, m.rows());
  auto r = melon::pca::run(src, quiet(3, 4, 1));
  std::vector<melon::arena::SongId> ids;
  for (auto c : r.rows) ids.push_back(static_cast<melon::arena::SongId>(10 + 2 * c));
  const std::string dir = temp_dir("read_scores");
  const std::string path = dir + "/pca.h5";
  melon::pca::write_output(MPI_COMM_NULL, path, r, ids, {}, {});
  auto s = melon::pca::read_scores(path);
  EXPECT_EQ(s.ids, ids);
  EXPECT_EQ(s.dim, 3);
  ASSERT_EQ(s.scores.size(), 60u * 3);
  for (int i = 0; i < 60; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(s.scores[i * 3 + j], static_cast<float>(r.scores(i, j)));
  {
    auto f = melon::h5::File::create(path, MPI_COMM_NULL);  // scores for 3 songs, ids for 2
    std::vector<std::int32_t> two{2, 5};
    std::vector<float> sc{1, 0, 2};
    melon::h5::Dataset::create(f, "song_ids", melon::h5::Type::I32, {2}).write_rows(0, 2, two.data());
    melon::h5::Dataset::create(f, "scores", melon::h5::Type::F32, {3, 1}).write_rows(0, 3, sc.data());
    f.close();
  }
  try {
    melon::pca::read_scores(path);
    FAIL();
  } catch (const melon::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'song_ids' must be 1-D with one entry per row of 'scores' (3)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(melon::pca::read_scores(dir + "/missing.h5"), melon::Error);
  std::filesystem::remove_all(dir);
}

}  // namespace

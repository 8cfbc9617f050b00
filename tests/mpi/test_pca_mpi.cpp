// Distributed randomized PCA under MPI (run by CTest with 1, 2 and 3 ranks).
// Rank counts are compared inside one launch: the job is split into
// sub-communicators of 1..P ranks that each run the same PCA, and world rank 0
// (a member of every one) compares the answers. Every verdict is agreed with
// mpi::any so that no rank waits on another's failed assertion.
// GCC 12 false positive inside Eigen's AVX-512 packet code (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/pca/output.hpp"
#include "melon/pca/rpca.hpp"
#include "melon/util/eigen.hpp"
#include "melon/util/rng.hpp"
#include "../support/exact_svd.hpp"
#include "../support/spectra.hpp"

namespace {

namespace mpi = melon::mpi;
namespace pca = melon::pca;
using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

RowMatF make_matrix(int n, int d, int rank, double sigma0, double decay, double noise, std::uint64_t seed) {
  return melon::test_support::decaying_spectrum(n, d, rank, sigma0, decay, noise, seed, -2.0, 0.02);
}

class MatrixRows : public pca::RowSource {
 public:
  MatrixRows(const RowMatF& m, std::int64_t begin, std::int64_t end) : m_(m), begin_(begin), end_(end) {}
  std::int64_t size() const override { return end_ - begin_; }
  int dim() const override { return static_cast<int>(m_.cols()); }
  std::int64_t key(std::int64_t i) const override { return begin_ + i; }
  pca::RowStatus row(std::int64_t i, float* out) const override {
    pca::RowStatus st;
    const std::int64_t g = begin_ + i;
    if (all_bad || bad.count(g) || (fail_after_reads > 0 && ++reads > fail_after_reads)) {
      st.ok = false;
      st.reason = "unreadable row " + std::to_string(g);
      return st;
    }
    std::memcpy(out, m_.data() + g * m_.cols(), sizeof(float) * m_.cols());
    st.bytes = sizeof(float) * m_.cols();
    return st;
  }
  std::set<std::int64_t> bad;
  bool all_bad = false;
  std::int64_t fail_after_reads = 0;
  mutable std::atomic<std::int64_t> reads{0};

 private:
  const RowMatF& m_;
  std::int64_t begin_, end_;
};

pca::Options opts(int k, int p, int q) {
  pca::Options o;
  o.components = k;
  o.oversample = p;
  o.power_iters = q;
  o.seed = 11;
  o.block = 29;
  o.progress = false;
  return o;
}

struct Gathered {
  RowMatD scores;  // all rows, global order (world rank 0 only)
  Eigen::MatrixXd components;
  Eigen::VectorXd sv, ratio;
  int iterations = 0;
};

std::string bytes_of(const RowMatD& m) {
  return std::string(reinterpret_cast<const char*>(m.data()), sizeof(double) * m.size());
}

// Runs the PCA on world ranks [0, s) with rows split evenly; world rank 0 gets the whole answer.
Gathered run_on(int s, const RowMatF& m, pca::Options o) {
  const int wr = mpi::rank(mpi::world());
  mpi::SplitComm sub(MPI_COMM_WORLD, wr < s ? 0 : -1, wr);
  Gathered g;
  if (sub.get() != MPI_COMM_NULL) {
    auto r = mpi::block_range(m.rows(), mpi::rank(sub.get()), s);
    MatrixRows src(m, r.begin, r.end);
    o.comm = sub.get();
    auto res = pca::run(src, o);
    RowMatD mine = res.scores;
    std::string all = mpi::gather_bytes(sub.get(), bytes_of(mine));
    if (wr == 0) {
      g.scores.resize(m.rows(), res.k);
      EXPECT_EQ(all.size(), sizeof(double) * g.scores.size());
      std::memcpy(g.scores.data(), all.data(), std::min(all.size(), sizeof(double) * g.scores.size()));
      g.components = res.components;
      g.sv = res.singular_values;
      g.ratio = res.explained_variance_ratio;
      g.iterations = res.iterations;
    }
  }
  mpi::barrier(mpi::world());
  return g;
}

std::string shared_temp_dir() {
  std::string dir;
  if (mpi::rank(mpi::world()) == 0) {
    std::string t = ::testing::TempDir() + "melon_pca_mpi_XXXXXX";
    EXPECT_NE(::mkdtemp(t.data()), nullptr);
    dir = t;
  }
  mpi::bcast(mpi::world(), dir);
  return dir;
}

// Power, block Krylov, single-pass and power stopped by --tol alike (which
// stops after the same iteration whatever the rank count).
TEST(PcaMpi, SameAnswerForEveryRankCountWithin1e5) {
  const int P = mpi::size(mpi::world());
  RowMatF m = make_matrix(600, 150, 30, 80.0, 0.8, 1e-2, 21);
  struct Mode {
    const char* name;
    bool single;
    pca::Method method;
    double tol;
  };
  for (Mode mode : {Mode{"multi-pass power", false, pca::Method::Power, 0},
                    Mode{"multi-pass krylov", false, pca::Method::Krylov, 0}, Mode{"single-pass", true, {}, 0},
                    Mode{"power --tol 1e-4", false, pca::Method::Power, 1e-4}}) {
    const bool single = mode.single;
    auto o = opts(6, 8, mode.tol > 0 ? 8 : 2);
    o.single_pass = single;
    o.method = mode.method;
    o.tol = mode.tol;
    std::vector<Gathered> g;
    for (int s = 1; s <= P; ++s) g.push_back(run_on(s, m, o));
    bool bad = false;
    if (mpi::rank(mpi::world()) == 0) {
      for (int s = 2; s <= P; ++s) {
        const auto &a = g[0], &b = g[s - 1];
        double dc = (a.components - b.components).cwiseAbs().maxCoeff();
        double dsv = ((a.sv - b.sv).array() / a.sv.array()).abs().maxCoeff();
        double dsc = (a.scores - b.scores).cwiseAbs().maxCoeff() / a.scores.cwiseAbs().maxCoeff();
        double dr = (a.ratio - b.ratio).cwiseAbs().maxCoeff();
        std::printf("[pca] %d ranks vs 1 (%s): max |d component| %.2e, |d sigma|/sigma %.2e, |d score|/max %.2e\n", s,
                    mode.name, dc, dsv, dsc);
        EXPECT_LT(dc, 1e-5) << s << " ranks vs 1, " << mode.name;
        EXPECT_LT(dsv, 1e-5) << s << " ranks vs 1";
        EXPECT_LT(dsc, 1e-5) << s << " ranks vs 1";
        EXPECT_LT(dr, 1e-6) << s << " ranks vs 1";
        EXPECT_EQ(a.iterations, b.iterations) << s << " ranks vs 1, " << mode.name;
        if (mode.tol > 0) {
          EXPECT_LT(a.iterations, 8) << "--tol never stopped early";
        }
        bad |= !(dc < 1e-5 && dsv < 1e-5 && dsc < 1e-5 && dr < 1e-6 && a.iterations == b.iterations);
      }
    }
    EXPECT_FALSE(mpi::any(mpi::world(), bad));
  }
}

void accurate_and_bit_identical(pca::Method method) {
  RowMatF m = make_matrix(500, 120, 25, 50.0, 0.75, 1e-3, 22);
  auto o = opts(5, 10, 2);
  o.method = method;
  auto r = mpi::block_range(m.rows(), mpi::rank(mpi::world()), mpi::size(mpi::world()));
  MatrixRows src(m, r.begin, r.end);
  auto a = pca::run(src, o);
  auto b = pca::run(src, o);
  bool same = a.scores.size() == b.scores.size() &&
              0 == std::memcmp(a.scores.data(), b.scores.data(), sizeof(double) * a.scores.size()) &&
              0 == std::memcmp(a.components.data(), b.components.data(), sizeof(double) * a.components.size()) &&
              0 == std::memcmp(a.singular_values.data(), b.singular_values.data(), sizeof(double) * a.k);
  EXPECT_TRUE(same);
  EXPECT_FALSE(mpi::any(mpi::world(), !same));
  EXPECT_EQ(a.row_offset, r.begin);
  bool bad = false;
  if (mpi::rank(mpi::world()) == 0) {
    Eigen::MatrixXd ac = m.cast<double>();
    ac.rowwise() -= ac.colwise().mean();
    const auto svd = melon::test_support::exact_svd(ac, melon::test_support::kThinV);
    for (int j = 0; j < 5; ++j) {
      double rel = std::fabs(a.singular_values[j] / svd.s[j] - 1);
      EXPECT_LT(rel, 1e-3) << "sigma_" << j;
      bad |= !(rel < 1e-3);
    }
    double c = melon::test_support::principal_cosines(svd.v.leftCols(5), a.components.transpose()).minCoeff();
    EXPECT_GT(c, 1 - 1e-6);  // largest principal angle below ~1e-3 rad
    bad |= !(c > 1 - 1e-6);
  }
  EXPECT_FALSE(mpi::any(mpi::world(), bad));
}

TEST(PcaMpi, AccurateAgainstExactSvdAndBitIdenticalWhenRepeated) {
  for (auto method : {pca::Method::Power, pca::Method::Krylov}) {
    SCOPED_TRACE(pca::method_name(method));
    accurate_and_bit_identical(method);
  }
}

TEST(PcaMpi, ARankWithNoReadableRowsOrNoRowsAtAll) {
  const int P = mpi::size(mpi::world()), rank = mpi::rank(mpi::world());
  RowMatF m = make_matrix(450, 90, 20, 40.0, 0.8, 1e-3, 23);
  auto r = mpi::block_range(m.rows(), rank, P);
  MatrixRows src(m, r.begin, r.end);
  std::int64_t expected_skips = 0, kept_begin = 0, kept_end = m.rows();
  if (P >= 2) {
    src.all_bad = rank == P - 1;  // every file of the last rank is corrupt
    auto last = mpi::block_range(m.rows(), P - 1, P);
    expected_skips = last.end - last.begin;
    kept_end = last.begin;
  } else {
    for (int i = 400; i < 450; ++i) src.bad.insert(i);
    expected_skips = 50;
    kept_end = 400;
  }
  auto res = pca::run(src, opts(4, 6, 1));
  EXPECT_EQ(res.skipped_total, expected_skips);
  EXPECT_EQ(res.rows_total, kept_end - kept_begin);
  if (src.all_bad) {
    EXPECT_EQ(res.scores.rows(), 0);
  }
  bool bad = false;
  if (rank == 0) {
    Eigen::MatrixXd ac = m.topRows(kept_end).cast<double>();
    ac.rowwise() -= ac.colwise().mean();
    const auto svd = melon::test_support::exact_svd(ac);
    for (int j = 0; j < 4; ++j) {
      double rel = std::fabs(res.singular_values[j] / svd.s[j] - 1);
      EXPECT_LT(rel, 1e-3);
      bad |= !(rel < 1e-3);
    }
  }
  EXPECT_FALSE(mpi::any(mpi::world(), bad));
  // A rank that owns no songs at all is legal too.
  MatrixRows none_or_all(m, rank == P - 1 && P > 1 ? 0 : r.begin, rank == P - 1 && P > 1 ? 0 : r.end);
  auto res2 = pca::run(none_or_all, opts(4, 6, 1));
  EXPECT_EQ(res2.rows_total, P > 1 ? kept_end : 450);
}

TEST(PcaMpi, BadInputFailsOnEveryRankWithoutHanging) {
  const int P = mpi::size(mpi::world()), rank = mpi::rank(mpi::world());
  RowMatF m = make_matrix(40, 50, 8, 10.0, 0.8, 1e-3, 24);
  auto r = mpi::block_range(m.rows(), rank, P);
  auto expect_error = [&](MatrixRows& src, const pca::Options& o, const std::string& words) {
    bool threw = false;
    try {
      pca::run(src, o);
    } catch (const melon::Error& e) {
      threw = true;
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_TRUE(threw) << "expected an error: " << words;
    mpi::barrier(mpi::world());  // reached only if no rank hangs
  };
  {
    MatrixRows src(m, r.begin, r.end);
    src.all_bad = true;  // every file missing or corrupt, on every rank
    expect_error(src, opts(2, 2, 1), "no readable rows");
  }
  {
    MatrixRows src(m, r.begin, r.end);
    expect_error(src, opts(41, 2, 1), "exceed the 40 songs given");
  }
  {
    // Rank 0 loses its data after the first pass; the others are fine: all must stop.
    MatrixRows src(m, r.begin, r.end);
    if (rank == 0) src.fail_after_reads = r.end - r.begin;
    expect_error(src, opts(2, 2, 1), P > 1 ? "rank 0: row" : "was read in the first pass but now fails");
  }
}

TEST(PcaMpi, ResumeGivesIdenticalBitsAndParallelHdf5Output) {
  const int P = mpi::size(mpi::world()), rank = mpi::rank(mpi::world());
  RowMatF m = make_matrix(360, 80, 20, 30.0, 0.8, 1e-2, 25);
  auto r = mpi::block_range(m.rows(), rank, P);
  MatrixRows src(m, r.begin, r.end);
  src.bad = {7, 200};
  auto o = opts(4, 5, 2);
  auto full = pca::run(src, o);
  const std::string dir = shared_temp_dir();
  o.state_dir = dir + "/pca.h5.state";
  o.fingerprint = "test\n";
  auto os = o;
  os.stop_after_pass = 2;
  bool stopped = false;
  try {
    pca::run(src, os);
  } catch (const pca::Stopped&) {
    stopped = true;
  }
  EXPECT_TRUE(stopped);
  o.resume = true;
  auto res = pca::run(src, o);
  EXPECT_EQ(res.resumed_after, 2);
  bool same = 0 == std::memcmp(full.scores.data(), res.scores.data(), sizeof(double) * full.scores.size()) &&
              0 == std::memcmp(full.components.data(), res.components.data(), sizeof(double) * full.components.size());
  EXPECT_TRUE(same);
  EXPECT_FALSE(mpi::any(mpi::world(), !same));

  // Parallel HDF5: each rank writes its own rows; rank 0 reads the file back.
  std::vector<melon::arena::SongId> ids;
  for (auto c : res.rows) ids.push_back(static_cast<melon::arena::SongId>(r.begin + c));
  std::vector<pca::SkippedSong> skipped;
  for (auto& s : res.skipped) skipped.push_back({static_cast<melon::arena::SongId>(r.begin + s.candidate), s.reason});
  pca::Attributes attrs;
  attrs.ints = {{"ranks", P}};
  const std::string path = dir + "/pca.h5";
  pca::write_output(MPI_COMM_WORLD, path, res, ids, skipped, attrs);
  RowMatD mine = res.scores;
  std::string all = mpi::gather_bytes(mpi::world(), bytes_of(mine));
  bool bad = false;
  if (rank == 0) {
    auto f = melon::h5::File::open(path, MPI_COMM_NULL);
    auto sid = melon::h5::read_all<std::int32_t>(f, "song_ids");
    EXPECT_EQ(sid.size(), 358u);
    for (std::size_t i = 1; i < sid.size(); ++i) bad |= sid[i] <= sid[i - 1];
    EXPECT_FALSE(bad) << "song ids not ascending";
    auto sc = melon::h5::read_all<float>(f, "scores");
    ASSERT_EQ(sc.size() * sizeof(double), all.size() / 1);
    std::vector<double> want(sc.size());
    std::memcpy(want.data(), all.data(), all.size());
    for (std::size_t i = 0; i < sc.size(); ++i) bad |= sc[i] != static_cast<float>(want[i]);
    EXPECT_FALSE(bad) << "scores differ from the ranks' rows";
    EXPECT_EQ(melon::h5::read_all<std::int32_t>(f, "skipped_song_ids"), (std::vector<std::int32_t>{7, 200}));
    EXPECT_EQ(f.attr_int("ranks"), P);
    f.close();
  }
  EXPECT_FALSE(mpi::any(mpi::world(), bad));
  mpi::barrier(mpi::world());
  if (rank == 0) std::filesystem::remove_all(dir);
}

}  // namespace

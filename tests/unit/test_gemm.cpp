// util/gemm: the row-major BLAS contract (transposes, strided sub-blocks,
// alpha and beta, C never read when beta = 0) on both backends, against a
// product summed in long double; and the symmetric positive definite inverse
// EASE solves with.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "melon/util/gemm.hpp"

using namespace melon;

namespace {

struct Case {
  bool ta, tb;
  std::int64_t m, n, k;
  float alpha, beta;
};

// A and B inside larger row-major arrays (leading dimension = width + pad),
// C a block in the middle of a larger array whose other entries must survive.
struct Operands {
  std::int64_t lda, ldb, ldc;
  std::vector<float> a, b, c;
};

Operands make(const Case& t, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  Operands o;
  const std::int64_t a_rows = t.ta ? t.k : t.m, a_cols = t.ta ? t.m : t.k;
  const std::int64_t b_rows = t.tb ? t.n : t.k, b_cols = t.tb ? t.k : t.n;
  o.lda = a_cols + 3;
  o.ldb = b_cols + 5;
  o.ldc = t.n + 7;
  o.a.resize(static_cast<std::size_t>(a_rows * o.lda));
  o.b.resize(static_cast<std::size_t>(b_rows * o.ldb));
  o.c.resize(static_cast<std::size_t>(t.m * o.ldc));
  for (auto& x : o.a) x = u(rng);
  for (auto& x : o.b) x = u(rng);
  for (auto& x : o.c) x = u(rng);
  return o;
}

long double exact(const Case& t, const Operands& o, const std::vector<float>& c0, std::int64_t i, std::int64_t j) {
  long double s = 0;
  for (std::int64_t p = 0; p < t.k; ++p) {
    const float x = t.ta ? o.a[p * o.lda + i] : o.a[i * o.lda + p];
    const float y = t.tb ? o.b[j * o.ldb + p] : o.b[p * o.ldb + j];
    s += static_cast<long double>(x) * y;
  }
  long double r = static_cast<long double>(t.alpha) * s;
  if (t.beta != 0) r += static_cast<long double>(t.beta) * c0[i * o.ldc + j];
  return r;
}

// Relative to the sum of |terms|: float rounding over k terms.
void expect_product(util::GemmBackend be, const Case& t) {
  Operands o = make(t, static_cast<std::uint32_t>(t.m * 131 + t.n * 17 + t.k));
  std::vector<float> c0 = o.c;
  if (t.beta == 0)  // beta = 0: C's old contents, even NaN, must not leak in
    for (std::int64_t i = 0; i < t.m; ++i)
      for (std::int64_t j = 0; j < t.n; ++j) o.c[i * o.ldc + j] = std::numeric_limits<float>::quiet_NaN();
  util::gemm_on(be, t.ta, t.tb, t.m, t.n, t.k, t.alpha, o.a.data(), o.lda, o.b.data(), o.ldb, t.beta, o.c.data(),
                o.ldc);
  double worst = 0;
  for (std::int64_t i = 0; i < t.m; ++i)
    for (std::int64_t j = 0; j < o.ldc; ++j) {
      if (j >= t.n) {  // outside the block: untouched
        ASSERT_EQ(o.c[i * o.ldc + j], c0[i * o.ldc + j]) << "wrote outside C at " << i << "," << j;
        continue;
      }
      const double want = static_cast<double>(exact(t, o, c0, i, j));
      const double bound = 1e-5 * (std::fabs(t.alpha) * t.k + std::fabs(t.beta)) + 1e-6;
      worst = std::max(worst, std::fabs(o.c[i * o.ldc + j] - want) / bound);
    }
  EXPECT_LE(worst, 1.0) << "ta " << t.ta << " tb " << t.tb << " " << t.m << "x" << t.n << "x" << t.k;
}

const Case kCases[] = {
    {false, false, 37, 29, 53, 1, 0}, {false, true, 37, 29, 53, 1, 0},   {true, false, 37, 29, 53, 1, 0},
    {true, true, 37, 29, 53, 1, 0},   {false, true, 64, 300, 128, 2, 1}, {false, false, 5, 7, 1000, 0.5f, -1},
    {true, false, 1, 1, 1, 1, 0.25f}, {false, false, 3, 4, 0, 1, 0.5f},
};

}  // namespace

TEST(Gemm, EigenBackendComputesTheRowMajorBlasContract) {
  for (const Case& t : kCases) expect_product(util::GemmBackend::Eigen, t);
}

TEST(Gemm, OpenBlasBackendComputesTheRowMajorBlasContract) {
  if (!util::openblas_available()) GTEST_SKIP() << "OpenBLAS not installed (Debian: libopenblas0-pthread)";
  for (const Case& t : kCases) expect_product(util::GemmBackend::OpenBlas, t);
}

TEST(Gemm, TheSameBackendGivesTheSameBitsEveryTime) {
  const Case t{false, true, 256, 2048, 512, 1, 0};
  Operands o = make(t, 9);
  std::vector<float> first;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<float> c = o.c;
    util::gemm(t.ta, t.tb, t.m, t.n, t.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, c.data(), o.ldc);
    if (rep == 0) first = c;
    else EXPECT_EQ(first, c) << "repeat " << rep << " on " << util::gemm_backend().describe;
  }
}

TEST(Gemm, DoubleProductsUseTheSameContract) {
  // 2x3 (A^T of a 3x2) times 3x2 into a 2x2 block with beta = 1.
  const std::vector<double> a = {1, 2, 3, 4, 5, 6};  // 3 x 2
  const std::vector<double> b = {1, 0, 0, 1, 1, 1};  // 3 x 2
  std::vector<double> c = {10, 20, 30, 40};
  util::gemm(true, false, 2, 2, 3, 1.0, a.data(), 2, b.data(), 2, 1.0, c.data(), 2);
  EXPECT_EQ(c, (std::vector<double>{10 + 1 + 5, 20 + 3 + 5, 30 + 2 + 6, 40 + 4 + 6}));
}

namespace {

// A Gram matrix of 0/1 rows plus lambda I, as EASE builds it: positive definite.
std::vector<double> gram_plus_lambda(std::int64_t n, double lambda) {
  std::mt19937 rng(5);
  const std::int64_t rows = 3 * n;
  std::vector<double> x(static_cast<std::size_t>(rows * n));
  for (auto& v : x) v = rng() % 4 == 0 ? 1.0 : 0.0;
  std::vector<double> g(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) g[static_cast<std::size_t>(i * n + j)] += x[r * n + i] * x[r * n + j];
  for (std::int64_t i = 0; i < n; ++i) g[static_cast<std::size_t>(i * n + i)] += lambda;
  return g;
}

// A times its computed inverse is the identity, and both triangles are filled.
void expect_inverse(util::GemmBackend backend, std::int64_t n) {
  const auto a = gram_plus_lambda(n, 3.0);
  auto inv = a;
  ASSERT_TRUE(util::spd_inverse_on(backend, inv.data(), n)) << "n " << n;
  double worst = 0, asym = 0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      long double s = 0;
      for (std::int64_t k = 0; k < n; ++k)
        s += static_cast<long double>(a[i * n + k]) * inv[static_cast<std::size_t>(k * n + j)];
      worst = std::max(worst, static_cast<double>(std::fabs(s - (i == j ? 1.0L : 0.0L))));
      asym = std::max(asym, std::abs(inv[i * n + j] - inv[j * n + i]));
    }
  EXPECT_LT(worst, 1e-10) << "n " << n;
  EXPECT_LT(asym, 1e-12) << "n " << n << ": the inverse is not symmetric (a triangle left unwritten?)";
}

void expect_refuses_indefinite(util::GemmBackend backend) {
  auto a = gram_plus_lambda(40, 3.0);
  a[7 * 40 + 7] = -5.0;  // a negative diagonal entry: not positive definite
  EXPECT_FALSE(util::spd_inverse_on(backend, a.data(), 40));
  auto nan = gram_plus_lambda(40, 3.0);
  nan[0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(util::spd_inverse_on(backend, nan.data(), 40));
}

}  // namespace

TEST(SpdInverse, EigenBackendInvertsAGramMatrixPlusLambda) {
  for (std::int64_t n : {1, 2, 17, 130}) expect_inverse(util::GemmBackend::Eigen, n);
}

TEST(SpdInverse, OpenBlasLapackInvertsAGramMatrixPlusLambda) {
  if (!util::openblas_available()) GTEST_SKIP() << "OpenBLAS not installed (Debian: libopenblas0-pthread)";
  for (std::int64_t n : {1, 2, 17, 130}) expect_inverse(util::GemmBackend::OpenBlas, n);
}

TEST(SpdInverse, EigenBackendRefusesAMatrixThatIsNotPositiveDefinite) {
  expect_refuses_indefinite(util::GemmBackend::Eigen);
}

TEST(SpdInverse, OpenBlasLapackRefusesAMatrixThatIsNotPositiveDefinite) {
  if (!util::openblas_available()) GTEST_SKIP() << "OpenBLAS not installed (Debian: libopenblas0-pthread)";
  expect_refuses_indefinite(util::GemmBackend::OpenBlas);
}

TEST(SpdInverse, TheProcessBackendGivesTheSameBitsEveryTime) {
  const auto a = gram_plus_lambda(150, 10.0);
  auto first = a;
  ASSERT_TRUE(util::spd_inverse(first.data(), 150));
  for (int rep = 0; rep < 2; ++rep) {
    auto again = a;
    ASSERT_TRUE(util::spd_inverse(again.data(), 150));
    EXPECT_EQ(first, again) << "repeat " << rep << " on " << util::gemm_backend().describe;
  }
}

// The PCA's two product kernels against a double-precision reference, on
// shapes that exercise every tile edge (rows not a multiple of 8, l not a
// multiple of 16 or 48, D not a multiple of 16 or of the chunk), and the
// property the passes rely on: splitting rows or columns changes no bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "melon/pca/kernels.hpp"

namespace {

using melon::pca::accumulate_columns_times_rows;
using melon::pca::pack_columns;
using melon::pca::rows_times_columns;

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

struct Shape {
  std::int64_t n, dim;
  int l;
};

// Products of floats in [-1, 1], summed over `terms`: float accumulation
// stays within a few eps * sqrt(terms) of the exact sum for these sizes.
double tolerance(std::int64_t terms) { return 1e-5 * std::sqrt(static_cast<double>(terms)) + 1e-6; }

TEST(PcaKernels, RowsTimesColumnsMatchesADoubleProductOnEveryTileEdge) {
  for (Shape s : {Shape{1, 16, 1}, Shape{7, 33, 5}, Shape{19, 1000, 16}, Shape{9, 4096 + 37, 42},
                  Shape{13, 2 * 4096 + 48, 49}, Shape{8, 100, 97}}) {
    auto a = random_floats(static_cast<std::size_t>(s.n * s.dim), 1);
    auto zt = random_floats(static_cast<std::size_t>(s.l * s.dim), 2);  // Z column-major
    auto z = pack_columns(zt.data(), s.dim, s.l);
    ASSERT_EQ(z.width % 16, 0);
    ASSERT_GE(z.width, s.l);
    std::vector<double> y(static_cast<std::size_t>(s.n * s.l), -7.0);
    rows_times_columns(a.data(), s.n, z, y.data(), 1, s.n);  // column-major output
    for (std::int64_t i = 0; i < s.n; ++i)
      for (int j = 0; j < s.l; ++j) {
        double ref = 0;
        for (std::int64_t d = 0; d < s.dim; ++d) ref += static_cast<double>(a[i * s.dim + d]) * zt[j * s.dim + d];
        ASSERT_NEAR(y[i + j * s.n], ref, tolerance(s.dim))
            << "n=" << s.n << " D=" << s.dim << " l=" << s.l << " at (" << i << ", " << j << ")";
      }
  }
}

TEST(PcaKernels, RowsTimesColumnsGivesTheSameBitsHoweverTheRowsAreSplit) {
  const std::int64_t n = 29, dim = 4096 + 300;
  const int l = 42;
  auto a = random_floats(static_cast<std::size_t>(n * dim), 3);
  auto zt = random_floats(static_cast<std::size_t>(l * dim), 4);
  auto z = pack_columns(zt.data(), dim, l);
  std::vector<double> whole(static_cast<std::size_t>(n * l)), parts(whole.size());
  rows_times_columns(a.data(), n, z, whole.data(), l, 1);  // row-major output
  const std::int64_t cut[] = {0, 1, 4, 13, 21, n};         // pieces of 1, 3, 9, 8 and 8 rows
  for (int p = 0; p + 1 < 6; ++p)
    rows_times_columns(a.data() + cut[p] * dim, cut[p + 1] - cut[p], z, parts.data() + cut[p] * l, l, 1);
  EXPECT_EQ(0, std::memcmp(whole.data(), parts.data(), sizeof(double) * whole.size()));
}

TEST(PcaKernels, AccumulateMatchesADoubleProductAndAddsToWhatIsThere) {
  for (Shape s :
       {Shape{1, 16, 1}, Shape{5, 17, 7}, Shape{70, 1000, 16}, Shape{130, 2048 + 37, 42}, Shape{3, 64 * 3 + 5, 13}}) {
    auto a = random_floats(static_cast<std::size_t>(s.n * s.dim), 5);
    auto m = random_floats(static_cast<std::size_t>(s.n * s.l), 6);  // n x l row-major
    auto acc = random_floats(static_cast<std::size_t>(s.l * s.dim), 7);
    const auto start = acc;
    accumulate_columns_times_rows(a.data(), s.n, s.dim, 0, s.dim, m.data(), s.l, acc.data());
    for (int j = 0; j < s.l; ++j)
      for (std::int64_t d = 0; d < s.dim; ++d) {
        double ref = start[j * s.dim + d];
        for (std::int64_t i = 0; i < s.n; ++i) ref += static_cast<double>(m[i * s.l + j]) * a[i * s.dim + d];
        ASSERT_NEAR(acc[j * s.dim + d], ref, tolerance(s.n))
            << "n=" << s.n << " D=" << s.dim << " l=" << s.l << " at (" << j << ", " << d << ")";
      }
  }
}

TEST(PcaKernels, AccumulateGivesTheSameBitsForAnyRowSplitAndColumnSplitAtMultiplesOf16) {
  const std::int64_t n = 150, dim = 1024 + 16 * 9 + 5;  // a tail of 5 columns past the last vector
  const int l = 42;
  auto a = random_floats(static_cast<std::size_t>(n * dim), 8);
  auto m = random_floats(static_cast<std::size_t>(n * l), 9);
  std::vector<float> whole(static_cast<std::size_t>(l * dim), 0.0f), parts(whole.size(), 0.0f);
  accumulate_columns_times_rows(a.data(), n, dim, 0, dim, m.data(), l, whole.data());
  // Rows in three calls of odd sizes, columns in three ranges as threads take them.
  const std::int64_t rows[] = {0, 37, 101, n};
  const std::int64_t cols[] = {0, 16 * 5, 16 * 70, dim};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c)
      accumulate_columns_times_rows(a.data() + rows[r] * dim, rows[r + 1] - rows[r], dim, cols[c], cols[c + 1],
                                    m.data() + rows[r] * l, l, parts.data());
  EXPECT_EQ(0, std::memcmp(whole.data(), parts.data(), sizeof(float) * whole.size()));
}

}  // namespace

#pragma once
// The two tall-skinny float products every PCA pass is made of, written for
// their shape: A is n x D (D ~ 10^3..10^5, row-major, each row read once per
// pass) and the other factor has l = k + p ~ 10..100 columns. A general GEMM
// packs A into panels before multiplying, which for l this small costs as much
// memory traffic as the product itself; these read A in place.
//
// Both fix their order of summation by the data's shape alone, never by how
// the rows are split into blocks or threads: a row's products in
// `rows_times_columns` do not depend on the other rows, and
// `accumulate_columns_times_rows` adds row after row, so calling it on rows
// [0, a) and then [a, n) leaves the same bits as one call on [0, n). That is
// what lets a streamed pass, a pass over rows kept in memory and any thread
// count give bit-identical results.
#include <cstdint>
#include <vector>

namespace melon::pca {

// Z (dim x l), laid out for rows_times_columns: row-major, l rounded up to a
// multiple of 16 with zero columns (a wasted product for each: 42 -> 48
// costs 12%, but every load is a whole vector and no sum crosses lanes).
struct PackedColumns {
  std::int64_t dim = 0;
  int l = 0, width = 0;
  std::vector<float> data;
};
// zt is Z's transpose, l x dim row-major (Z column-major); doubles are
// rounded to float.
PackedColumns pack_columns(const float* zt, std::int64_t dim, int l);
PackedColumns pack_columns(const double* zt, std::int64_t dim, int l);

// y[i * y_row + j * y_col] = sum_d a[i * dim + d] * Z(d, j), for i < n and
// j < l. Each sum runs in float in column order within chunks of kDotChunk
// columns and in double across chunks.
constexpr std::int64_t kDotChunk = 4096;
void rows_times_columns(const float* a, std::int64_t n, const PackedColumns& z, double* y, std::int64_t y_row,
                        std::int64_t y_col);

// acc[j * dim + d] += sum_i m[i * l + j] * a[i * dim + d], for j < l and
// d in [d0, d1) (threads take disjoint column ranges), summed in float in row
// order. `acc` is l x dim, row-major: the transpose of A^T M. The bits do not
// depend on how [0, dim) is split as long as every split point is a multiple
// of 16 (the last columns, dim % 16 of them, take a scalar path).
void accumulate_columns_times_rows(const float* a, std::int64_t n, std::int64_t dim, std::int64_t d0, std::int64_t d1,
                                   const float* m, int l, float* acc);

}  // namespace melon::pca

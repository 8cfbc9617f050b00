// Built with -ffp-contract=fast (CMakeLists.txt): `s += x * y` below becomes
// one fused multiply-add wherever the target has one. Every element goes
// through the same expression whatever the blocking, so the bits depend on the
// build and the data only.
#include "melon/pca/kernels.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace melon::pca {
namespace {

// 16 floats: one AVX-512 register, two AVX2 ones; GCC lowers it to whatever
// the target has.
typedef float v16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;

inline v16 load(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }
inline v16 splat(float x) { return v16{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// ---- rows x columns: y(i, :) = a_i Z ---------------------------------------

// RI rows of A times NV 16-column vectors of Z over `len` columns of A: RI * NV
// accumulators stay in registers; each broadcast A value feeds NV products,
// each Z vector RI. The sums (float, in column order) are added into y, in
// double, once per call.
constexpr int kBcastRows = 8, kBcastVecs = 3;

template <int RI, int NV>
void bcast_tile(const float* a, std::int64_t dim, std::int64_t len, const float* z, int width, double* y,
                std::int64_t y_stride) {
  v16 acc[RI][NV];
  for (int r = 0; r < RI; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = v16{};
  for (std::int64_t d = 0; d < len; ++d) {
    const float* zr = z + d * width;
    v16 zv[NV];
    for (int v = 0; v < NV; ++v) zv[v] = load(zr + v * kLanes);
    for (int r = 0; r < RI; ++r) {
      const v16 b = splat(a[r * dim + d]);
      for (int v = 0; v < NV; ++v) acc[r][v] += b * zv[v];
    }
  }
  for (int r = 0; r < RI; ++r)
    for (int v = 0; v < NV; ++v) {
      float t[kLanes];
      store(t, acc[r][v]);
      double* yr = y + r * y_stride + v * kLanes;
      for (int k = 0; k < kLanes; ++k) yr[k] += t[k];
    }
}

using BcastFn = void (*)(const float*, std::int64_t, std::int64_t, const float*, int, double*, std::int64_t);

template <int NV, int... R>
constexpr BcastFn bcast_for(int ri, std::integer_sequence<int, R...>) {
  BcastFn f = nullptr;
  ((f = (ri == R + 1 ? &bcast_tile<R + 1, NV> : f)), ...);
  return f;
}

BcastFn bcast_fn(int ri, int nv) {
  constexpr auto rs = std::make_integer_sequence<int, kBcastRows>{};
  switch (nv) {
    case 1: return bcast_for<1>(ri, rs);
    case 2: return bcast_for<2>(ri, rs);
    default: return bcast_for<3>(ri, rs);
  }
}
static_assert(kBcastVecs == 3, "bcast_fn dispatches 1..3 vectors");

// ---- columns x rows: acc(j, d) += sum_i m(i, j) a(i, d) ------------------------

// RJ rows of acc by RD vectors of columns, over `rows` rows of A: each A
// vector loaded feeds RJ products, each broadcast m(i, j) RD.
constexpr int kAxpyCols = 6, kAxpyVecs = 4;
// Column chunk and row block: a block's slice of A (64 x 1024 floats, 256 KiB)
// stays in L2 while every (j, d) tile of it is made; acc's slice (l x 1024)
// stays there across row blocks.
constexpr std::int64_t kAxpyChunk = 1024, kAxpyRows = 64;

// `next`, when given, is where the next tile's A columns start: their lines
// are requested ahead while this tile computes. The rows are 4 * D bytes
// apart, too many streams for the hardware prefetcher to follow (measured:
// ~10% faster with it on 2000 x 90,048).
template <int RJ, int RD>
void axpy_tile(const float* a, std::int64_t dim, std::int64_t rows, const float* m, int l, float* acc,
               const float* next) {
  if (next)
    for (std::int64_t i = 0; i < rows; ++i)
      for (int k = 0; k < RD; ++k) __builtin_prefetch(next + i * dim + k * kLanes);
  v16 s[RJ][RD];
  for (int j = 0; j < RJ; ++j)
    for (int k = 0; k < RD; ++k) s[j][k] = load(acc + j * dim + k * kLanes);
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* ar = a + i * dim;
    const float* mr = m + i * l;
    v16 x[RD];
    for (int k = 0; k < RD; ++k) x[k] = load(ar + k * kLanes);
    for (int j = 0; j < RJ; ++j) {
      const v16 b = splat(mr[j]);
      for (int k = 0; k < RD; ++k) s[j][k] += b * x[k];
    }
  }
  for (int j = 0; j < RJ; ++j)
    for (int k = 0; k < RD; ++k) store(acc + j * dim + k * kLanes, s[j][k]);
}

using AxpyFn = void (*)(const float*, std::int64_t, std::int64_t, const float*, int, float*, const float*);

template <int RD, int... J>
constexpr AxpyFn axpy_for(int rj, std::integer_sequence<int, J...>) {
  AxpyFn f = nullptr;
  ((f = (rj == J + 1 ? &axpy_tile<J + 1, RD> : f)), ...);
  return f;
}

template <int RD>
AxpyFn axpy_fn(int rj) {
  return axpy_for<RD>(rj, std::make_integer_sequence<int, kAxpyCols>{});
}

// A transpose in 64-column tiles: reads run along Z's columns, writes stay
// within a tile of 64 packed rows.
template <class T>
PackedColumns pack(const T* zt, std::int64_t dim, int l) {
  PackedColumns p;
  p.dim = dim;
  p.l = l;
  p.width = (l + kLanes - 1) / kLanes * kLanes;
  p.data.assign(static_cast<std::size_t>(dim * p.width), 0.0f);
  float* out = p.data.data();
  for (std::int64_t d0 = 0; d0 < dim; d0 += 64) {
    const std::int64_t d1 = std::min(dim, d0 + 64);
    for (int j = 0; j < l; ++j)
      for (std::int64_t d = d0; d < d1; ++d) out[d * p.width + j] = static_cast<float>(zt[j * dim + d]);
  }
  return p;
}

}  // namespace

PackedColumns pack_columns(const float* zt, std::int64_t dim, int l) { return pack(zt, dim, l); }
PackedColumns pack_columns(const double* zt, std::int64_t dim, int l) { return pack(zt, dim, l); }

void rows_times_columns(const float* a, std::int64_t n, const PackedColumns& z, double* y, std::int64_t y_row,
                        std::int64_t y_col) {
  const std::int64_t dim = z.dim;
  const int width = z.width;
  thread_local std::vector<double> out;  // the block's rows, row-major, width wide
  out.assign(static_cast<std::size_t>(n * width), 0.0);
  for (std::int64_t c0 = 0; c0 < dim; c0 += kDotChunk) {
    const std::int64_t len = std::min(kDotChunk, dim - c0);
    for (std::int64_t i0 = 0; i0 < n; i0 += kBcastRows) {
      const int ri = static_cast<int>(std::min<std::int64_t>(kBcastRows, n - i0));
      for (int v0 = 0; v0 < width / kLanes; v0 += kBcastVecs) {
        const int nv = std::min(kBcastVecs, width / kLanes - v0);
        bcast_fn(ri, nv)(a + i0 * dim + c0, dim, len, z.data.data() + c0 * width + v0 * kLanes, width,
                         out.data() + i0 * width + v0 * kLanes, width);
      }
    }
  }
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < z.l; ++j) y[i * y_row + j * y_col] = out[static_cast<std::size_t>(i * width + j)];
}

void accumulate_columns_times_rows(const float* a, std::int64_t n, std::int64_t dim, std::int64_t d0, std::int64_t d1,
                                   const float* m, int l, float* acc) {
  constexpr std::int64_t wide = kAxpyVecs * kLanes;
  for (std::int64_t c0 = d0; c0 < d1; c0 += kAxpyChunk) {
    const std::int64_t c1 = std::min(d1, c0 + kAxpyChunk);
    for (std::int64_t i0 = 0; i0 < n; i0 += kAxpyRows) {
      const std::int64_t rows = std::min(kAxpyRows, n - i0);
      const float* ab = a + i0 * dim;
      const float* mb = m + i0 * l;
      std::int64_t d = c0;
      for (; d + wide <= c1; d += wide)
        for (int j0 = 0; j0 < l; j0 += kAxpyCols) {
          const float* next = j0 == 0 && d + 2 * wide <= c1 ? ab + d + wide : nullptr;
          axpy_fn<kAxpyVecs>(std::min(kAxpyCols, l - j0))(ab + d, dim, rows, mb + j0, l, acc + j0 * dim + d, next);
        }
      for (; d + kLanes <= c1; d += kLanes)
        for (int j0 = 0; j0 < l; j0 += kAxpyCols)
          axpy_fn<1>(std::min(kAxpyCols, l - j0))(ab + d, dim, rows, mb + j0, l, acc + j0 * dim + d, nullptr);
      for (; d < c1; ++d)
        for (int j = 0; j < l; ++j) {
          float s = acc[j * dim + d];
          for (std::int64_t i = 0; i < rows; ++i) s += mb[i * l + j] * ab[i * dim + d];
          acc[j * dim + d] = s;
        }
    }
  }
}

}  // namespace melon::pca

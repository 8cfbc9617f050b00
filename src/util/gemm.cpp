// GCC 12 false positive inside Eigen's AVX-512 packet code (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "melon/util/gemm.hpp"
#include "melon/util/eigen.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <mutex>

#include "melon/error.hpp"

namespace melon::util {
namespace {

// The CBLAS entry points, declared here rather than through cblas.h so that
// building melon needs no BLAS headers; OpenBLAS's default interface takes
// 32-bit ints (libopenblas64 is the other one, not loaded here).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*,
                         int);
// LAPACK's Fortran entry points (OpenBLAS carries LAPACK): uplo, n, a, lda,
// info, and the hidden length of uplo that gfortran-compiled code may rely on
// (LAPACKE passes it too; OpenBLAS's C-coded routines ignore it).
using PotrfFn = void (*)(const char*, const int*, double*, const int*, int*, std::size_t);
using CharFn = char* (*)();
using SetThreadsFn = void (*)(int);

struct OpenBlas {
  bool loaded = false;
  std::string why_not;  // when not loaded
  std::string core;     // the kernel type in use
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  PotrfFn dpotrf = nullptr, dpotri = nullptr;
  std::string describe;
};

// The kernel type to ask OpenBLAS for when the user has not: the widest
// vector instructions the CPU reports, measured the fastest here
// (tools/bench/RESULTS.md, "Training throughput").
const char* coretype_for_cpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

OpenBlas load_openblas() {
  OpenBlas ob;
  std::string coretype_note;
  if (const char* user = std::getenv("OPENBLAS_CORETYPE"); user && *user) {
    coretype_note = "OPENBLAS_CORETYPE=" + std::string(user) + " from the environment";
  } else if (const char* ct = coretype_for_cpu()) {
    ::setenv("OPENBLAS_CORETYPE", ct, 1);  // unset or empty: ours
    coretype_note = "OPENBLAS_CORETYPE=" + std::string(ct) + " set by melon from the CPU's instruction sets";
  } else {
    coretype_note = "OpenBLAS's own CPU detection";
  }
  ::setenv("OPENBLAS_NUM_THREADS", "1", 0);  // melon's pool splits the work; no idle OpenBLAS threads
  void* h = nullptr;
  for (const char* name : {"libopenblas.so.0", "libopenblas.so"})
    if ((h = ::dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
  if (!h) {
    const char* e = ::dlerror();
    ob.why_not = std::string("cannot load libopenblas.so.0 (Debian: libopenblas0-pthread): ") + (e ? e : "?");
    return ob;
  }
  ob.sgemm = reinterpret_cast<SgemmFn>(::dlsym(h, "cblas_sgemm"));
  ob.dgemm = reinterpret_cast<DgemmFn>(::dlsym(h, "cblas_dgemm"));
  ob.dpotrf = reinterpret_cast<PotrfFn>(::dlsym(h, "dpotrf_"));
  ob.dpotri = reinterpret_cast<PotrfFn>(::dlsym(h, "dpotri_"));
  auto config = reinterpret_cast<CharFn>(::dlsym(h, "openblas_get_config"));
  auto corename = reinterpret_cast<CharFn>(::dlsym(h, "openblas_get_corename"));
  auto set_threads = reinterpret_cast<SetThreadsFn>(::dlsym(h, "openblas_set_num_threads"));
  if (!ob.sgemm || !ob.dgemm || !ob.dpotrf || !ob.dpotri || !set_threads) {
    ob.why_not = "libopenblas.so.0 has no cblas_sgemm/cblas_dgemm/dpotrf_/dpotri_/openblas_set_num_threads";
    return ob;
  }
  set_threads(1);
  ob.loaded = true;
  ob.core = corename ? corename() : "";
  ob.describe = std::string(config ? config() : "OpenBLAS") + ", " + (corename ? corename() : "?") + " kernels (" +
                coretype_note + "), one thread per call";
  return ob;
}

std::once_flag g_once, g_openblas_once;
OpenBlas g_openblas;
GemmInfo g_info;
std::string g_error;

// Loaded at most once, and only when something asks for it: MELON_GEMM=eigen
// neither loads OpenBLAS nor touches OPENBLAS_* in the environment.
const OpenBlas& openblas() {
  std::call_once(g_openblas_once, [] { g_openblas = load_openblas(); });
  return g_openblas;
}

// Whether OpenBLAS's kernels can beat Eigen's compiled code: measured here
// (tools/bench/RESULTS.md), AVX-512 kernels did (155-181 against 117-130
// GFLOP/s on the output layer's products) and AVX2 ones (Haswell) did not
// (88-99) against Eigen built for AVX-512; against Eigen built without
// AVX-512 any OpenBLAS kernel is at least as wide.
bool openblas_beats_eigen(const std::string& core) {
#ifdef EIGEN_VECTORIZE_AVX512
  std::string c;
  for (char ch : core) c += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return c == "skylakex" || c == "cooperlake" || c == "sapphirerapids";
#else
  (void)core;
  return true;
#endif
}

void choose() {
  const char* env = std::getenv("MELON_GEMM");
  const std::string want = env && *env ? env : "auto";
  if (want != "eigen") openblas();
  const bool slower = g_openblas.loaded && !openblas_beats_eigen(g_openblas.core);
  if (want == "eigen" || (want == "auto" && (!g_openblas.loaded || slower))) {
    g_info.backend = GemmBackend::Eigen;
    std::string why = want == "eigen" ? "MELON_GEMM=eigen"
                      : slower        ? "OpenBLAS's " + g_openblas.core +
                                     " kernels are narrower than this build's AVX-512 code; MELON_GEMM=openblas uses "
                                     "them anyway, OPENBLAS_CORETYPE=SkylakeX picks wider ones"
                               : g_openblas.why_not;
    g_info.describe = std::string("Eigen ") + std::to_string(EIGEN_WORLD_VERSION) + "." +
                      std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION) + " (" + why +
                      ")";
  } else if (want == "openblas" || want == "auto") {
    if (!g_openblas.loaded) g_error = "MELON_GEMM=openblas: " + g_openblas.why_not;
    g_info.backend = GemmBackend::OpenBlas;
    g_info.describe = g_openblas.describe;
  } else {
    g_error = "MELON_GEMM must be auto, openblas or eigen, got '" + want + "'";
  }
}

void init() {
  std::call_once(g_once, choose);
  if (!g_error.empty()) throw Error(g_error);
}

int blas_int(std::int64_t v, const char* what) {
  MELON_CHECK(v >= 0 && v <= INT_MAX, "matrix product: " << what << " = " << v << " exceeds OpenBLAS's 32-bit sizes");
  return static_cast<int>(v);
}

template <class T>
void eigen_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda,
                const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
  using MMap = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
  MMap cm(c, m, n, Eigen::OuterStride<>(ldc));
  auto product = [&](const auto& opa) {
    auto go = [&](const auto& opb) {
      if (beta == T(0)) {
        if (alpha == T(1)) cm.noalias() = opa * opb;  // C is not read: it may hold anything
        else cm.noalias() = alpha * opa * opb;
      } else {
        if (beta != T(1)) cm *= beta;
        if (alpha == T(1)) cm.noalias() += opa * opb;
        else cm.noalias() += alpha * opa * opb;
      }
    };
    if (tb) go(CMap(b, n, k, Eigen::OuterStride<>(ldb)).transpose());
    else go(CMap(b, k, n, Eigen::OuterStride<>(ldb)));
  };
  if (ta) product(CMap(a, k, m, Eigen::OuterStride<>(lda)).transpose());
  else product(CMap(a, m, k, Eigen::OuterStride<>(lda)));
}

template <class T, class Fn>
void blas_gemm(Fn fn, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
               std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  fn(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, blas_int(m, "rows"), blas_int(n, "columns"),
     blas_int(k, "inner size"), alpha, a, blas_int(std::max<std::int64_t>(lda, 1), "lda"), b,
     blas_int(std::max<std::int64_t>(ldb, 1), "ldb"), beta, c, blas_int(std::max<std::int64_t>(ldc, 1), "ldc"));
}

// Symmetric, so row- or column-major is the same matrix.
bool eigen_spd_inverse(double* a, std::int64_t n) {
  Eigen::Map<Eigen::MatrixXd> m(a, n, n);
  Eigen::LLT<Eigen::MatrixXd> llt(m);
  if (llt.info() != Eigen::Success) return false;
  m.setIdentity();
  llt.solveInPlace(m);
  return true;
}

// dpotri writes the lower triangle only (LAPACK's column-major 'L': the upper
// one row-major); the other is mirrored so callers get the whole matrix.
bool lapack_spd_inverse(double* a, std::int64_t n) {
  if (n == 0) return true;
  const int ni = blas_int(n, "order"), lda = ni;
  const char lower = 'L';
  int info = 0;
  g_openblas.dpotrf(&lower, &ni, a, &lda, &info, 1);
  if (info != 0) return false;
  g_openblas.dpotri(&lower, &ni, a, &lda, &info, 1);
  if (info != 0) return false;
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t i = j + 1; i < n; ++i) a[i * n + j] = a[j * n + i];
  return true;
}

}  // namespace

const GemmInfo& gemm_backend() {
  init();
  return g_info;
}

bool openblas_available() { return openblas().loaded; }

void gemm_on(GemmBackend backend, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
             const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
             std::int64_t ldc) {
  if (backend == GemmBackend::Eigen) return eigen_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  MELON_CHECK(openblas_available(), "matrix product: OpenBLAS asked for but " << g_openblas.why_not);
  blas_gemm(g_openblas.sgemm, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  init();
  if (g_info.backend == GemmBackend::Eigen) return eigen_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  blas_gemm(g_openblas.sgemm, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  init();
  if (g_info.backend == GemmBackend::Eigen) return eigen_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  blas_gemm(g_openblas.dgemm, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

bool spd_inverse_on(GemmBackend backend, double* a, std::int64_t n) {
  if (backend == GemmBackend::OpenBlas)
    MELON_CHECK(openblas_available(), "matrix inverse: OpenBLAS asked for but " << g_openblas.why_not);
  const bool ok = backend == GemmBackend::Eigen ? eigen_spd_inverse(a, n) : lapack_spd_inverse(a, n);
  // Neither factorisation notices a NaN (its pivot test is "<= 0"), which
  // then spreads through the inverse.
  return ok && std::all_of(a, a + n * n, [](double v) { return std::isfinite(v); });
}

bool spd_inverse(double* a, std::int64_t n) { return spd_inverse_on(gemm_backend().backend, a, n); }

}  // namespace melon::util

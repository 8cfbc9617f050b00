#pragma once
// Dense matrix products for the autoencoder's large layers: C = alpha op(A)
// op(B) + beta C on row-major matrices with leading dimensions, the BLAS
// contract, so callers pass sub-blocks (a chunk of the vocabulary) in place.
//
// Two backends, one chosen per process before the first product:
//  - openblas: OpenBLAS's sgemm/dgemm, loaded at run time (dlopen of
//    libopenblas.so.0, Debian's libopenblas0-pthread or -serial), with one
//    thread per call: melon's own thread pool splits the work, so which thread
//    computes a block never changes its bits. OpenBLAS reads its kernel type
//    once, when it is loaded; on virtual machines its CPU detection can pick
//    kernels two times slower than the CPU allows (Haswell kernels on an
//    AVX-512 machine here: 99 against 173 GFLOP/s on the output layer's
//    product), so unless OPENBLAS_CORETYPE is set, melon sets it from the
//    instruction sets the CPU reports (SkylakeX with AVX-512, else Haswell
//    with AVX2 and FMA, else OpenBLAS's own choice) before loading it.
//  - eigen: Eigen's products, compiled into melon (the fallback when OpenBLAS
//    is not installed).
// MELON_GEMM=auto (default: openblas when it loads and its kernels are at
// least as wide as the vectors Eigen was compiled for, else eigen), openblas
// (an error when it does not load) or eigen. OPENBLAS_CORETYPE set in the
// environment is respected (and may make auto choose eigen). The same backend and kernel type
// give the same bits on every run; another backend changes the last bits of
// the products (tests hold both to a tolerance of the exact product).
#include <cstdint>
#include <string>

namespace melon::util {

enum class GemmBackend { Eigen, OpenBlas };

struct GemmInfo {
  GemmBackend backend = GemmBackend::Eigen;
  std::string describe;  // for logs: "OpenBLAS 0.3.21 ... (SkylakeX kernels, set by melon: AVX-512)"
};

// The process's backend, chosen (and OpenBLAS loaded) on the first call.
// Throws melon::Error for a bad MELON_GEMM or MELON_GEMM=openblas without OpenBLAS.
const GemmInfo& gemm_backend();

// Row-major: op(A) is m x k, op(B) k x n, C m x n; lda/ldb/ldc are row strides.
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc);

// The same on a given backend (tests and bench-gemm); openblas must have loaded.
void gemm_on(GemmBackend backend, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
             float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
             std::int64_t ldc);
// The inverse of a symmetric positive definite n x n matrix, in place, both
// triangles written (EASE's P = (X^T X + lambda I)^-1). On the openblas backend
// LAPACK's dpotrf and dpotri from the same library (n^3 flops in blocked
// kernels: 3.4x Eigen's LLT and solve against the identity at n = 6,000,
// tools/bench/RESULTS.md), on eigen that LLT and solve. False when the
// matrix is not positive definite (lambda <= 0) or the inverse is not finite
// (a NaN in the input); a's contents are then unspecified.
bool spd_inverse(double* a, std::int64_t n);
bool spd_inverse_on(GemmBackend backend, double* a, std::int64_t n);
// Whether OpenBLAS could be loaded (loads it on the first call, as gemm_backend does).
bool openblas_available();

}  // namespace melon::util

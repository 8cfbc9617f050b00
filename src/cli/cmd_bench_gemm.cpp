// melon bench-gemm: the float GEMM rate of this build (one thread), on a large
// square product and on the two block-product shapes `melon pca` runs (block x
// D times D x l, and D x block times block x l), for Eigen, for OpenBLAS when it
// loads and for the kernels `melon pca` uses (pca/kernels.hpp), so a pass's
// GFLOP/s can be read against what the hardware and this build reach; then the
// training's output-layer products on each backend of util/gemm.hpp.
// GCC 12 false positive inside Eigen's AVX-512 packet code (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <chrono>
#include <cstdio>

#include "melon/ae/autoencoder.hpp"
#include "melon/cli/cli.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/pca/kernels.hpp"
#include "melon/util/eigen.hpp"
#include "melon/util/gemm.hpp"

namespace melon::cli {
namespace {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class F>
double best_seconds(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// The autoencoder's three output-layer products (src/ae/autoencoder.cpp), as
// it runs them: by chunks of ae::kVocabChunk songs (of 128 hidden columns for
// dh), one thread, on each backend util/gemm offers here.
void train_shapes(int B, int H, int V, int reps) {
  if (B <= 0) return;
  const util::GemmInfo& chosen = util::gemm_backend();
  RowMatF h = RowMatF::Random(B, H), w = RowMatF::Random(V, H), z(B, V), dz = RowMatF::Random(B, V), dO(V, H), dh(B, H);
  const std::int64_t C = ae::kVocabChunk;
  const double f = 2.0 * B * H * V;
  std::vector<util::GemmBackend> backends = {util::GemmBackend::Eigen};
  if (util::openblas_available()) backends.push_back(util::GemmBackend::OpenBlas);
  for (auto be : backends) {
    auto chunks = [&](std::int64_t n_all, std::int64_t step, auto&& fn) {
      for (std::int64_t c0 = 0; c0 < n_all; c0 += step) fn(c0, std::min(step, n_all - c0));
    };
    const double t_logits = best_seconds(reps, [&] {
      chunks(V, C, [&](std::int64_t c0, std::int64_t n) {
        util::gemm_on(be, false, true, B, n, H, 1.0f, h.data(), H, w.data() + c0 * H, H, 0.0f, z.data() + c0, V);
      });
    });
    const double t_dout = best_seconds(reps, [&] {
      chunks(V, C, [&](std::int64_t c0, std::int64_t n) {
        util::gemm_on(be, true, false, n, H, B, 1.0f, dz.data() + c0, V, h.data(), H, 0.0f, dO.data() + c0 * H, H);
      });
    });
    const double t_dh = best_seconds(reps, [&] {
      chunks(H, 128, [&](std::int64_t c0, std::int64_t n) {
        util::gemm_on(be, false, false, B, n, V, 1.0f, dz.data(), V, w.data() + c0, H, 0.0f, dh.data() + c0, H);
      });
    });
    if (mpi::rank(mpi::world()) == 0)
      std::printf("train_products %s (%dx%d hidden, %d songs, 1 thread): logits %.2f, dO %.2f, dh %.2f GFLOP/s\n",
                  be == util::GemmBackend::Eigen ? "eigen" : "openblas", B, H, V, f / t_logits / 1e9, f / t_dout / 1e9,
                  f / t_dh / 1e9);
  }
  if (mpi::rank(mpi::world()) == 0) std::printf("train_backend (MELON_GEMM): %s\n", chosen.describe.c_str());
}

int run_bench_gemm(int argc, char** argv) {
  po::options_description d("melon bench-gemm: float GEMM rate of this build (one thread per rank)");
  d.add_options()("n", po::value<int>()->default_value(4096), "square size")("reps", po::value<int>()->default_value(3),
                                                                             "repetitions (best is reported)")(
      "block", po::value<int>()->default_value(256), "pca block rows")("dim", po::value<int>()->default_value(90048),
                                                                       "pca feature dimension D")(
      "sketch", po::value<int>()->default_value(60), "pca sketch width l = k + p")(
      "batch", po::value<int>()->default_value(256), "training: playlists a step (0 skips the training shapes)")(
      "hidden", po::value<int>()->default_value(512), "training: the last hidden layer's width")(
      "vocab", po::value<int>()->default_value(50000), "training: songs in the output layer");
  po::variables_map vm;
  if (!parse("bench-gemm", d, argc, argv, vm)) return 0;
  const int n = vm["n"].as<int>(), reps = vm["reps"].as<int>(), B = vm["block"].as<int>(), D = vm["dim"].as<int>(),
            l = vm["sketch"].as<int>();
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n), c(n, n);
  double t = best_seconds(reps, [&] { c.noalias() = a * b; });
  double sq = 2.0 * n * n * n / t / 1e9;
  RowMatF blk = RowMatF::Random(B, D), y(B, l);
  Eigen::MatrixXf z = Eigen::MatrixXf::Random(D, l), q = Eigen::MatrixXf::Random(B, l), acc(D, l);
  int inner = std::max(1, static_cast<int>(2e9 / (2.0 * B * D * l)));
  double t1 = best_seconds(reps, [&] {
    for (int i = 0; i < inner; ++i) y.noalias() = blk * z;
  });
  double t2 = best_seconds(reps, [&] {
    for (int i = 0; i < inner; ++i) acc.noalias() = blk.transpose() * q;
  });
  double f = 2.0 * B * D * l * inner;
  // The kernels `melon pca` runs (src/pca/kernels.cpp) on the same shapes.
  Eigen::MatrixXd yd(B, l);
  RowMatF qr = q;
  const pca::PackedColumns zp = pca::pack_columns(z.data(), D, l);
  double t3 = best_seconds(reps, [&] {
    for (int i = 0; i < inner; ++i) pca::rows_times_columns(blk.data(), B, zp, yd.data(), 1, B);
  });
  double t4 = best_seconds(reps, [&] {
    for (int i = 0; i < inner; ++i)
      pca::accumulate_columns_times_rows(blk.data(), B, D, 0, D, qr.data(), l, acc.data());
  });
  // OpenBLAS on the same shapes and on the square product, one thread per call
  // as melon calls it: the tuned BLAS the PCA's own kernels are chosen against.
  double t5 = 0, t6 = 0, tsq = 0;
  const bool ob = util::openblas_available();
  if (ob) {
    const auto OB = util::GemmBackend::OpenBlas;
    RowMatF ar = a, br = b, cr(n, n);
    tsq = best_seconds(
        reps, [&] { util::gemm_on(OB, false, false, n, n, n, 1.0f, ar.data(), n, br.data(), n, 0.0f, cr.data(), n); });
    RowMatF zr = z, yr(B, l), accr(D, l);
    t5 = best_seconds(reps, [&] {
      for (int i = 0; i < inner; ++i)
        util::gemm_on(OB, false, false, B, l, D, 1.0f, blk.data(), D, zr.data(), l, 0.0f, yr.data(), l);
    });
    t6 = best_seconds(reps, [&] {
      for (int i = 0; i < inner; ++i)
        util::gemm_on(OB, true, false, D, l, B, 1.0f, blk.data(), D, qr.data(), l, 1.0f, accr.data(), l);
    });
  }
  if (mpi::rank(mpi::world()) == 0) {
    std::printf("gemm_square n=%d: %.2f GFLOP/s (%.3f s)\n", n, sq, t);
    std::printf("gemm_block A*Z (%dx%d * %dx%d): %.2f GFLOP/s\n", B, D, D, l, f / t1 / 1e9);
    std::printf("gemm_block A^T*Q (%dx%d * %dx%d): %.2f GFLOP/s\n", D, B, B, l, f / t2 / 1e9);
    std::printf("pca_kernel A*Z (%dx%d * %dx%d): %.2f GFLOP/s\n", B, D, D, l, f / t3 / 1e9);
    std::printf("pca_kernel A^T*Q (%dx%d * %dx%d): %.2f GFLOP/s\n", D, B, B, l, f / t4 / 1e9);
    if (ob) {
      std::printf("openblas_square n=%d (1 thread): %.2f GFLOP/s\n", n, 2.0 * n * n * n / tsq / 1e9);
      std::printf("openblas_block A*Z (%dx%d * %dx%d): %.2f GFLOP/s\n", B, D, D, l, f / t5 / 1e9);
      std::printf("openblas_block A^T*Q (%dx%d * %dx%d): %.2f GFLOP/s\n", D, B, B, l, f / t6 / 1e9);
    }
    std::printf("check %g\n", static_cast<double>(c(0, 0) + y(0, 0) + acc(0, 0) + yd(0, 0)) * 0);
  }
  train_shapes(vm["batch"].as<int>(), vm["hidden"].as<int>(), vm["vocab"].as<int>(), reps);
  return 0;
}

}  // namespace
MELON_COMMAND(
    "bench-gemm",
    "(benchmark) float GEMM rate of this build: square, pca block and training shapes (Eigen, melon's kernels, "
    "OpenBLAS)",
    run_bench_gemm);
}  // namespace melon::cli

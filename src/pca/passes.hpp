#pragma once
// Internal to src/pca: the machinery a PCA pass runs on. The float buffers
// rows are made in, the spill file, the Streamer that brings a
// rank's rows to a pass (made from the spectrograms, kept in memory or read
// back from the spill file, the same bits every way) and the two block
// products' drivers.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "melon/mpi/mpi.hpp"
#include "melon/pca/kernels.hpp"
#include "melon/pca/rpca.hpp"
#include "melon/pca/state.hpp"
#include "melon/util/eigen.hpp"
#include "melon/util/log.hpp"
#include "melon/util/thread_pool.hpp"

namespace melon::pca {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Thread t's share of n items. Passes run their kernels as pool.run_per_thread(fn):
// fn(t) for each t in [0, pool.threads()), t naming the share, never the OS
// thread (only the caller talks to MPI: MPI_THREAD_FUNNELED).
inline mpi::Range chunk(std::int64_t n, int t, int parts) { return mpi::block_range(n, t, parts); }

// Uninitialised float storage for blocks and the row cache, mapped with
// MAP_POPULATE: the pages are faulted in one system call instead of one trap
// per 4 KiB page as the first pass writes them (~30% less kernel time on a VM;
// the cache is only made when --memory-mb has room for it, so committing it
// up front is what was asked). No MADV_HUGEPAGE: with the usual
// defrag=madvise setting the kernel compacts memory on every fault, which made
// the first pass 2x slower here.
class FloatBuffer {
 public:
  FloatBuffer() = default;
  ~FloatBuffer() { release(); }
  FloatBuffer(const FloatBuffer&) = delete;
  FloatBuffer& operator=(const FloatBuffer&) = delete;
  void allocate(std::size_t count);
  float* data() { return p_; }

 private:
  void release();
  float* p_ = nullptr;
  std::size_t bytes_ = 0;
};

// Feature rows spilled to local scratch between passes: rows of dim floats
// at fixed offsets, so worker threads write and read theirs concurrently. The
// file is unlinked as soon as it is made, so nothing is left behind however
// the job ends (killed, MPI_Abort); its space goes when the descriptor does.
class SpillFile {
 public:
  SpillFile() = default;
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;
  void open(const std::string& dir, int dim);
  void write(std::int64_t row, const float* rows, std::int64_t n) { io(true, row, const_cast<float*>(rows), n); }
  void read(std::int64_t row, float* rows, std::int64_t n) { io(false, row, rows, n); }

 private:
  void io(bool out, std::int64_t row, float* rows, std::int64_t n);
  int fd_ = -1;
  std::string dir_;
  std::size_t row_bytes_ = 0;
};

// A pass's own measurements on this rank.
struct Counters {
  double bytes = 0, gemm = 0, flops = 0;
  std::int64_t rows = 0;
};

// rows [0, n) of a (n x dim, row-major) -= mean: the one centring every path
// (streamed, spilled, cached) applies, so they all give the same bits.
void centre_rows(float* a, std::int64_t n, int dim, const float* mean);

// s1[d] += sum_i a(i, d), s2[d] += sum_i a(i, d)^2 (double, row order) for d in [d0, d1).
void column_sums(const float* a, std::int64_t n, std::int64_t dim, std::int64_t d0, std::int64_t d1,
                 double* __restrict s1, double* __restrict s2);

// Streams this rank's rows through the pass kernels in blocks of opt.block
// rows, from the source, the in-memory cache or the spill file.
class Streamer {
 public:
  // fn(a, first, n): a block of n rows (n x dim, row-major); first = the index
  // of its first row among the rank's valid rows.
  using ScanFn = std::function<void(float* a, std::int64_t first, std::int64_t n)>;
  using RowsFn = std::function<void(const float* a, std::int64_t first, std::int64_t n)>;

  Streamer(const RowSource& src, const Options& opt, util::ThreadPool& pool, int dim)
      : src_(src), opt_(opt), pool_(pool), dim_(dim) {}

  void allocate_block();
  void enable_cache(std::int64_t rows);
  bool cache_on() const { return cache_on_; }
  void enable_spill(const std::string& dir);
  // The mean later passes centre their rows by (known after the first pass).
  void set_mean(const Eigen::VectorXd& mean) { meanf_ = mean.cast<float>(); }

  // First pass: every candidate; fn gets the block's readable rows compacted
  // (uncentred), recording valid rows, skips and non-finite counts in st.
  // Failures come back as a message (never as an exception) so that every
  // rank reaches the collective check at the end of the pass.
  std::string scan(State& st, Counters& c, log::Progress& prog, double scale, const ScanFn& fn);
  // Later passes: this rank's valid rows, centred.
  std::string rows(const State& st, Counters& c, log::Progress& prog, double scale, const RowsFn& fn);
  // Centres the cached rows once the mean is known (the streamed path centres each block as it reads it).
  void centre_cache(const State& st);

 private:
  void scan_impl(State& st, Counters& c, log::Progress& prog, double scale, const ScanFn& fn);
  std::string rows_impl(const State& st, Counters& c, log::Progress& prog, double scale, const RowsFn& fn);

  const RowSource& src_;
  const Options& opt_;
  util::ThreadPool& pool_;
  int dim_;
  Eigen::VectorXf meanf_;
  FloatBuffer buf_, cache_;
  bool cache_on_ = false, cache_ready_ = false;
  SpillFile spill_;
  bool spill_on_ = false, spill_ready_ = false;
};

// acc (D x l, double) += A^T M over a pass's blocks A (n x D, row-major) and
// M (n x l, row-major float). Products accumulate in a float buffer (l x D,
// which is Eigen's column-major D x l) that is added into the double
// accumulator after every kFlushRows rows of the pass: adding each block's
// product straight into double cost about as much memory traffic as the
// product itself. Flushes fall on fixed row counts and the kernel adds row
// after row, so the bits do not depend on the block size; the D columns are
// split over the workers at multiples of 16, so not on the thread count either.
class AtAccumulator {
 public:
  static constexpr std::int64_t kFlushRows = 4096;  // float partial sums over at most this many rows
  AtAccumulator(util::ThreadPool& pool, int dim, int cols)
      : pool_(pool), dim_(dim), cols_(cols), acc_(Eigen::MatrixXd::Zero(dim, cols)),
        tmp_(Eigen::MatrixXf::Zero(dim, cols)) {}

  void add(const float* a, std::int64_t n, const RowMatF& m);
  // The accumulated sum (flushes what is pending).
  Eigen::MatrixXd& result();

 private:
  mpi::Range columns(int t) const;
  void flush_rows(Eigen::Index d0, Eigen::Index nd);
  util::ThreadPool& pool_;
  int dim_, cols_;
  Eigen::MatrixXd acc_;
  Eigen::MatrixXf tmp_;
  std::int64_t pending_ = 0;
};

// y rows [r0, r0 + n) (n_total x l, column-major double) = A Z, rows split
// over the workers.
void multiply_rows(util::ThreadPool& pool, const float* a, std::int64_t n, const PackedColumns& z, Eigen::MatrixXd& y,
                   std::int64_t r0);

// acc (D x l, this rank's part of the sum) becomes Z = qr(sum over ranks),
// the same bits on every rank; returns the shifted CholeskyQR steps taken.
// r, if given, gets the l x l triangular factor (sum = Z R), the same on every rank.
int sum_and_orthonormalise(MPI_Comm comm, Eigen::MatrixXd& acc, Eigen::MatrixXd* r = nullptr);

}  // namespace melon::pca

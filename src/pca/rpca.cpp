// GCC 12's AVX-512 intrinsic headers trip -Wuninitialized inside Eigen's
// packet transposes (GCC bug 105593): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "melon/pca/rpca.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <sys/mman.h>
#include <unistd.h>
#include <cerrno>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/pca/cholqr.hpp"
#include "melon/pca/kernels.hpp"
#include "melon/pca/state.hpp"
#include "melon/util/log.hpp"
#include "melon/util/rng.hpp"

namespace melon::pca {
namespace {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr std::uint64_t kOmegaStream = 0x4f4d454741ull;  // "OMEGA"
constexpr std::uint64_t kPsiStream = 0x505349ull;         // "PSI"

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// Fork-join worker threads: run(fn) calls fn(t) for t in [0, n), t = 0 on the
// caller. Only the caller ever talks to MPI (MPI_THREAD_FUNNELED).
class Workers {
 public:
  explicit Workers(int n) : n_(std::max(1, n)) {
    for (int t = 1; t < n_; ++t) threads_.emplace_back([this, t] { loop(t); });
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (auto& th : threads_) th.join();
  }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;
  int size() const { return n_; }

  void run(const std::function<void(int)>& fn) {
    if (n_ == 1) {
      fn(0);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      pending_ = n_ - 1;
      err_ = nullptr;
      ++gen_;
    }
    cv_.notify_all();
    std::exception_ptr mine;
    try {
      fn(0);
    } catch (...) {
      mine = std::current_exception();
    }
    std::unique_lock<std::mutex> lk(m_);
    done_.wait(lk, [&] { return pending_ == 0; });
    fn_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (err_) std::rethrow_exception(err_);
  }

 private:
  void loop(int t) {
    std::uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* fn = nullptr;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return gen_ != seen; });
        seen = gen_;
        if (stop_) return;
        fn = fn_;
      }
      try {
        (*fn)(t);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!err_) err_ = std::current_exception();
      }
      std::lock_guard<std::mutex> lk(m_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  int n_;
  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  int pending_ = 0;
  std::uint64_t gen_ = 0;
  bool stop_ = false;
  std::exception_ptr err_;
};

mpi::Range chunk(std::int64_t n, int t, int parts) { return mpi::block_range(n, t, parts); }

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
  void allocate(std::size_t count) {
    release();
    bytes_ = std::max<std::size_t>(count * sizeof(float), 4096);
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    MELON_CHECK(p != MAP_FAILED, "pca: cannot allocate " << (bytes_ >> 20) << " MiB: " << std::strerror(errno));
    p_ = static_cast<float*>(p);
  }
  float* data() { return p_; }

 private:
  void release() {
    if (p_) ::munmap(p_, bytes_);
    p_ = nullptr;
  }
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
  ~SpillFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;
  void open(const std::string& dir, int dim) {
    std::string path = dir + "/melon-pca-spill-XXXXXX";
    fd_ = ::mkstemp(path.data());
    MELON_CHECK(fd_ >= 0, "pca: cannot make a feature spill file in --spill-dir " << dir << ": " << std::strerror(errno));
    ::unlink(path.c_str());
    dir_ = dir;
    row_bytes_ = static_cast<std::size_t>(dim) * sizeof(float);
  }
  void write(std::int64_t row, const float* rows, std::int64_t n) { io(true, row, const_cast<float*>(rows), n); }
  void read(std::int64_t row, float* rows, std::int64_t n) { io(false, row, rows, n); }

 private:
  void io(bool out, std::int64_t row, float* rows, std::int64_t n) {
    char* p = reinterpret_cast<char*>(rows);
    std::size_t left = row_bytes_ * static_cast<std::size_t>(n);
    off_t at = static_cast<off_t>(row_bytes_ * static_cast<std::size_t>(row));
    while (left > 0) {
      const ssize_t r = out ? ::pwrite(fd_, p, left, at) : ::pread(fd_, p, left, at);
      if (r < 0 && errno == EINTR) continue;
      MELON_CHECK(r > 0, "pca: cannot " << (out ? "write" : "read") << " the feature spill file in --spill-dir " << dir_
                                        << " (rows " << row << ".." << row + n - 1 << "): "
                                        << (r < 0 ? std::strerror(errno) : "it ended early"));
      p += r;
      at += r;
      left -= static_cast<std::size_t>(r);
    }
  }
  int fd_ = -1;
  std::string dir_;
  std::size_t row_bytes_ = 0;
};

// N(0,1) values from one stream, two per Box-Muller pair (half the log/sqrt
// calls of one-at-a-time). Deterministic: a function of the stream alone.
void fill_normals(Rng& rng, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; i += 2) {
    double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();  // u1 in (0, 1]
    double r = std::sqrt(-2.0 * std::log(u1)), a = 6.283185307179586 * u2;
    out[i] = static_cast<float>(r * std::cos(a));
    if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(a));
  }
}

enum class Kind { Scan, Sketch, Z, Y, B };

Kind kind_of(const Options& o, int pass) {
  if (o.single_pass) return Kind::Sketch;
  if (pass == 0) return Kind::Scan;
  if (pass == 2 * o.power_iters + 1) return Kind::B;
  return pass % 2 == 1 ? Kind::Z : Kind::Y;
}

// What the run carries from pass to pass (and what a checkpoint stores).
struct Work {
  int l = 0;
  std::int64_t n_total = 0, skipped_total = 0, nonfinite_total = 0;
  double total_ss = 0;
  std::vector<std::int64_t> rows;
  std::vector<Skip> skipped;
  Eigen::VectorXd mean;
  Eigen::VectorXf meanf;
  Eigen::MatrixXd local;   // n_local x l
  Eigen::MatrixXd shared;  // D x l
  int shifted = 0;
};

struct Counters {
  double bytes = 0, gemm = 0, flops = 0;
  std::int64_t rows = 0;
};

// rows [0, n) of a (n x dim, row-major) -= mean: the one centring every path
// (streamed, spilled, cached) applies, so they all give the same bits.
void centre_rows(float* a, std::int64_t n, int dim, const float* mean) {
  for (std::int64_t j = 0; j < n; ++j) {
    float* row = a + static_cast<std::size_t>(j) * dim;
    for (int d = 0; d < dim; ++d) row[d] -= mean[d];
  }
}

// Streams this rank's rows through the pass kernels in blocks of opt.block
// rows, from the source or from the in-memory cache.
class Streamer {
 public:
  Streamer(const RowSource& src, const Options& opt, Workers& workers, int dim)
      : src_(src), opt_(opt), workers_(workers), dim_(dim) {}

  void allocate_block() {
    buf_.allocate(static_cast<std::size_t>(std::min<std::int64_t>(opt_.block, std::max<std::int64_t>(src_.size(), 1))) *
                  dim_);
  }
  void enable_cache(std::int64_t rows) {
    cache_.allocate(static_cast<std::size_t>(std::max<std::int64_t>(rows, 1)) * dim_);
    cache_on_ = true;
  }
  bool cache_on() const { return cache_on_; }
  void enable_spill(const std::string& dir) {
    spill_.open(dir, dim_);
    spill_on_ = true;
  }

  // First pass: every candidate; fn(a, v0, nv) gets the block's readable rows
  // compacted (uncentred), v0 = index of the first of them among valid rows.
  // Failures come back as a message (never as an exception) so that every
  // rank reaches the collective check at the end of the pass.
  template <class Fn>
  std::string scan(Work& w, Counters& c, log::Progress& prog, double scale, Fn&& fn) {
    try {
      scan_impl(w, c, prog, scale, fn);
    } catch (const std::exception& e) {
      return e.what();
    }
    return {};
  }
  template <class Fn>
  std::string rows(const Work& w, Counters& c, log::Progress& prog, double scale, Fn&& fn) {
    try {
      return rows_impl(w, c, prog, scale, fn);
    } catch (const std::exception& e) {
      return e.what();
    }
  }

 private:
  template <class Fn>
  void scan_impl(Work& w, Counters& c, log::Progress& prog, double scale, Fn& fn) {
    const std::int64_t n_cand = src_.size(), B = opt_.block;
    std::vector<RowStatus> st(static_cast<std::size_t>(std::min(B, std::max<std::int64_t>(n_cand, 1))));
    const int T = workers_.size();
    std::vector<double> tbytes(T);
    for (std::int64_t c0 = 0; c0 < n_cand; c0 += B) {
      const std::int64_t n = std::min(B, n_cand - c0);
      const std::int64_t v0 = static_cast<std::int64_t>(w.rows.size());
      float* a = cache_on_ ? cache_.data() + static_cast<std::size_t>(v0) * dim_ : buf_.data();
      workers_.run([&](int t) {
        auto r = chunk(n, t, T);
        for (std::int64_t j = r.begin; j < r.end; ++j) {
          st[j] = src_.row(c0 + j, a + static_cast<std::size_t>(j) * dim_);
          tbytes[t] += st[j].bytes;
        }
      });
      std::int64_t nv = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        if (!st[j].ok) {
          w.skipped.push_back({c0 + j, st[j].reason});
          continue;
        }
        if (nv != j)
          std::memmove(a + static_cast<std::size_t>(nv) * dim_, a + static_cast<std::size_t>(j) * dim_,
                       sizeof(float) * dim_);
        w.rows.push_back(c0 + j);
        w.nonfinite_total += st[j].nonfinite;
        ++nv;
      }
      if (spill_on_ && nv > 0) spill_.write(v0, a, nv);  // as made, uncentred: the mean is not known yet
      if (nv > 0) fn(a, v0, nv);
      c.rows += nv;
      double bytes = 0;
      for (auto b : tbytes) bytes += b;
      c.bytes = bytes;
      prog.update(static_cast<std::int64_t>((c0 + n) * scale), bytes * scale);
    }
    if (cache_on_) cache_ready_ = true;
    if (spill_on_) spill_ready_ = true;
  }

  // Later passes: this rank's valid rows, centred; fn(a, r0, n).
  template <class Fn>
  std::string rows_impl(const Work& w, Counters& c, log::Progress& prog, double scale, Fn& fn) {
    // Rows in memory go to the kernels in larger blocks: A^T M then reloads
    // its l x D accumulator once per 4096 rows instead of once per --block
    // rows. The kernels' sums do not depend on the block size (kernels.hpp).
    const std::int64_t n_local = static_cast<std::int64_t>(w.rows.size()),
                       B = cache_ready_ ? std::max<std::int64_t>(opt_.block, 4096) : opt_.block;
    const int T = workers_.size();
    std::vector<double> tbytes(T);
    std::vector<std::string> terr(T);
    for (std::int64_t r0 = 0; r0 < n_local; r0 += B) {
      const std::int64_t n = std::min(B, n_local - r0);
      float* a = cache_on_ ? cache_.data() + static_cast<std::size_t>(r0) * dim_ : buf_.data();
      if (spill_ready_) {
        workers_.run([&](int t) {
          auto r = chunk(n, t, T);
          if (r.end <= r.begin) return;
          float* rows = a + static_cast<std::size_t>(r.begin) * dim_;
          spill_.read(r0 + r.begin, rows, r.end - r.begin);
          tbytes[t] += static_cast<double>(r.end - r.begin) * dim_ * sizeof(float);
          centre_rows(rows, r.end - r.begin, dim_, w.meanf.data());
        });
      } else if (!cache_ready_) {
        workers_.run([&](int t) {
          auto r = chunk(n, t, T);
          for (std::int64_t j = r.begin; j < r.end && terr[t].empty(); ++j) {
            float* row = a + static_cast<std::size_t>(j) * dim_;
            const std::int64_t cand = w.rows[r0 + j];
            RowStatus s = src_.row(cand, row);
            if (!s.ok) {
              terr[t] = "row " + std::to_string(cand) + " (id " + std::to_string(src_.key(cand)) +
                        ") was read in the first pass but now fails: " + s.reason;
              break;
            }
            tbytes[t] += s.bytes;
            if (spill_on_) spill_.write(r0 + j, row, 1);  // a resumed run's first pass: spill for the next ones
            centre_rows(row, 1, dim_, w.meanf.data());
          }
        });
        for (auto& e : terr)
          if (!e.empty()) return e;
      }
      fn(static_cast<const float*>(a), r0, n);
      c.rows += n;
      double bytes = 0;
      for (auto b : tbytes) bytes += b;
      if (cache_ready_) bytes = static_cast<double>(r0 + n) * dim_ * sizeof(float);
      c.bytes = bytes;
      prog.update(static_cast<std::int64_t>((r0 + n) * scale), bytes * scale);
    }
    if (cache_on_) cache_ready_ = true;
    if (spill_on_) spill_ready_ = true;
    return {};
  }

 public:
  // Centres the cached rows once the mean is known (the streamed path centres each block as it reads it).
  void centre_cache(const Work& w) {
    if (!cache_on_) return;
    const std::int64_t n = static_cast<std::int64_t>(w.rows.size());
    const int T = workers_.size();
    workers_.run([&](int t) {
      auto r = chunk(n, t, T);
      centre_rows(cache_.data() + static_cast<std::size_t>(r.begin) * dim_, r.end - r.begin, dim_, w.meanf.data());
    });
  }

 private:
  const RowSource& src_;
  const Options& opt_;
  Workers& workers_;
  int dim_;
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
  AtAccumulator(Workers& workers, int dim, int cols)
      : workers_(workers), dim_(dim), cols_(cols), acc_(Eigen::MatrixXd::Zero(dim, cols)),
        tmp_(Eigen::MatrixXf::Zero(dim, cols)) {}

  void add(const float* a, std::int64_t n, const RowMatF& m) {
    for (std::int64_t i0 = 0; i0 < n;) {
      const std::int64_t seg = std::min(n - i0, kFlushRows - pending_);
      pending_ += seg;
      const bool flush = pending_ == kFlushRows;
      const float* ai = a + static_cast<std::size_t>(i0) * dim_;
      const float* mi = m.data() + static_cast<std::size_t>(i0) * cols_;
      workers_.run([&](int t) {
        auto r = columns(t);
        if (r.end <= r.begin) return;
        accumulate_columns_times_rows(ai, seg, dim_, r.begin, r.end, mi, cols_, tmp_.data());
        if (flush) flush_rows(r.begin, r.end - r.begin);
      });
      if (flush) pending_ = 0;
      i0 += seg;
    }
  }

  // The accumulated sum (flushes what is pending).
  Eigen::MatrixXd& result() {
    if (pending_ > 0) {
      workers_.run([&](int t) {
        auto r = columns(t);
        if (r.end > r.begin) flush_rows(r.begin, r.end - r.begin);
      });
      pending_ = 0;
    }
    return acc_;
  }

 private:
  // Thread t's columns: split in 16-column units (the kernel's vector width).
  mpi::Range columns(int t) const {
    const int T = workers_.size();
    const std::int64_t units = (dim_ + 15) / 16;
    auto u = chunk(units, t, T);
    return {std::min<std::int64_t>(u.begin * 16, dim_), std::min<std::int64_t>(u.end * 16, dim_)};
  }
  void flush_rows(Eigen::Index d0, Eigen::Index nd) {
    acc_.middleRows(d0, nd) += tmp_.middleRows(d0, nd).cast<double>();
    tmp_.middleRows(d0, nd).setZero();
  }
  Workers& workers_;
  int dim_, cols_;
  Eigen::MatrixXd acc_;
  Eigen::MatrixXf tmp_;
  std::int64_t pending_ = 0;
};

// y rows [r0, r0 + n) (n_total x l, column-major double) = A Z, rows split
// over the workers.
void multiply_rows(Workers& workers, const float* a, std::int64_t n, const PackedColumns& z, Eigen::MatrixXd& y,
                   std::int64_t r0) {
  const int T = workers.size();
  workers.run([&](int t) {
    auto r = chunk(n, t, T);
    if (r.end > r.begin)
      rows_times_columns(a + static_cast<std::size_t>(r.begin) * z.dim, r.end - r.begin, z,
                         y.data() + r0 + r.begin, 1, y.rows());
  });
}

// acc (D x l, this rank's part of the sum) becomes Z = qr(sum over ranks),
// the same bits on every rank; returns the shifted CholeskyQR steps taken.
// Each rank sums and orthonormalises only its block of Z's D rows
// (reduce-scatter, then CholeskyQR2 with the l x l Gram matrix summed across
// ranks) and the blocks are gathered: reducing, broadcasting and
// orthonormalising the whole 90,048 x 42 matrix on every rank took 60-100 ms
// a power iteration that more ranks did not shorten.
int sum_and_orthonormalise(MPI_Comm comm, Eigen::MatrixXd& acc) {
  const int nranks = mpi::size(comm), me = mpi::rank(comm);
  const std::int64_t D = acc.rows(), l = acc.cols();
  if (nranks == 1) return cholqr(MPI_COMM_SELF, acc, D).shifted_steps;
  // Rank-major: block r holds rows [begin_r, end_r) of every column, column-major.
  std::vector<mpi::Range> rows(static_cast<std::size_t>(nranks));
  std::vector<std::int64_t> counts(static_cast<std::size_t>(nranks));
  for (int r = 0; r < nranks; ++r) {
    rows[r] = mpi::block_range(D, r, nranks);
    counts[r] = (rows[r].end - rows[r].begin) * l;
  }
  std::unique_ptr<double[]> packed(new double[static_cast<std::size_t>(D * l)]);  // every value written before read
  auto blocks = [&](bool pack) {
    std::size_t at = 0;
    for (int r = 0; r < nranks; ++r) {
      const std::int64_t n = rows[r].end - rows[r].begin;
      for (std::int64_t j = 0; j < l; ++j, at += static_cast<std::size_t>(n)) {
        double* col = acc.col(j).data() + rows[r].begin;
        if (pack)
          std::copy(col, col + n, packed.get() + at);
        else
          std::copy(packed.get() + at, packed.get() + at + n, col);
      }
    }
  };
  blocks(true);
  Eigen::MatrixXd mine(rows[me].end - rows[me].begin, l);
  mpi::reduce_scatter_sum(comm, packed.get(), mine.data(), counts);
  const int shifted = cholqr(comm, mine, D).shifted_steps;
  mpi::allgather_blocks(comm, mine.data(), packed.get(), counts);
  blocks(false);
  return shifted;
}

// s1[d] += sum_i a(i, d), s2[d] += sum_i a(i, d)^2 (double, row order) for d
// in [d0, d1). In 512-column strips so the two sums stay in L1 while every
// row passes (row by row over all D, they went through L2 twice per value),
// with restrict pointers: through Eigen's operator[] the loop stayed scalar.
void column_sums(const float* a, std::int64_t n, std::int64_t dim, std::int64_t d0, std::int64_t d1,
                 double* __restrict s1, double* __restrict s2) {
  for (std::int64_t c0 = d0; c0 < d1; c0 += 512) {
    const std::int64_t c1 = std::min(d1, c0 + 512);
    for (std::int64_t i = 0; i < n; ++i) {
      const float* __restrict row = a + static_cast<std::size_t>(i) * dim;
      for (std::int64_t d = c0; d < c1; ++d) {
        const double x = row[d];
        s1[d] += x;
        s2[d] += x * x;
      }
    }
  }
}

std::string pass_label(const Options& o, int pass) {
  return "pass " + std::to_string(pass + 1) + "/" + std::to_string(pass_count(o)) + " (" + pass_name(o, pass) + ")";
}

}  // namespace

int pass_count(const Options& o) { return o.single_pass ? 1 : 2 * o.power_iters + 2; }

std::string pass_name(const Options& o, int pass) {
  switch (kind_of(o, pass)) {
    case Kind::Sketch: return "single-pass sketch: Y = A Omega, W = Psi A, mean";
    case Kind::Scan: return "Y = A Omega, mean";
    case Kind::B: return "B = Q^T Ac";
    case Kind::Z: return "Z = Ac^T Q, power iteration " + std::to_string((pass + 1) / 2) + "/" + std::to_string(o.power_iters);
    case Kind::Y: return "Y = Ac Z, power iteration " + std::to_string(pass / 2) + "/" + std::to_string(o.power_iters);
  }
  return "?";
}

void gaussian_matrix(std::uint64_t seed, std::uint64_t stream, int rows, int cols, float* out, int first_col) {
  for (int j = 0; j < cols; ++j) {
    Rng rng(mix_seed(seed, stream, static_cast<std::uint64_t>(first_col + j)));
    fill_normals(rng, out + static_cast<std::size_t>(j) * rows, rows);
  }
}

void normalize_signs(Eigen::MatrixXd& components, Eigen::MatrixXd& scores) {
  const Eigen::Index k = components.rows();
  std::vector<Eigen::Index> best(static_cast<std::size_t>(k), 0);
  std::vector<double> big(static_cast<std::size_t>(k), -1);
  // Column by column: components is column-major, k x D.
  for (Eigen::Index d = 0; d < components.cols(); ++d)
    for (Eigen::Index j = 0; j < k; ++j) {
      const double v = std::fabs(components(j, d));
      if (v > big[j]) {
        big[j] = v;
        best[j] = d;
      }
    }
  for (Eigen::Index j = 0; j < k; ++j) {
    if (components.cols() > 0 && components(j, best[j]) < 0) {
      components.row(j) *= -1;
      if (scores.cols() > j) scores.col(j) *= -1;
    }
  }
}

std::int64_t peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  return -1;
}

std::int64_t log_peak_memory(MPI_Comm comm, const std::string& what) {
  std::int64_t mine = peak_rss_kib();
  auto all = mpi::allgather(comm, mine);
  std::int64_t top = *std::max_element(all.begin(), all.end());
  if (mpi::rank(comm) == 0) {
    std::ostringstream os;
    os << what << " peak memory (VmHWM) per rank:";
    for (std::size_t r = 0; r < all.size(); ++r) os << " r" << r << "=" << fmt("%.1f", all[r] / 1024.0) << "MB";
    os << "; max " << fmt("%.1f", top / 1024.0) << " MB";
    log::info(os.str());
  }
  return top;
}

std::int64_t planned_bytes(std::int64_t n_local, int dim, const Options& o) {
  const std::int64_t l = std::min<std::int64_t>(o.components + o.oversample, dim);
  const std::int64_t s = o.single_pass ? 2 * l + 1 : 0;
  const std::int64_t D = dim;
  std::int64_t b = o.block * D * 4;                   // block buffer
  b += D * l * (4 + 8 + 8 + 4 + 4);                    // Omega, accumulator, shared, float copy, GEMM temp
  b += D * s * (8 + 4);                                // single-pass W and its temp
  b += D * l * 8 * 2;                                  // final QR of Bt
  b += n_local * (l * 8 * 2 + o.components * 8 + 16);  // Y/Q, scratch, scores, bookkeeping
  b += D * 8 * 4;                                      // sums, mean
  return b;
}

Result run(const RowSource& src, const Options& opt) {
  MPI_Comm comm = opt.comm;
  const int rank = mpi::rank(comm), nranks = mpi::size(comm);
  const bool talk = opt.progress && rank == 0;
  MELON_CHECK(opt.components >= 1, "pca: --components must be >= 1, got " << opt.components);
  MELON_CHECK(opt.oversample >= 0, "pca: --oversample must be >= 0, got " << opt.oversample);
  MELON_CHECK(opt.power_iters >= 0, "pca: --power-iters must be >= 0, got " << opt.power_iters);
  MELON_CHECK(opt.block >= 1, "pca: --block must be >= 1, got " << opt.block);
  MELON_CHECK(opt.threads >= 1 && opt.threads <= 256, "pca: --threads must be 1..256, got " << opt.threads);
  const int D = src.dim();
  {
    std::int64_t dmax = static_cast<std::int64_t>(mpi::allreduce_max(comm, static_cast<double>(D)));
    std::int64_t dsum = mpi::allreduce_sum(comm, static_cast<std::int64_t>(D));
    MELON_ASSERT(dsum == dmax * nranks, "ranks disagree on the feature dimension");
  }
  MELON_CHECK(D >= 1, "pca: feature rows are empty");
  MELON_CHECK(opt.components <= D, "pca: k = " << opt.components << " components exceed the feature dimension D = "
                                                << D << " (k must be <= min(songs, D))");
  const std::int64_t cand_total = mpi::allreduce_sum(comm, src.size());
  MELON_CHECK(cand_total > 0, "pca: no readable rows: no rank has any song to read (all missing?)");
  // Checked again after the first pass against the songs actually read; this
  // catches the obvious case before reading anything.
  MELON_CHECK(opt.components <= cand_total, "pca: k = " << opt.components << " components exceed the " << cand_total
                                                        << " songs given (k must be <= min(songs, D = " << D << "))");
  const int l0 = std::min(opt.components + opt.oversample, D);
  const int n_passes = pass_count(opt);

  std::ostringstream fp;
  fp << opt.fingerprint << "k=" << opt.components << "\noversample=" << opt.oversample
     << "\npower_iters=" << opt.power_iters << "\nseed=" << opt.seed
     << "\nmode=" << (opt.single_pass ? "single-pass" : "multi-pass") << "\nblock=" << opt.block
     << "\nthreads=" << opt.threads << "\nranks=" << nranks << "\ndim=" << D << "\ncandidates=" << cand_total << "\n";
  const std::string fingerprint = fp.str();

  Work w;
  int start = 0;
  Result res;
  if (!opt.state_dir.empty()) {
    if (opt.resume) {
      auto cp = load_checkpoint(comm, opt.state_dir, fingerprint);
      if (cp) {
        start = cp->pass + 1;
        res.resumed_after = cp->pass;
        w.l = cp->sketch;
        w.n_total = cp->rows_total;
        w.skipped_total = cp->skipped_total;
        w.nonfinite_total = cp->nonfinite_total;
        w.total_ss = cp->total_ss;
        w.rows = std::move(cp->rows);
        w.skipped = std::move(cp->skipped);
        w.mean = cp->mean;
        w.meanf = w.mean.cast<float>();
        w.local = std::move(cp->local);
        w.shared = std::move(cp->shared);
        w.shifted = cp->qr_shifted_steps;
        if (talk)
          log::info("pca: resuming after pass " + std::to_string(start) + "/" + std::to_string(n_passes) +
                    " from " + opt.state_dir);
      } else if (talk) {
        log::info("pca: --resume: no checkpoint in " + opt.state_dir + ", starting from the first pass");
      }
    } else {
      remove_state(comm, opt.state_dir);  // a fresh run never mixes with an old one's files
    }
  }

  // Omega: D x l0, the same bits on every rank for every rank count, since a
  // column is a function of (seed, column) alone. Each rank draws a block of
  // the columns and they swap them: drawing all of them took ~0.09 s a rank
  // at D = 90,048, work that did not shrink with more ranks.
  Eigen::MatrixXf omega(D, l0);
  {
    const auto cols = mpi::block_range(l0, rank, nranks);
    const int n_cols = static_cast<int>(cols.end - cols.begin);
    float* mine = omega.data() + static_cast<std::size_t>(cols.begin) * D;
    gaussian_matrix(opt.seed, kOmegaStream, D, n_cols, mine, static_cast<int>(cols.begin));
    auto parts = mpi::allgather_bytes(
        comm, std::string(reinterpret_cast<const char*>(mine), sizeof(float) * static_cast<std::size_t>(n_cols) * D));
    std::size_t at = 0;  // blocks in rank order: together, omega's columns in order
    for (auto& part : parts) {
      MELON_ASSERT(at + part.size() <= sizeof(float) * static_cast<std::size_t>(omega.size()),
                   "Omega's column blocks overrun the matrix");
      std::memcpy(reinterpret_cast<char*>(omega.data()) + at, part.data(), part.size());
      at += part.size();
    }
    MELON_ASSERT(at == sizeof(float) * static_cast<std::size_t>(omega.size()), "Omega's column blocks do not fill it");
  }
  const PackedColumns omega_packed = pack_columns(omega.data(), D, l0);
  const int s_width = opt.single_pass ? 2 * l0 + 1 : 0;

  Workers workers(opt.threads);
  Streamer stream(src, opt, workers, D);
  {
    std::int64_t cache_rows = start == 0 ? src.size() : static_cast<std::int64_t>(w.rows.size());
    bool on = opt.cache_bytes > 0 && cache_rows * static_cast<std::int64_t>(D) * 4 <= opt.cache_bytes;
    // Spilling pays only when a later pass would otherwise make the rows again.
    const bool spill = !on && !opt.spill_dir.empty() && !opt.single_pass && start < n_passes - 1;
    std::string err;  // out of memory (or of scratch space) on one rank must stop every rank
    try {
      stream.allocate_block();
      if (on) stream.enable_cache(cache_rows);
      if (spill) stream.enable_spill(opt.spill_dir);
    } catch (const Error& e) {
      err = e.what();
    }
    mpi::throw_if_any(comm, err);
    std::int64_t counts[2] = {on ? 1 : 0, spill ? 1 : 0};
    mpi::allreduce_sum(comm, counts, 2);
    if (talk && opt.cache_bytes > 0)
      log::info("pca: " + std::to_string(counts[0]) + "/" + std::to_string(nranks) +
                " ranks keep their feature rows in memory between passes (--memory-mb allows it)");
    if (talk && counts[1] > 0)
      log::info("pca: " + std::to_string(counts[1]) + "/" + std::to_string(nranks) +
                " ranks spill their feature rows to " + opt.spill_dir + " for the later passes (about " +
                fmt("%.0f", static_cast<double>(cand_total) * D * 4 / nranks / 1048576.0) + " MB a rank)");
  }
  const int T = workers.size();
  double since_checkpoint = 0;

  for (int pass = start; pass < n_passes; ++pass) {
    const Kind kind = kind_of(opt, pass);
    const double t0 = now();
    Counters c;
    const std::int64_t total = (kind == Kind::Scan || kind == Kind::Sketch) ? cand_total : w.n_total;
    const std::int64_t mine = (kind == Kind::Scan || kind == Kind::Sketch) ? src.size()
                                                                           : static_cast<std::int64_t>(w.rows.size());
    // Rank 0 reports for the job: ranks are balanced by bytes, so its own
    // fraction done stands for everyone's; exact totals come at the pass end.
    const double scale = mine > 0 ? static_cast<double>(total) / mine : 0;
    log::Progress prog(pass_label(opt, pass), total, "songs", 5.0, talk);
    std::string error;
    {
      if (kind == Kind::Scan || kind == Kind::Sketch) {
        const std::int64_t n_cand = src.size();
        Eigen::MatrixXd y(n_cand, l0);
        Eigen::VectorXd sum = Eigen::VectorXd::Zero(2 * D);  // column sums, then sums of squares
        AtAccumulator wsum(workers, s_width > 0 ? D : 0, s_width);
        Eigen::VectorXd psi1 = Eigen::VectorXd::Zero(s_width);
        RowMatF psi;
        error = stream.scan(w, c, prog, scale, [&](float* a, std::int64_t v0, std::int64_t nv) {
          workers.run([&](int t) {
            auto r = chunk(D, t, T);
            column_sums(a, nv, D, r.begin, r.end, sum.data(), sum.data() + D);
          });
          const double g0 = now();
          multiply_rows(workers, a, nv, omega_packed, y, v0);
          c.flops += 2.0 * nv * D * l0;
          if (s_width > 0) {
            psi.resize(nv, s_width);
            std::vector<float> p(s_width);
            for (std::int64_t i = 0; i < nv; ++i) {
              Rng rng(mix_seed(opt.seed, kPsiStream, static_cast<std::uint64_t>(src.key(w.rows[v0 + i]))));
              fill_normals(rng, p.data(), s_width);
              for (int j = 0; j < s_width; ++j) {
                psi(i, j) = p[j];
                psi1[j] += p[j];  // row by row: no dependence on the block size
              }
            }
            wsum.add(a, nv, psi);
            c.flops += 2.0 * nv * D * s_width;
          }
          c.gemm += now() - g0;
        });
        mpi::throw_if_any(comm, error);
        const std::int64_t n_local = static_cast<std::int64_t>(w.rows.size());
        std::int64_t counts[3] = {n_local, static_cast<std::int64_t>(w.skipped.size()), w.nonfinite_total};
        mpi::allreduce_sum(comm, counts, 3);
        w.n_total = counts[0];
        w.skipped_total = counts[1];
        w.nonfinite_total = counts[2];
        MELON_CHECK(w.n_total > 0, "pca: no readable rows: all " << cand_total
                                                                  << " songs given were missing or unreadable");
        MELON_CHECK(w.n_total >= 2, "pca: only one readable song: PCA needs at least 2");
        MELON_CHECK(opt.components <= w.n_total, "pca: k = " << opt.components << " components exceed the "
                                                              << w.n_total << " songs read (k must be <= min(songs, D = "
                                                              << D << "))");
        mpi::allreduce_sum_same(comm, sum.data(), static_cast<std::size_t>(sum.size()));
        w.mean = sum.head(D) / static_cast<double>(w.n_total);
        w.meanf = w.mean.cast<float>();
        // ||Ac||^2 = sum x^2 - N mu^2 per column: the squares of floats are exact
        // in double, so the cancellation costs ~eps * mean^2 / variance: nothing.
        w.total_ss = std::max(0.0, (sum.tail(D) - w.mean.cwiseProduct(sum.head(D))).sum());
        stream.centre_cache(w);
        w.l = static_cast<int>(std::min<std::int64_t>(l0, w.n_total));
        y.conservativeResize(n_local, w.l);
        Eigen::RowVectorXd mu_omega = w.mean.transpose() * omega.leftCols(w.l).cast<double>();
        y.rowwise() -= mu_omega;
        w.shifted += cholqr(comm, y, w.n_total).shifted_steps;
        w.local = std::move(y);
        if (kind == Kind::Sketch) {
          // W = Psi Ac = Psi A - (Psi 1) mu^T, kept transposed (D x s).
          Eigen::MatrixXd& wacc = wsum.result();
          mpi::allreduce_sum_same(comm, wacc.data(), static_cast<std::size_t>(wacc.size()));
          mpi::allreduce_sum_same(comm, psi1.data(), static_cast<std::size_t>(psi1.size()));
          wacc -= w.mean * psi1.transpose();
          // Psi Q (s x l) from the same float-rounded Psi entries as W.
          Eigen::MatrixXd psiq = Eigen::MatrixXd::Zero(s_width, w.l);
          std::vector<Eigen::MatrixXd> part(T, Eigen::MatrixXd::Zero(s_width, w.l));
          workers.run([&](int t) {
            auto r = chunk(n_local, t, T);
            Eigen::VectorXf pf(s_width);
            for (std::int64_t i = r.begin; i < r.end; ++i) {
              Rng rng(mix_seed(opt.seed, kPsiStream, static_cast<std::uint64_t>(src.key(w.rows[i]))));
              fill_normals(rng, pf.data(), s_width);
              part[t].noalias() += pf.cast<double>() * w.local.row(i);
            }
          });
          for (auto& m : part) psiq += m;
          mpi::allreduce_sum_same(comm, psiq.data(), static_cast<std::size_t>(psiq.size()));
          // X = (Psi Q)^+ W; X^T = W^T Qp Rp^-T with Psi Q = Qp Rp.
          Eigen::HouseholderQR<Eigen::MatrixXd> qr(psiq);
          Eigen::MatrixXd qp = qr.householderQ() * Eigen::MatrixXd::Identity(s_width, w.l);
          Eigen::MatrixXd rp = qr.matrixQR().topRows(w.l).triangularView<Eigen::Upper>();
          Eigen::MatrixXd xt = wacc * qp;
          rp.transpose().triangularView<Eigen::Lower>().solveInPlace<Eigen::OnTheRight>(xt);
          w.shared = std::move(xt);
        }
      } else if (kind == Kind::Z || kind == Kind::B) {
        AtAccumulator sum(workers, D, w.l);
        RowMatF qf;
        error = stream.rows(w, c, prog, scale, [&](const float* a, std::int64_t r0, std::int64_t n) {
          const double g0 = now();
          qf = w.local.middleRows(r0, n).cast<float>();
          sum.add(a, n, qf);
          c.flops += 2.0 * n * D * w.l;
          c.gemm += now() - g0;
        });
        mpi::throw_if_any(comm, error);
        Eigen::MatrixXd acc = std::move(sum.result());
        if (kind == Kind::Z) {
          // CholeskyQR2 (BLAS-3, ~20x faster than Householder at D x l).
          w.shifted += sum_and_orthonormalise(comm, acc);
          w.shared = std::move(acc);
          w.local.resize(0, 0);  // the next pass rebuilds it
        } else {
          mpi::allreduce_sum_same(comm, acc.data(), static_cast<std::size_t>(acc.size()));
          w.shared = std::move(acc);
        }
      } else {  // Kind::Y
        const PackedColumns zp = pack_columns(w.shared.data(), D, w.l);
        const std::int64_t n_local = static_cast<std::int64_t>(w.rows.size());
        Eigen::MatrixXd y(n_local, w.l);
        error = stream.rows(w, c, prog, scale, [&](const float* a, std::int64_t r0, std::int64_t n) {
          const double g0 = now();
          multiply_rows(workers, a, n, zp, y, r0);
          c.flops += 2.0 * n * D * w.l;
          c.gemm += now() - g0;
        });
        mpi::throw_if_any(comm, error);
        w.shifted += cholqr(comm, y, w.n_total).shifted_steps;
        w.local = std::move(y);
        w.shared.resize(0, 0);
      }
    }

    // Pass summary for the job.
    PassStat ps;
    ps.name = pass_name(opt, pass);
    ps.seconds = mpi::allreduce_max(comm, now() - t0);
    ps.gemm_seconds = c.gemm;
    {
      double v[2] = {c.flops, c.bytes};
      mpi::allreduce_sum(comm, v, 2);
      ps.flops = v[0];
      ps.bytes = v[1];
    }
    ps.rows = mpi::allreduce_sum(comm, c.rows);
    res.passes.push_back(ps);
    if (talk) {
      std::ostringstream os;
      os << pass_label(opt, pass) << ": " << ps.rows << " songs in " << fmt("%.2f", ps.seconds) << " s, "
         << fmt("%.1f", ps.bytes / std::max(ps.seconds, 1e-9) / 1e6) << " MB/s, "
         << fmt("%.2f", ps.flops / std::max(ps.seconds, 1e-9) / 1e9) << " GFLOP/s over the pass ("
         << fmt("%.2f", ps.gemm_seconds) << " s in block products on rank 0)";
      if (kind == Kind::Scan || kind == Kind::Sketch)
        os << "; " << w.skipped_total << " skipped, " << w.nonfinite_total << " non-finite values replaced";
      log::info(os.str());
    }
    since_checkpoint += ps.seconds;  // the job's slowest rank: the same on every rank, so all decide alike
    if (!opt.state_dir.empty() && (since_checkpoint >= opt.checkpoint_seconds || pass == opt.stop_after_pass)) {
      since_checkpoint = 0;
      Checkpoint cp;
      cp.pass = pass;
      cp.sketch = w.l;
      cp.rows_total = w.n_total;
      cp.skipped_total = w.skipped_total;
      cp.nonfinite_total = w.nonfinite_total;
      cp.total_ss = w.total_ss;
      cp.rows = w.rows;
      cp.skipped = w.skipped;
      cp.mean = w.mean;
      cp.local = w.local;
      cp.shared = w.shared;
      cp.qr_shifted_steps = w.shifted;
      save_checkpoint(comm, opt.state_dir, fingerprint, cp);
    }
    if (pass == opt.stop_after_pass) throw Stopped(pass);
  }

  // Small SVD, the same on every rank: Bt = Qb Rb, Rb^T = U S W^T, so
  // B = U S (Qb W)^T.
  MELON_ASSERT(w.shared.rows() == D && w.shared.cols() == w.l, "final sketch has the wrong shape");
  const int k = opt.components;
  Eigen::MatrixXd qb = std::move(w.shared), rb;
  w.shifted += cholqr(MPI_COMM_SELF, qb, D, &rb).shifted_steps;
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(rb.transpose(), Eigen::ComputeFullU | Eigen::ComputeFullV);
  res.components = (qb * svd.matrixV().leftCols(k)).transpose();
  res.scores = w.local * (svd.matrixU().leftCols(k) * svd.singularValues().head(k).asDiagonal());
  normalize_signs(res.components, res.scores);
  res.singular_values = svd.singularValues().head(k);
  const double dof = static_cast<double>(w.n_total - 1);
  res.explained_variance = res.singular_values.array().square() / dof;
  res.explained_variance_ratio =
      w.total_ss > 0 ? Eigen::VectorXd(res.singular_values.array().square() / w.total_ss)
                     : Eigen::VectorXd(Eigen::VectorXd::Zero(k));
  res.total_variance = w.total_ss / dof;
  res.mean = w.mean;
  res.k = k;
  res.sketch = w.l;
  res.dim = D;
  res.rows_total = w.n_total;
  res.row_offset = mpi::exscan_sum(comm, static_cast<std::int64_t>(w.rows.size()));
  res.rows = std::move(w.rows);
  res.skipped = std::move(w.skipped);
  res.skipped_total = w.skipped_total;
  res.nonfinite_total = w.nonfinite_total;
  res.passes_total = n_passes;
  res.qr_shifted_steps = w.shifted;
  return res;
}

}  // namespace melon::pca

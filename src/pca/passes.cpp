// GCC 12's AVX-512 intrinsic headers trip -Wuninitialized inside Eigen's
// packet transposes (GCC bug 105593): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "passes.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "melon/error.hpp"
#include "melon/pca/cholqr.hpp"

namespace melon::pca {

void FloatBuffer::allocate(std::size_t count) {
  release();
  bytes_ = std::max<std::size_t>(count * sizeof(float), 4096);
  void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  MELON_CHECK(p != MAP_FAILED, "pca: cannot allocate " << (bytes_ >> 20) << " MiB: " << std::strerror(errno));
  p_ = static_cast<float*>(p);
}

void FloatBuffer::release() {
  if (p_) ::munmap(p_, bytes_);
  p_ = nullptr;
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

void SpillFile::open(const std::string& dir, int dim) {
  std::string path = dir + "/melon-pca-spill-XXXXXX";
  fd_ = ::mkstemp(path.data());
  MELON_CHECK(fd_ >= 0, "pca: cannot make a feature spill file in --spill-dir " << dir << ": " << std::strerror(errno));
  ::unlink(path.c_str());
  dir_ = dir;
  row_bytes_ = static_cast<std::size_t>(dim) * sizeof(float);
}

void SpillFile::io(bool out, std::int64_t row, float* rows, std::int64_t n) {
  char* p = reinterpret_cast<char*>(rows);
  std::size_t left = row_bytes_ * static_cast<std::size_t>(n);
  off_t at = static_cast<off_t>(row_bytes_ * static_cast<std::size_t>(row));
  while (left > 0) {
    const ssize_t r = out ? ::pwrite(fd_, p, left, at) : ::pread(fd_, p, left, at);
    if (r < 0 && errno == EINTR) continue;
    MELON_CHECK(r > 0, "pca: cannot " << (out ? "write" : "read") << " the feature spill file in --spill-dir " << dir_
                                      << " (rows " << row << ".." << row + n - 1
                                      << "): " << (r < 0 ? std::strerror(errno) : "it ended early"));
    p += r;
    at += r;
    left -= static_cast<std::size_t>(r);
  }
}

void centre_rows(float* a, std::int64_t n, int dim, const float* mean) {
  for (std::int64_t j = 0; j < n; ++j) {
    float* row = a + static_cast<std::size_t>(j) * dim;
    for (int d = 0; d < dim; ++d) row[d] -= mean[d];
  }
}

// In 512-column strips so the two sums stay in L1 while every row passes (row
// by row over all D, they went through L2 twice per value), with restrict
// pointers: through Eigen's operator[] the loop stayed scalar.
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

void Streamer::allocate_block() {
  buf_.allocate(static_cast<std::size_t>(std::min<std::int64_t>(opt_.block, std::max<std::int64_t>(src_.size(), 1))) *
                dim_);
}

void Streamer::enable_cache(std::int64_t rows) {
  cache_.allocate(static_cast<std::size_t>(std::max<std::int64_t>(rows, 1)) * dim_);
  cache_on_ = true;
}

void Streamer::enable_spill(const std::string& dir) {
  spill_.open(dir, dim_);
  spill_on_ = true;
}

std::string Streamer::scan(State& st, Counters& c, log::Progress& prog, double scale, const ScanFn& fn) {
  try {
    scan_impl(st, c, prog, scale, fn);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

std::string Streamer::rows(const State& st, Counters& c, log::Progress& prog, double scale, const RowsFn& fn) {
  try {
    return rows_impl(st, c, prog, scale, fn);
  } catch (const std::exception& e) {
    return e.what();
  }
}

void Streamer::scan_impl(State& w, Counters& c, log::Progress& prog, double scale, const ScanFn& fn) {
  const std::int64_t n_cand = src_.size(), B = opt_.block;
  std::vector<RowStatus> st(static_cast<std::size_t>(std::min(B, std::max<std::int64_t>(n_cand, 1))));
  const int T = pool_.threads();
  std::vector<double> tbytes(T);
  for (std::int64_t c0 = 0; c0 < n_cand; c0 += B) {
    const std::int64_t n = std::min(B, n_cand - c0);
    const std::int64_t v0 = static_cast<std::int64_t>(w.rows.size());
    float* a = cache_on_ ? cache_.data() + static_cast<std::size_t>(v0) * dim_ : buf_.data();
    pool_.run_per_thread([&](int t) {
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

std::string Streamer::rows_impl(const State& w, Counters& c, log::Progress& prog, double scale, const RowsFn& fn) {
  // Rows in memory go to the kernels in larger blocks: A^T M then reloads
  // its l x D accumulator once per 4096 rows instead of once per --block
  // rows. The kernels' sums do not depend on the block size (kernels.hpp).
  const std::int64_t n_local = static_cast<std::int64_t>(w.rows.size()),
                     B = cache_ready_ ? std::max<std::int64_t>(opt_.block, 4096) : opt_.block;
  const int T = pool_.threads();
  std::vector<double> tbytes(T);
  std::vector<std::string> terr(T);
  for (std::int64_t r0 = 0; r0 < n_local; r0 += B) {
    const std::int64_t n = std::min(B, n_local - r0);
    float* a = cache_on_ ? cache_.data() + static_cast<std::size_t>(r0) * dim_ : buf_.data();
    if (spill_ready_) {
      pool_.run_per_thread([&](int t) {
        auto r = chunk(n, t, T);
        if (r.end <= r.begin) return;
        float* rows = a + static_cast<std::size_t>(r.begin) * dim_;
        spill_.read(r0 + r.begin, rows, r.end - r.begin);
        tbytes[t] += static_cast<double>(r.end - r.begin) * dim_ * sizeof(float);
        centre_rows(rows, r.end - r.begin, dim_, meanf_.data());
      });
    } else if (!cache_ready_) {
      pool_.run_per_thread([&](int t) {
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
          centre_rows(row, 1, dim_, meanf_.data());
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

void Streamer::centre_cache(const State& st) {
  if (!cache_on_) return;
  const std::int64_t n = static_cast<std::int64_t>(st.rows.size());
  const int T = pool_.threads();
  pool_.run_per_thread([&](int t) {
    auto r = chunk(n, t, T);
    centre_rows(cache_.data() + static_cast<std::size_t>(r.begin) * dim_, r.end - r.begin, dim_, meanf_.data());
  });
}

void AtAccumulator::add(const float* a, std::int64_t n, const RowMatF& m) {
  for (std::int64_t i0 = 0; i0 < n;) {
    const std::int64_t seg = std::min(n - i0, kFlushRows - pending_);
    pending_ += seg;
    const bool flush = pending_ == kFlushRows;
    const float* ai = a + static_cast<std::size_t>(i0) * dim_;
    const float* mi = m.data() + static_cast<std::size_t>(i0) * cols_;
    pool_.run_per_thread([&](int t) {
      auto r = columns(t);
      if (r.end <= r.begin) return;
      accumulate_columns_times_rows(ai, seg, dim_, r.begin, r.end, mi, cols_, tmp_.data());
      if (flush) flush_rows(r.begin, r.end - r.begin);
    });
    if (flush) pending_ = 0;
    i0 += seg;
  }
}

Eigen::MatrixXd& AtAccumulator::result() {
  if (pending_ > 0) {
    pool_.run_per_thread([&](int t) {
      auto r = columns(t);
      if (r.end > r.begin) flush_rows(r.begin, r.end - r.begin);
    });
    pending_ = 0;
  }
  return acc_;
}

// Thread t's columns: split in 16-column units (the kernel's vector width).
mpi::Range AtAccumulator::columns(int t) const {
  const int T = pool_.threads();
  const std::int64_t units = (dim_ + 15) / 16;
  auto u = chunk(units, t, T);
  return {std::min<std::int64_t>(u.begin * 16, dim_), std::min<std::int64_t>(u.end * 16, dim_)};
}

void AtAccumulator::flush_rows(Eigen::Index d0, Eigen::Index nd) {
  acc_.middleRows(d0, nd) += tmp_.middleRows(d0, nd).cast<double>();
  tmp_.middleRows(d0, nd).setZero();
}

void multiply_rows(util::ThreadPool& pool, const float* a, std::int64_t n, const PackedColumns& z, Eigen::MatrixXd& y,
                   std::int64_t r0) {
  const int T = pool.threads();
  pool.run_per_thread([&](int t) {
    auto r = chunk(n, t, T);
    if (r.end > r.begin)
      rows_times_columns(a + static_cast<std::size_t>(r.begin) * z.dim, r.end - r.begin, z, y.data() + r0 + r.begin, 1,
                         y.rows());
  });
}

// Each rank sums and orthonormalises only its block of Z's D rows
// (reduce-scatter, then CholeskyQR2 with the l x l Gram matrix summed across
// ranks) and the blocks are gathered: reducing, broadcasting and
// orthonormalising the whole 90,048 x 42 matrix on every rank took 60-100 ms
// a power iteration that more ranks did not shorten.
int sum_and_orthonormalise(MPI_Comm comm, Eigen::MatrixXd& acc, Eigen::MatrixXd* r) {
  const int nranks = mpi::size(comm), me = mpi::rank(comm);
  const std::int64_t D = acc.rows(), l = acc.cols();
  if (nranks == 1) return cholqr(MPI_COMM_SELF, acc, D, r).shifted_steps;
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
        if (pack) std::copy(col, col + n, packed.get() + at);
        else std::copy(packed.get() + at, packed.get() + at + n, col);
      }
    }
  };
  blocks(true);
  Eigen::MatrixXd mine(rows[me].end - rows[me].begin, l);
  mpi::reduce_scatter_sum(comm, packed.get(), mine.data(), counts);
  const int shifted = cholqr(comm, mine, D, r).shifted_steps;
  mpi::allgather_blocks(comm, mine.data(), packed.get(), counts);
  blocks(false);
  return shifted;
}

}  // namespace melon::pca

#pragma once
// Distributed randomized PCA (Halko, Martinsson & Tropp 2011, Alg. 4.4 with
// re-orthonormalised power iterations) over a matrix whose rows are spread
// across MPI ranks and streamed in blocks, never held whole.
//
// A is N x D (N songs, D features), Ac = A - 1 mu^T its centred form, l = k + p.
// Multi-pass (2q + 2 passes over the data):
//   pass 0       Y = A Omega, column sums (mean), valid rows   -> Q = qr(Y - 1 mu^T Omega)
//   pass 2i-1    Z = Ac^T Q  (reduced over ranks)              -> Z = qr(Z)   (i = 1..q)
//   pass 2i      Y = Ac Z                                      -> Q = qr(Y)
//   pass 2q+1    Bt = Ac^T Q (reduced)
//   then on every rank: Bt = Qb Rb (CholeskyQR2), svd(Rb^T) = U S W^T,
//   components = (Qb W)^T, scores = Q U S (each rank its own rows).
// Method::Krylov (Musco & Musco 2015, "Randomized Block Krylov Methods for
// Stronger and Faster Approximate SVD") reads the data exactly as often but
// keeps every block Q_0..Q_q instead of only the last: the power method throws
// away subspaces it paid a pass for, and Rayleigh-Ritz over their union,
// K = orth([Q_0 .. Q_q]), cannot be less accurate than over Q_q alone. The
// last pass then computes Bt = Ac^T K, (q + 1) l columns wide. Measured at
// equal passes it is as accurate or better (tests/unit/test_pca_rpca.cpp,
// KrylovIsAtLeastAsAccurateAsPowerAtEqualPasses); it costs (q + 1) l doubles
// a local row instead of l, a wider last pass and larger resume state (about
// 30% more time and 25% more memory at 100,000 songs, q = 2). Power stays the
// default: at q = 2 its explained variance is within 3e-4 of Krylov's and the
// demo's reranked score moved by 3e-4 (noise), while every published time and
// memory figure was measured with it.
// The blocks overlap wherever the spectrum decays fast (Q_1 nearly repeats
// Q_0's leading directions), so K is orthonormalised by orthonormal_basis
// (cholqr.hpp), which drops the numerically dependent directions before
// CholeskyQR2 rather than amplifying rounding noise.
// ||Ac||_F^2 for the explained-variance ratios comes from pass 0's column sums.
// Single-pass (Tropp, Yurtsever, Udell & Cevher 2017, "Practical sketching
// algorithms for low-rank matrix approximation", Alg. 4 + 7): one pass collects
// Y = A Omega and W = Psi A (Psi: s x N, s = 2l + 1, keyed by song id), centring
// both afterwards; then Q = qr(Y), X = (Psi Q)^+ W, and X plays the role of B.
// It has no blocks to keep, so Options::method does not apply to it.
//
// Omega (D x l) is generated identically on every rank from the seed (a stream
// per column), Psi's column for a row from (seed, song id): neither depends on
// the rank count, so only the order of floating-point sums does.
// Block products run in float (pca/kernels.hpp, one thread per rank unless
// Options::threads says otherwise): A Z sums in float over 4096 columns, then
// in double; A^T M in float over 4096 rows of the pass, then in double.
// Neither the block size, the thread count nor keeping rows in memory changes
// a bit: only the rank count does (each rank sums its own rows). Everything
// reduced across ranks, the QR factors and the final SVD are double.
#include <mpi.h>

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "melon/util/eigen.hpp"

namespace melon::pca {

struct RowStatus {
  bool ok = true;
  std::string reason;          // why the row could not be made (ok == false)
  std::int64_t nonfinite = 0;  // values replaced while making it
  double bytes = 0;            // bytes read to make it (for MB/s)
};

// One rank's shard, seen as candidate rows of the feature matrix. A candidate
// that cannot be read in the first pass is skipped for good (listed with its
// reason); one that fails later, after it was read once, is an error.
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual std::int64_t size() const = 0;               // candidates on this rank
  virtual int dim() const = 0;                         // D, the same on every rank
  virtual std::int64_t key(std::int64_t i) const = 0;  // stable id of candidate i (song id)
  // Writes candidate i's row into out[0, dim()). Called concurrently for
  // different i from worker threads.
  virtual RowStatus row(std::int64_t i, float* out) const = 0;
};

// Multi-pass methods: see the top of this file.
enum class Method { Power, Krylov };

// "power" or "krylov"; parse_method throws melon::Error naming the option for anything else.
const char* method_name(Method m);
Method parse_method(const std::string& s);

struct Options {
  int components = 10;  // k
  int oversample = 10;  // p
  int power_iters = 2;  // q (multi-pass only); with tol > 0, the most iterations
  // > 0: stop iterating once the top-k Ritz values move by at most tol
  // (relative) in an iteration: that iteration's transpose pass becomes the
  // last, and the result is bit for bit that of a run asked for as many
  // iterations. Power method only.
  double tol = 0;
  Method method = Method::Power;  // multi-pass only; single-pass ignores it
  std::uint64_t seed = 0;
  bool single_pass = false;
  std::int64_t block = 256;      // rows per streamed block
  int threads = 1;               // worker threads per rank (feature making and GEMM)
  std::int64_t cache_bytes = 0;  // per rank: keep feature rows in memory between passes when they fit
  // A folder (local scratch) where a rank whose rows are not kept in memory
  // writes them during the first pass it runs, in one file unlinked as soon
  // as it is made, and reads them back in later passes instead of making them
  // again from the spectrograms ("" = make them again every pass). The same
  // bits either way.
  std::string spill_dir;
  std::string state_dir;          // checkpoint after each pass ("" = none)
  double checkpoint_seconds = 0;  // ... once at least this much pass time has passed since the last one
  bool resume = false;            // continue from the checkpoint in state_dir, if any
  std::string fingerprint;        // settings a checkpoint must match to be resumed
  int stop_after_pass = -1;       // for tests: throw Stopped once this pass is checkpointed
  bool progress = true;           // rank 0 logs per-pass progress
  MPI_Comm comm = MPI_COMM_WORLD;
};

struct Skip {
  std::int64_t candidate = 0;  // index into the rank's RowSource
  std::string reason;
};

struct PassStat {
  std::string name;
  double seconds = 0;       // wall time, slowest rank
  double gemm_seconds = 0;  // block products, rank 0
  double flops = 0;         // block-product flops, all ranks
  double bytes = 0;         // bytes read, all ranks
  std::int64_t rows = 0;    // rows processed, all ranks
};

struct Result {
  int k = 0, sketch = 0;  // sketch: l actually used (k + p, capped by N and D)
  int basis = 0;          // columns of the final Rayleigh-Ritz basis: l, or up to (q + 1) l for Krylov
  int dim = 0;
  std::int64_t rows_total = 0;     // N: rows read, all ranks
  std::int64_t row_offset = 0;     // global index of this rank's first row
  std::vector<std::int64_t> rows;  // candidate index of each local row, in order
  std::vector<Skip> skipped;       // this rank's skipped candidates
  std::int64_t skipped_total = 0, nonfinite_total = 0;
  Eigen::MatrixXd scores;      // local rows x k
  Eigen::MatrixXd components;  // k x D, unit rows; sign: largest-|x| entry positive
  Eigen::VectorXd singular_values, explained_variance, explained_variance_ratio, mean;
  double total_variance = 0;     // ||Ac||_F^2 / (N - 1)
  std::vector<PassStat> passes;  // the passes this run executed
  int passes_total = 0;          // passes of the whole run (resumed ones included)
  int iterations = 0;            // power iterations the result used (power_iters, or fewer with tol)
  int resumed_after = -1;        // last pass taken from a checkpoint, -1 if none
  int qr_shifted_steps = 0;      // shifted Cholesky-QR steps taken (ill-conditioned sketches)
};

// Thrown after checkpointing pass `pass` when Options::stop_after_pass asks for it.
struct Stopped : std::exception {
  int pass;
  explicit Stopped(int p) : pass(p) {}
  const char* what() const noexcept override { return "stopped after a checkpoint as asked"; }
};

// Collective over opt.comm. Throws melon::Error on every rank for bad input
// (k too large for the data, no readable rows, ...).
Result run(const RowSource& src, const Options& opt);

int pass_count(const Options& opt);
std::string pass_name(const Options& opt, int pass);

// Omega's column j is a N(0,1) stream seeded by (seed, stream, j): fills a
// rows x cols column-major matrix with columns first_col, first_col + 1, ...
// The same on every rank and for every rank count.
void gaussian_matrix(std::uint64_t seed, std::uint64_t stream, int rows, int cols, float* out, int first_col = 0);
// Gives each row of `components` (k x D) the sign that makes its largest-|x|
// entry positive (first such entry on ties), flipping the matching score column.
void normalize_signs(Eigen::MatrixXd& components, Eigen::MatrixXd& scores);

// Gathers every rank's VmHWM to rank 0, which logs them; returns the largest (KiB), on every rank.
std::int64_t log_peak_memory(MPI_Comm comm, const std::string& what);
// A rough per-rank working-set estimate for `n_local` rows (excluding any feature cache).
std::int64_t planned_bytes(std::int64_t n_local, int dim, const Options& opt);

}  // namespace melon::pca

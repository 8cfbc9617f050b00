#include "melon/mpi/mpi.hpp"

#include <algorithm>
#include <limits>

#include "melon/error.hpp"
#include "melon/util/log.hpp"

namespace melon::mpi {
namespace {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  MELON_THROW("MPI call " << call << " failed: " << std::string(msg, len));
}

int to_count(std::size_t n, const char* call) {
  MELON_CHECK(n <= static_cast<std::size_t>(std::numeric_limits<int>::max()),
              "MPI call " << call << ": " << n << " elements exceed MPI's int count");
  return static_cast<int>(n);
}

bool g_owner = false;

}  // namespace

Env::Env(int* argc, char*** argv) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    int provided = 0;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    g_owner = true;
    // Errors come back as codes we turn into exceptions, not as a silent abort.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  log::set_rank(rank(MPI_COMM_WORLD), size(MPI_COMM_WORLD));
}

Env::~Env() {
  int fin = 0;
  MPI_Finalized(&fin);
  if (g_owner && !fin) MPI_Finalize();
}

bool initialized() {
  int inited = 0, fin = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&fin);
  return inited && !fin;
}

void abort_job(int code) {
  if (initialized()) {
    if (size(MPI_COMM_WORLD) > 1) MPI_Abort(MPI_COMM_WORLD, code);
    MPI_Finalize();  // alone, a clean exit keeps launchers from reporting a crash
  }
  std::exit(code);
}

Range block_range(std::int64_t n, int r, int p) {
  std::int64_t base = n / p, extra = n % p;
  std::int64_t b = r * base + std::min<std::int64_t>(r, extra);
  return {b, b + base + (r < extra ? 1 : 0)};
}

MPI_Comm world() { return MPI_COMM_WORLD; }

int rank(MPI_Comm comm) {
  if (!initialized()) return 0;
  int r = 0;
  check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}

int size(MPI_Comm comm) {
  if (!initialized()) return 1;
  int s = 1;
  check(MPI_Comm_size(comm, &s), "MPI_Comm_size");
  return s;
}

void barrier(MPI_Comm comm) {
  if (initialized()) check(MPI_Barrier(comm), "MPI_Barrier");
}

namespace {
bool alone(MPI_Comm comm) { return !initialized() || size(comm) == 1; }

template <class T>
void allreduce_on(MPI_Comm comm, T* data, std::size_t n, MPI_Datatype type, MPI_Op op, const char* what) {
  if (alone(comm) || n == 0) return;
  const std::size_t chunk = 1u << 28;
  for (std::size_t off = 0; off < n; off += chunk) {
    std::size_t m = std::min(chunk, n - off);
    check(MPI_Allreduce(MPI_IN_PLACE, data + off, to_count(m, what), type, op, comm), what);
  }
}
}  // namespace

void allreduce_sum(MPI_Comm comm, double* d, std::size_t n) {
  allreduce_on(comm, d, n, MPI_DOUBLE, MPI_SUM, "MPI_Allreduce(double)");
}
void allreduce_sum(MPI_Comm comm, std::int64_t* d, std::size_t n) {
  allreduce_on(comm, d, n, MPI_INT64_T, MPI_SUM, "MPI_Allreduce(int64)");
}
void allreduce_sum(MPI_Comm comm, float* d, std::size_t n) {
  allreduce_on(comm, d, n, MPI_FLOAT, MPI_SUM, "MPI_Allreduce(float)");
}
double allreduce_sum(MPI_Comm comm, double x) {
  allreduce_sum(comm, &x, 1);
  return x;
}
std::int64_t allreduce_max(MPI_Comm comm, std::int64_t x) {
  allreduce_on(comm, &x, 1, MPI_INT64_T, MPI_MAX, "MPI_Allreduce(max)");
  return x;
}
std::int64_t allreduce_sum(MPI_Comm comm, std::int64_t x) {
  allreduce_sum(comm, &x, 1);
  return x;
}
double allreduce_max(MPI_Comm comm, double x) {
  allreduce_on(comm, &x, 1, MPI_DOUBLE, MPI_MAX, "MPI_Allreduce(max double)");
  return x;
}

void allreduce_sum_same(MPI_Comm comm, double* d, std::size_t n) {
  if (alone(comm) || n == 0) return;
  const std::size_t chunk = 1u << 28;
  const bool root = rank(comm) == 0;
  for (std::size_t off = 0; off < n; off += chunk) {
    int m = to_count(std::min(chunk, n - off), "MPI_Reduce");
    check(MPI_Reduce(root ? MPI_IN_PLACE : d + off, root ? d + off : nullptr, m, MPI_DOUBLE, MPI_SUM, 0, comm),
          "MPI_Reduce(double)");
    check(MPI_Bcast(d + off, m, MPI_DOUBLE, 0, comm), "MPI_Bcast(double)");
  }
}

bool any(MPI_Comm comm, bool flag) {
  std::int64_t v = flag ? 1 : 0;
  allreduce_on(comm, &v, 1, MPI_INT64_T, MPI_MAX, "MPI_Allreduce(any)");
  return v != 0;
}

std::int64_t exscan_sum(MPI_Comm comm, std::int64_t x) {
  if (alone(comm)) return 0;
  std::int64_t out = 0;
  check(MPI_Exscan(&x, &out, 1, MPI_INT64_T, MPI_SUM, comm), "MPI_Exscan");
  return rank(comm) == 0 ? 0 : out;  // rank 0's receive buffer is undefined
}

std::vector<std::int64_t> allgather(MPI_Comm comm, std::int64_t x) {
  if (alone(comm)) return {x};
  std::vector<std::int64_t> all(static_cast<std::size_t>(size(comm)));
  check(MPI_Allgather(&x, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, comm), "MPI_Allgather(int64)");
  return all;
}

namespace {
// The root's size first, then the elements in pieces of at most 1 GiB (MPI counts are ints).
template <class C>
void bcast_sized(MPI_Comm comm, C& c, int root, MPI_Datatype type, const char* what) {
  if (alone(comm)) return;
  std::int64_t n = static_cast<std::int64_t>(c.size());
  check(MPI_Bcast(&n, 1, MPI_INT64_T, root, comm), "MPI_Bcast(size)");
  c.resize(static_cast<std::size_t>(n));
  const std::size_t chunk = (std::size_t(1) << 30) / sizeof(c[0]);
  for (std::size_t off = 0; off < c.size(); off += chunk) {
    int m = to_count(std::min(chunk, c.size() - off), what);
    check(MPI_Bcast(c.data() + off, m, type, root, comm), what);
  }
}
}  // namespace

void bcast(MPI_Comm comm, std::string& bytes, int root) { bcast_sized(comm, bytes, root, MPI_CHAR, "MPI_Bcast"); }
void bcast(MPI_Comm comm, std::vector<double>& v, int root) {
  bcast_sized(comm, v, root, MPI_DOUBLE, "MPI_Bcast(double)");
}

std::string gather_bytes(MPI_Comm comm, const std::string& mine, int root) {
  if (alone(comm)) return mine;
  int p = size(comm), r = rank(comm);
  int n = to_count(mine.size(), "MPI_Gatherv");
  std::vector<int> counts(p), displs(p);
  check(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm), "MPI_Gather(sizes)");
  std::string all;
  if (r == root) {
    std::size_t total = 0;
    for (int i = 0; i < p; ++i) {
      displs[i] = static_cast<int>(total);
      total += counts[i];
    }
    to_count(total, "MPI_Gatherv");
    all.resize(total);
  }
  check(MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, root, comm),
        "MPI_Gatherv");
  return all;
}

std::vector<std::string> allgather_bytes(MPI_Comm comm, const std::string& mine) {
  if (alone(comm)) return {mine};
  int p = size(comm);
  int n = to_count(mine.size(), "MPI_Allgatherv");
  std::vector<int> counts(p), displs(p);
  check(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm), "MPI_Allgather(sizes)");
  std::size_t total = 0;
  for (int i = 0; i < p; ++i) {
    displs[i] = static_cast<int>(total);
    total += counts[i];
  }
  to_count(total, "MPI_Allgatherv");
  std::string all(total, '\0');
  check(MPI_Allgatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, comm),
        "MPI_Allgatherv");
  std::vector<std::string> out(p);
  for (int i = 0; i < p; ++i) out[i] = all.substr(displs[i], counts[i]);
  return out;
}

namespace {
// MPI's int counts and displacements for rank-major blocks, one per rank of comm.
void block_counts(MPI_Comm comm, const std::vector<std::int64_t>& counts, std::vector<int>& n, std::vector<int>& at,
                  const char* call) {
  MELON_ASSERT(counts.size() == static_cast<std::size_t>(size(comm)), call << ": one block count per rank");
  std::size_t total = 0;
  for (auto c : counts) {
    n.push_back(to_count(static_cast<std::size_t>(c), call));
    at.push_back(to_count(total, call));
    total += static_cast<std::size_t>(c);
  }
}
}  // namespace

void reduce_scatter_sum(MPI_Comm comm, const double* in, double* out, const std::vector<std::int64_t>& counts) {
  if (alone(comm)) {
    std::copy(in, in + counts.at(0), out);
    return;
  }
  std::vector<int> n, at;
  block_counts(comm, counts, n, at, "MPI_Reduce(block)");
  // One MPI_Reduce per owner rather than MPI_Reduce_scatter: with Open MPI
  // 4.1 over shared memory, 30 MB at 2 ranks took 9-10 ms this way and 13-50
  // ms through MPI_Reduce_scatter (a small MPI program, 3 runs of each).
  const int me = rank(comm);
  for (std::size_t r = 0; r < n.size(); ++r)
    check(MPI_Reduce(in + at[r], static_cast<int>(r) == me ? out : nullptr, n[r], MPI_DOUBLE, MPI_SUM,
                     static_cast<int>(r), comm),
          "MPI_Reduce(block)");
}

void allgather_blocks(MPI_Comm comm, const double* mine, double* all, const std::vector<std::int64_t>& counts) {
  if (alone(comm)) {
    std::copy(mine, mine + counts.at(0), all);
    return;
  }
  std::vector<int> n, at;
  block_counts(comm, counts, n, at, "MPI_Allgatherv");
  const int me = rank(comm);
  check(MPI_Allgatherv(mine, n[static_cast<std::size_t>(me)], MPI_DOUBLE, all, n.data(), at.data(), MPI_DOUBLE, comm),
        "MPI_Allgatherv");
}

void throw_if_any(MPI_Comm comm, const std::string& error) {
  if (!any(comm, !error.empty())) return;
  auto all = allgather_bytes(comm, error);
  std::string msg;
  int failed = 0;
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r].empty()) continue;
    if (failed++ < 3)
      msg += (msg.empty() ? "" : "; ") + (all.size() > 1 ? "rank " + std::to_string(r) + ": " : "") + all[r];
  }
  if (failed > 3) msg += "; and " + std::to_string(failed - 3) + " more ranks failed";
  throw Error(msg);
}

SplitComm::SplitComm(MPI_Comm parent, int color, int key) {
  if (!initialized()) {
    comm_ = color < 0 ? MPI_COMM_NULL : parent;
    return;
  }
  check(MPI_Comm_split(parent, color < 0 ? MPI_UNDEFINED : color, key, &comm_), "MPI_Comm_split");
}

SplitComm::~SplitComm() {
  if (comm_ != MPI_COMM_NULL && initialized() && comm_ != MPI_COMM_WORLD) MPI_Comm_free(&comm_);
}

// ---- Training additions (autoencoder trainer) ----

PendingAllreduce::PendingAllreduce(MPI_Comm comm, float* data, std::size_t n, std::size_t bucket) {
  if (alone(comm) || n == 0) return;
  bucket = std::max<std::size_t>(1, std::min<std::size_t>(bucket, 1u << 28));
  for (std::size_t off = 0; off < n; off += bucket) {
    reqs_.emplace_back();
    check(MPI_Iallreduce(MPI_IN_PLACE, data + off, to_count(std::min(bucket, n - off), "MPI_Iallreduce"), MPI_FLOAT,
                         MPI_SUM, comm, &reqs_.back()),
          "MPI_Iallreduce(float)");
  }
}

PendingAllreduce::~PendingAllreduce() {
  // Never abandon a request whose buffer is about to go away; errors are
  // already being reported by whoever unwinds through here.
  if (!reqs_.empty()) MPI_Waitall(static_cast<int>(reqs_.size()), reqs_.data(), MPI_STATUSES_IGNORE);
}

bool PendingAllreduce::poll() {
  if (reqs_.empty()) return true;
  int flag = 0;
  check(MPI_Testall(static_cast<int>(reqs_.size()), reqs_.data(), &flag, MPI_STATUSES_IGNORE), "MPI_Testall");
  if (flag) reqs_.clear();
  return flag != 0;
}

void PendingAllreduce::wait() {
  if (reqs_.empty()) return;
  check(MPI_Waitall(static_cast<int>(reqs_.size()), reqs_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  reqs_.clear();
}

void allreduce_sum_buckets(MPI_Comm comm, float* data, std::size_t n, std::size_t bucket) {
  PendingAllreduce(comm, data, n, bucket).wait();
}

int node_size(MPI_Comm comm) {
  if (alone(comm)) return 1;
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int n = 1;
  MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  return n;
}

// ---- end training additions ----

}  // namespace melon::mpi

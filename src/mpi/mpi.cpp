#include "melon/mpi/mpi.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>

#include "melon/error.hpp"
#include "melon/util/log.hpp"
#include "melon/util/thread_pool.hpp"
#include "watchdog.hpp"

namespace melon::mpi {

void detail::check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  MELON_THROW("MPI call " << call << " failed: " << std::string(msg, len));
}

namespace {
using detail::check;
using detail::next_seq;
using detail::wait_all;
using detail::wait_one;

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
  detail::start_watchdog();
}

Env::~Env() {
  int fin = 0;
  MPI_Finalized(&fin);
  if (g_owner && !fin) {
    detail::stop_watchdog();
    MPI_Finalize();
  }
}

bool initialized() {
  int inited = 0, fin = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&fin);
  return inited && !fin;
}

bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

bool is_whole_job(MPI_Comm comm) {
  if (!initialized()) return true;
  int result = MPI_UNEQUAL;
  MPI_Comm_compare(comm, MPI_COMM_WORLD, &result);
  return result == MPI_IDENT || result == MPI_CONGRUENT;
}

void abort_job(int code, bool all_ranks_failing) {
  if (initialized()) {
    if (size(MPI_COMM_WORLD) > 1) {
      if (all_ranks_failing) {
        // Bounded: a rank that is not failing after all must not hold the job up.
        MPI_Request req = MPI_REQUEST_NULL;
        if (MPI_Ibarrier(MPI_COMM_WORLD, &req) == MPI_SUCCESS) {
          int done = 0;
          for (int i = 0; i < 5000 && !done; ++i) {
            if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
            if (!done) ::usleep(1000);
          }
        }
      }
      MPI_Abort(MPI_COMM_WORLD, code);
    }
    MPI_Finalize();  // alone, a clean exit keeps launchers from reporting a crash
  }
  std::exit(code);
}

Range block_range(std::int64_t n, int r, int p) {
  std::int64_t base = n / p, extra = n % p;
  std::int64_t b = r * base + std::min<std::int64_t>(r, extra);
  return {b, b + base + (r < extra ? 1 : 0)};
}

Range weighted_range(const std::vector<double>& cost, int r, int p) {
  const auto n = static_cast<std::int64_t>(cost.size());
  std::vector<double> prefix(cost.size() + 1, 0.0);
  for (std::size_t i = 0; i < cost.size(); ++i) prefix[i + 1] = prefix[i] + std::max(0.0, cost[i]);
  const double total = prefix.back();
  if (!(total > 0)) return block_range(n, r, p);
  // Block k starts at the first item whose prefix reaches k/p of the total.
  auto start = [&](int k) -> std::int64_t {
    if (k <= 0) return 0;
    if (k >= p) return n;
    const double want = total * static_cast<double>(k) / static_cast<double>(p);
    return static_cast<std::int64_t>(std::lower_bound(prefix.begin(), prefix.end(), want) - prefix.begin());
  };
  return {std::min(start(r), n), std::min(start(r + 1), n)};
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
  if (!initialized()) return;
  const auto seq = next_seq();
  MPI_Request req;
  check(MPI_Ibarrier(comm, &req), "MPI_Ibarrier");
  wait_one(comm, req, seq, "MPI_Barrier");
}

namespace {
bool alone(MPI_Comm comm) { return !initialized() || size(comm) == 1; }

// Floating-point sums go through the blocking calls, whose order of summation
// results are pinned to: Open MPI 4.1's nonblocking reductions sum in another
// order at 3 or more ranks (other bits). The watchdog watches a nonblocking
// barrier just before, so a rank that never arrives is still caught; once
// every rank is there the reduction itself cannot wait on a missing one,
// except one stopped part-way through it: detail::BlockingWatch times that.
void arrive(MPI_Comm comm, const char* what) {
  const auto seq = next_seq();
  MPI_Request req;
  check(MPI_Ibarrier(comm, &req), "MPI_Ibarrier");
  wait_one(comm, req, seq, what);
}

// exact: integers or a max, whose result does not depend on the order of
// reduction, so the nonblocking form (watched throughout) gives the same bits.
template <class T>
void allreduce_on(MPI_Comm comm, T* data, std::size_t n, MPI_Datatype type, MPI_Op op, const char* what, bool exact) {
  if (alone(comm) || n == 0) return;
  const std::size_t chunk = 1u << 28;
  for (std::size_t off = 0; off < n; off += chunk) {
    std::size_t m = std::min(chunk, n - off);
    if (!exact) {
      arrive(comm, what);
      detail::BlockingWatch watch(what);
      check(MPI_Allreduce(MPI_IN_PLACE, data + off, to_count(m, what), type, op, comm), what);
      continue;
    }
    const auto seq = next_seq();
    MPI_Request req;
    check(MPI_Iallreduce(MPI_IN_PLACE, data + off, to_count(m, what), type, op, comm, &req), what);
    wait_one(comm, req, seq, what);
  }
}
}  // namespace

void allreduce_sum(MPI_Comm comm, double* d, std::size_t n) {
  allreduce_on(comm, d, n, MPI_DOUBLE, MPI_SUM, "MPI_Allreduce(double)", false);
}
void allreduce_sum(MPI_Comm comm, std::int64_t* d, std::size_t n) {
  allreduce_on(comm, d, n, MPI_INT64_T, MPI_SUM, "MPI_Allreduce(int64)", true);
}
void allreduce_sum(MPI_Comm comm, float* d, std::size_t n) {
  allreduce_on(comm, d, n, MPI_FLOAT, MPI_SUM, "MPI_Allreduce(float)", false);
}
double allreduce_sum(MPI_Comm comm, double x) {
  allreduce_sum(comm, &x, 1);
  return x;
}
std::int64_t allreduce_max(MPI_Comm comm, std::int64_t x) {
  allreduce_on(comm, &x, 1, MPI_INT64_T, MPI_MAX, "MPI_Allreduce(max)", true);
  return x;
}
std::int64_t allreduce_sum(MPI_Comm comm, std::int64_t x) {
  allreduce_sum(comm, &x, 1);
  return x;
}
double allreduce_max(MPI_Comm comm, double x) {
  allreduce_on(comm, &x, 1, MPI_DOUBLE, MPI_MAX, "MPI_Allreduce(max double)", false);
  return x;
}
void allreduce_max(MPI_Comm comm, float* d, std::size_t n) {
  allreduce_on(comm, d, n, MPI_FLOAT, MPI_MAX, "MPI_Allreduce(max float)", true);
}
void allreduce_max(MPI_Comm comm, double* d, std::size_t n) {
  allreduce_on(comm, d, n, MPI_DOUBLE, MPI_MAX, "MPI_Allreduce(max double)", true);
}

void allreduce_sum_same(MPI_Comm comm, double* d, std::size_t n) {
  if (alone(comm) || n == 0) return;
  const std::size_t chunk = 1u << 28;
  const bool root = rank(comm) == 0;
  for (std::size_t off = 0; off < n; off += chunk) {
    int m = to_count(std::min(chunk, n - off), "MPI_Reduce");
    arrive(comm, "MPI_Reduce(double)");
    std::optional<detail::BlockingWatch> watch(std::in_place, "MPI_Reduce(double)");
    check(MPI_Reduce(root ? MPI_IN_PLACE : d + off, root ? d + off : nullptr, m, MPI_DOUBLE, MPI_SUM, 0, comm),
          "MPI_Reduce(double)");
    watch.reset();
    const auto seq = next_seq();
    MPI_Request req;
    check(MPI_Ibcast(d + off, m, MPI_DOUBLE, 0, comm, &req), "MPI_Bcast(double)");
    wait_one(comm, req, seq, "MPI_Bcast(double)");
  }
}

bool any(MPI_Comm comm, bool flag) {
  std::int64_t v = flag ? 1 : 0;
  allreduce_on(comm, &v, 1, MPI_INT64_T, MPI_MAX, "MPI_Allreduce(any)", true);
  return v != 0;
}

std::int64_t exscan_sum(MPI_Comm comm, std::int64_t x) {
  if (alone(comm)) return 0;
  std::int64_t out = 0;
  const auto seq = next_seq();
  MPI_Request req;
  check(MPI_Iexscan(&x, &out, 1, MPI_INT64_T, MPI_SUM, comm, &req), "MPI_Exscan");
  wait_one(comm, req, seq, "MPI_Exscan");
  return rank(comm) == 0 ? 0 : out;  // rank 0's receive buffer is undefined
}

std::vector<std::int64_t> allgather(MPI_Comm comm, std::int64_t x) {
  if (alone(comm)) return {x};
  std::vector<std::int64_t> all(static_cast<std::size_t>(size(comm)));
  const auto seq = next_seq();
  MPI_Request req;
  check(MPI_Iallgather(&x, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, comm, &req), "MPI_Allgather(int64)");
  wait_one(comm, req, seq, "MPI_Allgather(int64)");
  return all;
}

namespace {
// The root's size first, then the elements in pieces of at most 1 GiB (MPI counts are ints).
template <class C>
void bcast_sized(MPI_Comm comm, C& c, int root, MPI_Datatype type, const char* what) {
  if (alone(comm)) return;
  std::int64_t n = static_cast<std::int64_t>(c.size());
  auto seq = next_seq();
  MPI_Request req;
  check(MPI_Ibcast(&n, 1, MPI_INT64_T, root, comm, &req), "MPI_Bcast(size)");
  wait_one(comm, req, seq, "MPI_Bcast(size)");
  c.resize(static_cast<std::size_t>(n));
  const std::size_t chunk = (std::size_t(1) << 30) / sizeof(c[0]);
  for (std::size_t off = 0; off < c.size(); off += chunk) {
    int m = to_count(std::min(chunk, c.size() - off), what);
    seq = next_seq();
    check(MPI_Ibcast(c.data() + off, m, type, root, comm, &req), what);
    wait_one(comm, req, seq, what);
  }
}
}  // namespace

void bcast(MPI_Comm comm, std::string& bytes, int root) { bcast_sized(comm, bytes, root, MPI_CHAR, "MPI_Bcast"); }
void bcast(MPI_Comm comm, std::vector<double>& v, int root) {
  bcast_sized(comm, v, root, MPI_DOUBLE, "MPI_Bcast(double)");
}
void bcast(MPI_Comm comm, std::vector<float>& v, int root) {
  bcast_sized(comm, v, root, MPI_FLOAT, "MPI_Bcast(float)");
}

std::string gather_bytes(MPI_Comm comm, const std::string& mine, int root) {
  if (alone(comm)) return mine;
  int p = size(comm), r = rank(comm);
  int n = to_count(mine.size(), "MPI_Gatherv");
  std::vector<int> counts(p), displs(p);
  auto seq = next_seq();
  MPI_Request req;
  check(MPI_Igather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm, &req), "MPI_Gather(sizes)");
  wait_one(comm, req, seq, "MPI_Gather(sizes)");
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
  seq = next_seq();
  check(MPI_Igatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, root, comm, &req),
        "MPI_Gatherv");
  wait_one(comm, req, seq, "MPI_Gatherv");
  return all;
}

std::vector<std::string> allgather_bytes(MPI_Comm comm, const std::string& mine) {
  if (alone(comm)) return {mine};
  int p = size(comm);
  int n = to_count(mine.size(), "MPI_Allgatherv");
  std::vector<int> counts(p), displs(p);
  auto seq = next_seq();
  MPI_Request req;
  check(MPI_Iallgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm, &req), "MPI_Allgather(sizes)");
  wait_one(comm, req, seq, "MPI_Allgather(sizes)");
  std::size_t total = 0;
  for (int i = 0; i < p; ++i) {
    displs[i] = static_cast<int>(total);
    total += counts[i];
  }
  to_count(total, "MPI_Allgatherv");
  std::string all(total, '\0');
  seq = next_seq();
  check(MPI_Iallgatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, comm, &req),
        "MPI_Allgatherv");
  wait_one(comm, req, seq, "MPI_Allgatherv");
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
  for (std::size_t r = 0; r < n.size(); ++r) {
    arrive(comm, "MPI_Reduce(block)");
    detail::BlockingWatch watch("MPI_Reduce(block)");
    check(MPI_Reduce(in + at[r], static_cast<int>(r) == me ? out : nullptr, n[r], MPI_DOUBLE, MPI_SUM,
                     static_cast<int>(r), comm),
          "MPI_Reduce(block)");
  }
}

void allgather_blocks_inplace(MPI_Comm comm, float* all, const std::vector<std::int64_t>& counts) {
  if (alone(comm)) return;
  std::vector<int> n, at;
  block_counts(comm, counts, n, at, "MPI_Allgatherv(float)");
  const auto seq = next_seq();
  MPI_Request req;
  check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, n.data(), at.data(), MPI_FLOAT, comm, &req),
        "MPI_Allgatherv(float)");
  wait_one(comm, req, seq, "MPI_Allgatherv(float)");
}

void allgather_blocks(MPI_Comm comm, const double* mine, double* all, const std::vector<std::int64_t>& counts) {
  if (alone(comm)) {
    std::copy(mine, mine + counts.at(0), all);
    return;
  }
  std::vector<int> n, at;
  block_counts(comm, counts, n, at, "MPI_Allgatherv");
  const int me = rank(comm);
  const auto seq = next_seq();
  MPI_Request req;
  check(MPI_Iallgatherv(mine, n[static_cast<std::size_t>(me)], MPI_DOUBLE, all, n.data(), at.data(), MPI_DOUBLE, comm,
                        &req),
        "MPI_Allgatherv");
  wait_one(comm, req, seq, "MPI_Allgatherv");
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
  throw SharedError(msg, is_whole_job(comm));
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

PendingAllreduce::PendingAllreduce(MPI_Comm comm, float* data, std::size_t n, std::size_t bucket) : comm_(comm) {
  if (alone(comm) || n == 0) return;
  seq_ = next_seq();
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
  if (reqs_.empty()) return;
  try {
    wait_all(comm_, reqs_.data(), static_cast<int>(reqs_.size()), seq_, "MPI_Iallreduce(float)");
  } catch (const Error&) {
  }
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
  wait_all(comm_, reqs_.data(), static_cast<int>(reqs_.size()), seq_, "MPI_Iallreduce(float)");
  reqs_.clear();
}

void allreduce_sum_buckets(MPI_Comm comm, float* data, std::size_t n, std::size_t bucket) {
  PendingAllreduce(comm, data, n, bucket).wait();
}

namespace {

// comm's ranks on this node (MPI_COMM_TYPE_SHARED), freed on scope exit.
struct NodeComm {
  MPI_Comm comm = MPI_COMM_NULL;
  explicit NodeComm(MPI_Comm parent) {
    check(MPI_Comm_split_type(parent, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &comm), "MPI_Comm_split_type");
  }
  ~NodeComm() {
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }
  NodeComm(const NodeComm&) = delete;
  NodeComm& operator=(const NodeComm&) = delete;
};

}  // namespace

int node_size(MPI_Comm comm) {
  if (alone(comm)) return 1;
  return size(NodeComm(comm).comm);
}

int cpu_sharers(MPI_Comm comm) {
  if (alone(comm)) return 1;
  const auto mine = util::allowed_cpus();
  const NodeComm node(comm);
  const auto all = allgather_bytes(node.comm, std::string(reinterpret_cast<const char*>(mine.data()), mine.size() * 8));
  int n = 0;
  for (const auto& bytes : all) {
    std::vector<std::uint64_t> other(bytes.size() / 8);
    std::memcpy(other.data(), bytes.data(), other.size() * 8);
    n += util::cpus_overlap(mine, other);
  }
  return std::max(n, 1);
}

int threads_per_rank(int requested, MPI_Comm comm) {
  const int cpus = util::count_cpus(util::allowed_cpus());
  const int sharers = cpu_sharers(comm);
  const int threads = util::resolve_threads(requested, cpus, sharers);
  if (requested <= 0 && rank(comm) == 0)
    log::info("threads: " + std::to_string(threads) + " a rank (rank 0 may run on " + std::to_string(cpus) +
              (cpus == 1 ? " CPU" : " CPUs") + ", shared by " + std::to_string(sharers) + " rank" +
              (sharers == 1 ? "" : "s") + " of its node; --threads N sets the count)");
  return threads;
}

// ---- end training additions ----

}  // namespace melon::mpi

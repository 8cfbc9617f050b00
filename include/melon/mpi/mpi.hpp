#pragma once
// Thin RAII wrapper over the MPI C API. Every call checks its return code and
// throws melon::Error naming the call; callers never touch MPI_* directly.
// A failing rank reports and calls abort_job(), which brings every rank down
// promptly (MPI_Abort) instead of leaving the others blocked in a collective.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "melon/error.hpp"

namespace melon::mpi {

// Initialises MPI for the process lifetime (MPI_THREAD_FUNNELED) and finalises
// on destruction. Works without mpirun (singleton: one rank).
class Env {
 public:
  Env(int* argc, char*** argv);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
};

bool initialized();
// Whether a launcher started this process as a rank of a job: Open MPI's
// mpirun, srun with PMI-2 or PMIx, MPICH's Hydra (their environment
// variables). A process started by hand, or a Slurm batch script's own
// shell, is not launched: MPI_Init would make it a singleton.
bool launched();
// MPI_Abort on MPI_COMM_WORLD: every rank of the job goes down. When every
// rank is failing with the same error (a SharedError of the whole job), the
// ranks first wait for each other, for a few seconds at most, so that each
// has printed its message before the first abort kills the rest.
[[noreturn]] void abort_job(int code, bool all_ranks_failing = false);

// What throw_if_any and on_root throw: the same error on every rank of their
// communicator; whole_job when that communicator holds every rank of the job.
struct SharedError : Error {
  SharedError(const std::string& what, bool whole_job) : Error(what), whole_job(whole_job) {}
  bool whole_job;
};
bool is_whole_job(MPI_Comm comm);

// Stall watchdog. Every collective below waits through its nonblocking form,
// polled with a back-off sleep (no busy spin through a long wait). A rank that
// waits longer than the stall timeout in one collective asks the other ranks
// of its communicator which collective they wait in, and after a short grace
// ends the job (MPI_Abort, exit status 2) with one message naming the stage,
// the collective, its sequence number, the time waited and the ranks that did
// not answer (stopped, hung in I/O, or still computing). 0 turns it off.
void set_stall_timeout(double seconds);
double stall_timeout();
// The stage named in that message: the command (set once in main), refined
// by scoped activities ("pass 3") joined with " > ".
void set_stage(const std::string& label);
std::string stage();
class Activity {
 public:
  explicit Activity(std::string label);
  ~Activity();
  Activity(const Activity&) = delete;
  Activity& operator=(const Activity&) = delete;
};

// Contiguous block [begin, end) of n items owned by `r` of `p` ranks.
struct Range {
  std::int64_t begin, end;
};
Range block_range(std::int64_t n, int r, int p);
// The r-th of p contiguous blocks of items 0..cost.size()-1 whose summed
// costs (each >= 0) are about equal: rank r's share of items whose work
// differs (questions that walk long or short posting lists). A pure function
// of its arguments, so ranks that hold the same costs agree on the blocks.
Range weighted_range(const std::vector<double>& cost, int r, int p);

// Every collective takes its communicator: stages run on any communicator, so
// a test can split one job into smaller "worlds" and compare rank counts in a
// single launch. Without MPI (a plain process) each acts as one rank.
// Sums keep one order of reduction for a given rank count, so results repeat
// bit for bit.
MPI_Comm world();  // MPI_COMM_WORLD
int rank(MPI_Comm comm);
int size(MPI_Comm comm);
void barrier(MPI_Comm comm);
void allreduce_sum(MPI_Comm comm, double* data, std::size_t n);
void allreduce_sum(MPI_Comm comm, std::int64_t* data, std::size_t n);
void allreduce_sum(MPI_Comm comm, float* data, std::size_t n);
template <class T>
void allreduce_sum(MPI_Comm comm, std::vector<T>& v) {
  allreduce_sum(comm, v.data(), v.size());
}
double allreduce_sum(MPI_Comm comm, double x);
std::int64_t allreduce_max(MPI_Comm comm, std::int64_t x);
std::int64_t allreduce_sum(MPI_Comm comm, std::int64_t x);
double allreduce_max(MPI_Comm comm, double x);
// Elementwise maxima: exact, so every rank gets the same bits in any order.
void allreduce_max(MPI_Comm comm, float* data, std::size_t n);
void allreduce_max(MPI_Comm comm, double* data, std::size_t n);
// A sum every rank receives bit for bit identically (reduce to rank 0, then
// broadcast). MPI_Allreduce does not promise that, and ranks that branch on a
// reduced value (which QR variant to run) must all take the same branch.
void allreduce_sum_same(MPI_Comm comm, double* data, std::size_t n);
// Logical OR of a flag across ranks: every rank learns that one rank failed
// (so all can raise the same error) without a hang.
bool any(MPI_Comm comm, bool flag);
// Sum of x over the ranks below this one (0 on rank 0).
std::int64_t exscan_sum(MPI_Comm comm, std::int64_t x);
std::vector<std::int64_t> allgather(MPI_Comm comm, std::int64_t x);
void bcast(MPI_Comm comm, std::string& bytes, int root = 0);
void bcast(MPI_Comm comm, std::vector<double>& v, int root = 0);
void bcast(MPI_Comm comm, std::vector<float>& v, int root = 0);
std::string gather_bytes(MPI_Comm comm, const std::string& mine, int root = 0);
std::vector<std::string> allgather_bytes(MPI_Comm comm, const std::string& mine);
// Rank-major blocks of doubles: block r of `in` (counts[r] values, blocks back
// to back) summed over the ranks lands in rank r's `out` (a reduce-scatter);
// the inverse, every rank's block gathered in rank order into `all`
// (MPI_Allgatherv). Each block is summed once, on its owner, so gathered
// blocks are the same bits everywhere.
void reduce_scatter_sum(MPI_Comm comm, const double* in, double* out, const std::vector<std::int64_t>& counts);
void allgather_blocks(MPI_Comm comm, const double* mine, double* all, const std::vector<std::int64_t>& counts);
// The same in place for floats: rank r's block already sits at its offset in `all`.
void allgather_blocks_inplace(MPI_Comm comm, float* all, const std::vector<std::int64_t>& counts);
// Collective error check: if any rank passes a non-empty message, every rank
// throws melon::Error carrying the failed ranks' messages, so no rank is left
// waiting in the next collective.
void throw_if_any(MPI_Comm comm, const std::string& error);

// Runs f() on every rank of comm and then checks collectively: a melon::Error
// on any rank (prefixed with `context` when given) becomes the same
// melon::Error on every rank, so none is left waiting in the next collective.
// Replaces the "try { ... } catch (Error) { err = ...; } throw_if_any" block.
template <class F>
void collective(MPI_Comm comm, F&& f, const std::string& context = "") {
  std::string error;
  try {
    f();
  } catch (const Error& e) {
    error = context.empty() ? e.what() : context + ": " + e.what();
  }
  throw_if_any(comm, error);
}
// Runs f() on rank `root` only (writing a file, reading a small input) and
// broadcasts the outcome: success on every rank, or the root's melon::Error
// thrown on every rank.
template <class F>
void on_root(MPI_Comm comm, F&& f, int root = 0) {
  std::string error;
  if (rank(comm) == root) {
    try {
      f();
    } catch (const Error& e) {
      error = e.what();
      if (error.empty()) error = "failed on rank " + std::to_string(root);
    }
  }
  bcast(comm, error, root);
  if (!error.empty()) throw SharedError(error, is_whole_job(comm));
}

// A communicator from MPI_Comm_split, freed on destruction; get() is
// MPI_COMM_NULL on ranks left out (color < 0).
class SplitComm {
 public:
  SplitComm(MPI_Comm parent, int color, int key);
  ~SplitComm();
  SplitComm(const SplitComm&) = delete;
  SplitComm& operator=(const SplitComm&) = delete;
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// Sums a float buffer across comm in buckets of `bucket` elements, all started
// at once (MPI_Iallreduce) so the library can pipeline them, then waited for.
// Deterministic for a given rank count, like allreduce_sum.
void allreduce_sum_buckets(MPI_Comm comm, float* data, std::size_t n, std::size_t bucket = std::size_t(1) << 22);
// The same sum, started and left running: poll() (MPI_Testall) lets the
// library move data between pieces of the caller's own work, wait() finishes
// it. The destructor waits too, so no request outlives its buffer.
class PendingAllreduce {
 public:
  PendingAllreduce(MPI_Comm comm, float* data, std::size_t n, std::size_t bucket = std::size_t(1) << 22);
  ~PendingAllreduce();
  PendingAllreduce(const PendingAllreduce&) = delete;
  PendingAllreduce& operator=(const PendingAllreduce&) = delete;
  bool poll();  // true once every bucket is summed
  void wait();

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::uint64_t seq_ = 0;
  std::vector<MPI_Request> reqs_;
};
// How many ranks of comm share this node (for sizing per-rank memory).
int node_size(MPI_Comm comm);
// How many ranks of comm on this node may run on some CPU this rank may run
// on (util::allowed_cpus), itself included: the ranks its threads compete
// with. Collective.
int cpu_sharers(MPI_Comm comm);
// The threads of a rank's pool: util::resolve_threads over the CPUs this
// rank may run on and cpu_sharers. Collective; rank 0 logs a chosen count.
int threads_per_rank(int requested, MPI_Comm comm);

}  // namespace melon::mpi

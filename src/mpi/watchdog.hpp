#pragma once
// The mpi module's waiting loop and stall watchdog (private to src/mpi).
#include <mpi.h>

#include <cstdint>

namespace melon::mpi::detail {

// Throws melon::Error naming the call unless rc is MPI_SUCCESS.
void check(int rc, const char* call);

// After MPI_Init: the watchdog's own communicator (notes never match a
// collective's traffic) and every rank's pid and host for the stall message.
void start_watchdog();
void stop_watchdog();  // before MPI_Finalize
// Numbers the collectives this process starts, in order; the message names one.
std::uint64_t next_seq();
// Waits for reqs (the pieces of collective #seq on comm, named `what`) by
// polling MPI_Testall with a back-off sleep; past the stall timeout it ends the
// job (see set_stall_timeout). Throws melon::Error if MPI reports an error.
void wait_all(MPI_Comm comm, MPI_Request* reqs, int n, std::uint64_t seq, const char* what);
inline void wait_one(MPI_Comm comm, MPI_Request& req, std::uint64_t seq, const char* what) {
  wait_all(comm, &req, 1, seq, what);
}

// A blocking collective entered after every rank arrived (see arrive() in
// mpi.cpp) cannot be polled; a rank stopped part-way through it would leave
// the others inside it for good. For the guard's lifetime a thread of the
// watchdog times the call and, past the stall timeout, reports (naming the
// ranks on this host that are stopped) and ends the job.
class BlockingWatch {
 public:
  explicit BlockingWatch(const char* what);
  ~BlockingWatch();
  BlockingWatch(const BlockingWatch&) = delete;
  BlockingWatch& operator=(const BlockingWatch&) = delete;
};

}  // namespace melon::mpi::detail

// For tests/e2e/mpi_stall_blocking.sh: rank 1 stops itself (SIGSTOP) while
// rank 0 sits in a blocking collective under the watchdog's BlockingWatch,
// the case the polled waits cannot see (a rank stopped part-way through a
// reduction every rank had entered). Rank 0 must end the job naming rank 1.
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "melon/mpi/mpi.hpp"
#include "watchdog.hpp"

int main(int argc, char** argv) {
  melon::mpi::Env env(&argc, &argv);
  melon::mpi::set_stage("stall-probe");
  melon::mpi::set_stall_timeout(2);
  if (melon::mpi::size(melon::mpi::world()) != 2) {
    std::fprintf(stderr, "stall_probe: run it on 2 ranks\n");
    return 1;
  }
  if (melon::mpi::rank(melon::mpi::world()) == 1) ::kill(::getpid(), SIGSTOP);
  melon::mpi::detail::BlockingWatch watch("MPI_Barrier(probe)");
  MPI_Barrier(MPI_COMM_WORLD);
  return 0;  // only if the watchdog failed to end the job
}

// GoogleTest under MPI: every rank runs every test; only rank 0 prints the
// report. A rank that fails an assertion inside a collective would leave the
// others waiting, so tests compare results with allreduce'd flags, and CTest's
// timeout is the last line of defence.
#include <gtest/gtest.h>

#include "melon/mpi/mpi.hpp"

int main(int argc, char** argv) {
  melon::mpi::Env env(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (melon::mpi::rank(melon::mpi::world()) != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int rc = RUN_ALL_TESTS();
  // Every rank must agree the run passed.
  bool failed = melon::mpi::any(melon::mpi::world(), rc != 0);
  return failed ? 1 : 0;
}

// A program built as melon is (the build's -march flags, the CPU check's
// objects, MPI) but without the sanitizers, whose runtime does not start under
// qemu-user: tests/e2e/isa_guard.sh runs it on an emulated older CPU, alone and
// as one rank of a job, where the test build of melon itself cannot start.
//   melon_isa_probe            MPI_Init, a barrier, MPI_Finalize
//   melon_isa_probe --target   prints the extensions the build targets
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "melon/util/isa.hpp"

namespace {
// Static initialisation compiled with the build's flags: it must run only if
// the check let the program through.
struct Early {
  std::string says = "isa_probe: static initialisation ran";
  Early() { std::fprintf(stderr, "%s\n", says.c_str()); }
} early;
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && !std::strcmp(argv[1], "--target")) {
    std::printf("%.*s\n", static_cast<int>(melon::util::isa_target().size()), melon::util::isa_target().data());
    return 0;
  }
  MPI_Init(&argc, &argv);
  MPI_Barrier(MPI_COMM_WORLD);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::printf("isa_probe: rank %d passed the barrier\n", rank);
  MPI_Finalize();
  return 0;
}

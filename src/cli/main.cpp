// melon: one executable, one subcommand per stage. MPI is initialised here for
// every command so any of them can run under mpirun or srun (a local command
// started by hand skips it: Command::local); a command that fails on one rank
// brings the whole job down with MPI_Abort.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>

#include "melon/cli/cli.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace {
void usage() {
  std::cout << "usage: melon <command> [options]   (melon <command> --help for its options)\n\ncommands:\n";
  for (auto* c : melon::cli::all_commands()) std::printf("  %-10s %s\n", c->name.c_str(), c->summary.c_str());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 1 : 0;
  }
  const std::string name = argv[1];
  const auto* cmd = melon::cli::find_command(name);
  if (!cmd) {
    std::fprintf(stderr, "melon: unknown command '%s'\n", name.c_str());
    usage();
    return 1;
  }
  std::optional<melon::mpi::Env> env;
  if (!cmd->local || melon::mpi::launched()) env.emplace(&argc, &argv);
  melon::mpi::set_stage(name);
  int rc = 0;
  try {
    rc = cmd->run(argc - 1, argv + 1);
  } catch (const melon::Error& e) {
    std::fprintf(stderr, "[melon r%d] melon %s: error: %s\n", melon::mpi::rank(melon::mpi::world()), name.c_str(),
                 e.what());
    std::fflush(stderr);
    const auto* shared = dynamic_cast<const melon::mpi::SharedError*>(&e);
    melon::mpi::abort_job(2, shared && shared->whole_job);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[melon r%d] melon %s: error: %s\n", melon::mpi::rank(melon::mpi::world()), name.c_str(),
                 e.what());
    std::fflush(stderr);
    melon::mpi::abort_job(3);
  }
  return rc;
}

// mpi::launched(): whether a launcher started this process, read from the
// variables each launcher sets, so that commands which never talk to other
// ranks skip MPI_Init when started by hand (src/cli/main.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "melon/mpi/mpi.hpp"

namespace {

const char* const kLauncherVars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};

// Each gtest case runs in its own process under CTest; restore anyway so the
// binary run by hand leaves the next case the environment it started with.
struct SavedEnv {
  std::optional<std::string> saved[std::size(kLauncherVars)];
  SavedEnv() {
    for (std::size_t i = 0; i < std::size(kLauncherVars); ++i)
      if (const char* v = std::getenv(kLauncherVars[i])) saved[i] = v;
  }
  ~SavedEnv() {
    for (std::size_t i = 0; i < std::size(kLauncherVars); ++i)
      saved[i] ? setenv(kLauncherVars[i], saved[i]->c_str(), 1) : unsetenv(kLauncherVars[i]);
  }
};

TEST(MpiLaunch, AProcessStartedByHandIsNotLaunchedAndEachLaunchersVariableMakesItSo) {
  SavedEnv keep;
  for (const char* v : kLauncherVars) unsetenv(v);
  setenv("SLURM_PROCID", "0", 1);  // a batch script's own shell has this, and no launcher
  EXPECT_FALSE(melon::mpi::launched());
  for (const char* v : kLauncherVars) {
    setenv(v, "0", 1);
    EXPECT_TRUE(melon::mpi::launched()) << v;
    unsetenv(v);
  }
  unsetenv("SLURM_PROCID");
}

}  // namespace

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
// What the test changes: the launchers' variables and Slurm's task number.
const char* const kTouched[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "SLURM_PROCID"};

// Each gtest case runs in its own process under CTest; restore anyway so the
// binary run by hand leaves the next case the environment it started with.
struct SavedEnv {
  std::optional<std::string> saved[std::size(kTouched)];
  SavedEnv() {
    for (std::size_t i = 0; i < std::size(kTouched); ++i)
      if (const char* v = std::getenv(kTouched[i])) saved[i] = v;
  }
  ~SavedEnv() {
    for (std::size_t i = 0; i < std::size(kTouched); ++i)
      saved[i] ? setenv(kTouched[i], saved[i]->c_str(), 1) : unsetenv(kTouched[i]);
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
}

}  // namespace

// The unit tests' main. Tests write their scratch files under
// ::testing::TempDir(); without this, that is /tmp itself, and files a test
// names by its pid but never removes piled up there (about thirty a run).
// Each test process (ctest runs one a test) gets a folder of its own as
// TempDir (TEST_TMPDIR, which GoogleTest reads on every call), removed with
// everything in it when the process ends.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <string>

#include "temp_dir.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* outer = getenv("TEST_TMPDIR");
  melon::test_support::TempDir scratch("melon-unit", outer && *outer ? outer : "/tmp");
  if (setenv("TEST_TMPDIR", scratch.path.c_str(), 1) != 0) {
    std::perror("setenv TEST_TMPDIR");
    return 1;
  }
  return RUN_ALL_TESTS();
}

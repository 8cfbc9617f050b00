// Fuzzing the checkpoint reader: a small valid checkpoint and its DONE marker,
// then seeded mutations (tests/support/mutate.hpp) of the HDF5 bytes under the
// old marker, and of the marker text over the intact file. Every read must end
// in melon::Error (read_checkpoint) or a skip (read_latest): never a crash,
// never a load. The marker is checked before HDF5 opens the file, so libhdf5's
// parser (not hardened against hostile input) never sees a mutated file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "melon/ae/checkpoint.hpp"
#include "melon/ae/checkpoint_marker.hpp"
#include "melon/error.hpp"
#include "melon/train/trainer.hpp"
#include "melon/util/rng.hpp"
#include "../support/mutate.hpp"
#include "../support/playlists.hpp"

using namespace melon;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A new file each time: ext4 flushes a file truncated and rewritten in place
// (auto_da_alloc), which made 10,000 rewrites take half a minute.
void spit(const std::string& path, const std::string& bytes) {
  std::remove(path.c_str());
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST(FuzzCheckpoint, MutatedFilesAndMarkersAreRefusedNeverLoaded) {
  char tmpl[] = "/tmp/melon-fuzz-ckpt.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  train::TrainInputs in;
  Rng rng(11);
  melon::test_support::add_clustered_playlists(in, rng, 60, 30, 6);
  auto c = test_support::tiny_train_config(4, 4);
  c.max_steps = 2;
  c.checkpoint_dir = dir;
  train::run_training(c, in, MPI_COMM_SELF);
  const auto path = ae::checkpoint_path(dir, 2);
  const auto file = slurp(path), marker = slurp(ae::marker_path(path));
  ASSERT_EQ(ae::read_checkpoint(path, true).step, 2);

  constexpr int kInputs = 10000;  // each half: HDF5 bytes, marker text
  test::Mutator mutate(20261202);
  const auto t0 = std::chrono::steady_clock::now();
  int refused = 0, skipped = 0;
  for (int i = 0; i < kInputs; ++i) {
    const bool mutate_file = i % 2 == 0;
    spit(path, mutate_file ? mutate(file) : file);
    spit(ae::marker_path(path), mutate_file ? marker : mutate(marker));
    if (i % 4 < 2) {
      try {
        ae::read_checkpoint(path, true);
        ADD_FAILURE() << "input " << i << ": a mutated " << (mutate_file ? "file" : "marker") << " loaded";
      } catch (const Error&) {
        ++refused;
      }
    } else {
      EXPECT_FALSE(ae::read_latest(dir, true)) << "input " << i;
      ++skipped;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "checkpoint fuzz: %d inputs (%d mutated files, %d mutated markers; file %zu bytes): %d refused, "
      "%d skipped, %.2f s\n",
      kInputs, kInputs / 2, kInputs / 2, file.size(), refused, skipped, secs);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Checkpoint files: round trip, DONE marker, truncation fallback, pruning, and
// resume through run_training (one process; MPI not initialised = one rank).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "melon/ae/checkpoint.hpp"
#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/train/trainer.hpp"
#include "melon/util/rng.hpp"
#include "../support/playlists.hpp"

using namespace melon;
using namespace melon::ae;
using namespace melon::train;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/melon-ckpt-test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Clustered playlists: each draws songs, tags and title words from one of four tastes.
TrainInputs synthetic(int n, std::uint64_t seed) {
  TrainInputs in;
  Rng rng(seed);
  melon::test_support::add_clustered_playlists(in, rng, n, 40, 8);
  return in;
}

TrainConfig small_config() {
  TrainConfig c;
  c.hidden = {8};
  c.batch = 16;
  c.adam.lr = 0.01;
  c.epochs = 3;
  c.val_size = 8;
  c.threads = 2;
  c.quiet = true;
  c.vocab.min_song_count = 1;
  return c;
}

}  // namespace

TEST(Checkpoint, NamesAndListing) {
  TempDir t;
  EXPECT_EQ(fs::path(checkpoint_path(t.path, 42)).filename(), "ckpt-0000000042.h5");
  for (auto name : {"ckpt-0000000002.h5", "ckpt-0000000010.h5", "ckpt-0000000010.h5.tmp.123", "other.h5"})
    std::ofstream(t.path + "/" + name) << "x";
  auto l = list_checkpoints(t.path);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(fs::path(l[0]).filename(), "ckpt-0000000010.h5");
  EXPECT_TRUE(list_checkpoints(t.path + "/missing").empty());
}

TEST(Checkpoint, TrainingWritesKeepsLastKAndResumesBitIdentically) {
  TempDir straight, split;
  auto in = synthetic(200, 1);
  auto c = small_config();
  c.max_steps = 20;  // 152 + 40 examples / 16 = 12 steps an epoch: crosses an epoch boundary
  c.checkpoint_dir = straight.path;
  c.checkpoint_every = 4;
  c.keep = 2;
  auto a = run_training(c, in, MPI_COMM_SELF);
  EXPECT_EQ(a.step, 20);
  auto files = list_checkpoints(straight.path);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(fs::path(files[0]).filename(), "ckpt-0000000020.h5");
  EXPECT_EQ(fs::path(files[1]).filename(), "ckpt-0000000016.h5");

  // The same run stopped at step 7 (mid-epoch, no final checkpoint beyond 7) and resumed.
  c.checkpoint_dir = split.path;
  c.max_steps = 7;
  auto b1 = run_training(c, in, MPI_COMM_SELF);
  EXPECT_EQ(b1.step, 7);
  c.max_steps = 20;
  c.resume = Resume::On;
  auto b2 = run_training(c, in, MPI_COMM_SELF);
  EXPECT_EQ(b2.step, 20);
  EXPECT_TRUE(a.params == b2.params) << "resumed weights differ from the straight run";

  // The stored checkpoint round-trips everything.
  auto ck = read_checkpoint(files[0], true);
  EXPECT_EQ(ck.step, 20);
  EXPECT_EQ(ck.epoch, 1);
  EXPECT_EQ(ck.epoch_step, 8);
  EXPECT_TRUE(ck.params == a.params);
  EXPECT_EQ(ck.adam_m.size(), ck.params.size());
  EXPECT_EQ(ck.order.size(), 192u);  // 160 training - 8 held out + 40 questions
  EXPECT_EQ(ck.ranks, 1);
  EXPECT_FALSE(ck.vocab.songs.empty());
  auto light = read_checkpoint(files[0], false);
  EXPECT_TRUE(light.adam_m.empty());
}

TEST(Checkpoint, TruncatedOrUnfinishedNewestFallsBackToThePrevious) {
  TempDir t;
  auto in = synthetic(120, 2);
  auto c = small_config();
  c.checkpoint_dir = t.path;
  c.checkpoint_every = 3;
  c.max_steps = 6;
  run_training(c, in, MPI_COMM_SELF);
  auto files = list_checkpoints(t.path);
  ASSERT_EQ(files.size(), 2u);
  // Truncate the newest to half its size.
  const auto size = fs::file_size(files[0]);
  fs::resize_file(files[0], size / 2);
  std::string used;
  auto ck = read_latest(t.path, true, &used);
  ASSERT_TRUE(ck);
  EXPECT_EQ(used, files[1]);
  EXPECT_EQ(ck->step, 3);
  // A newer file without the DONE marker is skipped too.
  {
    auto f = h5::File::create(checkpoint_path(t.path, 99), MPI_COMM_NULL);
    f.set_attr("format", "melon-ae-checkpoint-1");
    f.close();
  }
  ck = read_latest(t.path, true, &used);
  ASSERT_TRUE(ck);
  EXPECT_EQ(ck->step, 3);
  EXPECT_THROW(read_checkpoint(checkpoint_path(t.path, 99), true), Error);
  // Resuming continues from step 3.
  c.resume = Resume::On;
  c.max_steps = 5;
  auto r = run_training(c, in, MPI_COMM_SELF);
  EXPECT_EQ(r.step, 5);
}

TEST(Checkpoint, RefusesOtherSettingsAndAnOccupiedDirectory) {
  TempDir t;
  auto in = synthetic(120, 3);
  auto c = small_config();
  c.checkpoint_dir = t.path;
  c.max_steps = 2;
  run_training(c, in, MPI_COMM_SELF);
  // Without --resume an occupied directory is an error, not an overwrite.
  try {
    run_training(c, in, MPI_COMM_SELF);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  c.resume = Resume::On;
  c.adam.lr = 0.5;
  try {
    run_training(c, in, MPI_COMM_SELF);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to resume"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("lr="), std::string::npos) << e.what();
  }
  // Different data: the vocabulary hash differs.
  c.adam.lr = small_config().adam.lr;
  auto other = synthetic(120, 4);
  EXPECT_THROW(run_training(c, other, MPI_COMM_SELF), Error);
  // The learning rate decays over the planned epochs, so their count shapes the trajectory.
  c.epochs = 5;
  EXPECT_THROW(run_training(c, in, MPI_COMM_SELF), Error);
  c.epochs = small_config().epochs;
  // Settings that do not change the trajectory may change.
  c.threads = 1;
  c.max_steps = 3;
  EXPECT_EQ(run_training(c, in, MPI_COMM_SELF).step, 3);
}

TEST(Checkpoint, SameSeedSameWeightsOtherSeedOtherWeights) {
  auto in = synthetic(100, 5);
  auto c = small_config();
  c.max_steps = 5;
  auto a = run_training(c, in, MPI_COMM_SELF);
  c.threads = 1;  // the thread count never changes results
  auto b = run_training(c, in, MPI_COMM_SELF);
  EXPECT_TRUE(a.params == b.params);
  c.seed = 2;
  auto d = run_training(c, in, MPI_COMM_SELF);
  EXPECT_FALSE(a.params == d.params);
}

TEST(Checkpoint, BestHoldsTheWeightsOfTheEpochWithTheBestHeldOutScore) {
  TempDir t, again;
  auto in = synthetic(200, 4);
  auto c = small_config();
  c.epochs = 5;
  c.adam.lr = 0.05;  // fast enough that the held-out score moves between epochs
  c.lr_final = 1.0;  // constant, so that a shorter run follows the same trajectory
  c.val_size = 30;
  c.checkpoint_dir = t.path;
  auto r = run_training(c, in, MPI_COMM_SELF);
  ASSERT_EQ(r.epochs.size(), 5u);
  std::size_t best = 0;
  for (std::size_t e = 1; e < r.epochs.size(); ++e)
    if (r.epochs[e].val_score > r.epochs[best].val_score) best = e;  // the first of equal scores
  std::printf("best held-out epoch: %zu of %zu\n", best + 1, r.epochs.size());
  ASSERT_TRUE(fs::exists(best_path(t.path)));
  auto b = read_checkpoint(best_path(t.path), false);
  EXPECT_EQ(b.epoch, static_cast<std::int64_t>(best));
  EXPECT_DOUBLE_EQ(b.val_score, r.epochs[best].val_score);
  EXPECT_DOUBLE_EQ(b.best_val_score, r.epochs[best].val_score);
  EXPECT_TRUE(b.adam_m.empty());
  EXPECT_THROW(read_checkpoint(best_path(t.path), true), Error);  // never resumed from

  // The same run stopped after the best epoch has the same weights.
  c.checkpoint_dir = again.path;
  c.epochs = static_cast<int>(best) + 1;
  auto upto = run_training(c, in, MPI_COMM_SELF);
  EXPECT_TRUE(upto.params == b.params) << "best.h5 does not hold epoch " << best + 1 << "'s weights";

  // Prediction takes best.h5 unless told otherwise, and falls back to the newest
  // checkpoint when best.h5 does not read.
  std::string path;
  ASSERT_TRUE(read_for_predict(t.path, Weights::Best, &path));
  EXPECT_EQ(path, best_path(t.path));
  ASSERT_TRUE(read_for_predict(t.path, Weights::Last, &path));
  EXPECT_EQ(path, list_checkpoints(t.path).front());
  fs::resize_file(best_path(t.path), fs::file_size(best_path(t.path)) / 2);
  auto fallback = read_for_predict(t.path, Weights::Best, &path);
  ASSERT_TRUE(fallback);
  EXPECT_EQ(path, list_checkpoints(t.path).front());
  EXPECT_TRUE(fallback->params == r.params);
  EXPECT_THROW(parse_weights("newest"), Error);
}

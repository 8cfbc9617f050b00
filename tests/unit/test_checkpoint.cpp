// Checkpoint files: round trip, DONE markers (whole-file hash), truncation and
// damage fallback, setting damaged files aside, pruning, --resume modes, the
// non-finite guard, and resume through run_training (one process; MPI not
// initialised = one rank).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>

#include "melon/ae/checkpoint.hpp"
#include "melon/ae/checkpoint_marker.hpp"
#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/train/trainer.hpp"
#include "melon/util/rng.hpp"
#include "../support/playlists.hpp"
#include "../support/temp_dir.hpp"

using namespace melon;
using namespace melon::ae;
using namespace melon::train;
namespace fs = std::filesystem;
using test_support::TempDir;

namespace {

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

// small_config() writing a checkpoint every `every` steps into dir, for `steps` steps.
TrainConfig checkpointing(const std::string& dir, std::int64_t every, std::int64_t steps) {
  auto c = small_config();
  c.checkpoint_dir = dir;
  c.checkpoint_every = every;
  c.max_steps = steps;
  return c;
}

}  // namespace

// Self-sizing training (schedule.hpp) that stops early, interrupted before
// the stop and resumed: the same weights and the same stopping step as a
// straight run, and a resume after the stop does nothing.
TEST(Checkpoint, SelfSizingTrainingStopsEarlyAndResumesToTheSameStop) {
  TempDir straight, split;
  auto in = synthetic(200, 1);
  auto c = small_config();
  c.epochs = 0;  // auto: budget max(10 epochs, 240) = 240 steps
  c.min_steps = 240;
  c.patience = 24;
  c.adam.lr = 0.05;  // overfits fast: the held-out score peaks well before the budget
  c.checkpoint_dir = straight.path;
  c.checkpoint_every = 10;
  auto a = run_training(c, in, MPI_COMM_SELF);
  ASSERT_TRUE(a.stopped_early) << "stopped at step " << a.step;
  EXPECT_LT(a.step, 240);
  EXPECT_EQ(a.step % 12, 0) << "stops at an epoch's end, after its held-out score";

  c.checkpoint_dir = split.path;
  c.max_steps = a.step / 2 + 1;
  run_training(c, in, MPI_COMM_SELF);
  c.max_steps = 0;
  c.resume = Resume::On;
  auto b = run_training(c, in, MPI_COMM_SELF);
  EXPECT_TRUE(b.stopped_early);
  EXPECT_EQ(b.step, a.step);
  EXPECT_TRUE(a.params == b.params) << "resumed weights differ from the straight run";
  EXPECT_EQ(read_checkpoint(list_checkpoints(split.path).front(), false).best_step,
            read_checkpoint(list_checkpoints(straight.path).front(), false).best_step);
  auto again = run_training(c, in, MPI_COMM_SELF);  // resumed after the stop: nothing left
  EXPECT_EQ(again.step, a.step);
  EXPECT_EQ(again.timed_steps, 0);
}

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

// Moments split between ranks (vocabulary-parallel): rank 0 stages the file
// with its slices, another "rank" adds its own, rank 0 commits. The file
// holds the whole moments (read back whole they equal the unsplit arrays, so
// any rank count re-slices), and a reader asking for slices gets exactly
// those values, a bias cut inside its row included.
TEST(Checkpoint, MomentsWrittenInSlicesByEachRankReadBackWholeAndAsSlices) {
  TempDir t;
  auto in = synthetic(120, 4);
  auto c = checkpointing(t.path, 5, 5);
  run_training(c, in, MPI_COMM_SELF);
  const auto whole = read_checkpoint(list_checkpoints(t.path).front(), true);
  const auto& L = whole.layout;
  ASSERT_EQ(whole.adam_m.size(), whole.params.size());
  // Two lopsided shards; their spans (ae::shard_spans) cover every replicated tensor in both.
  const auto s0 = make_shard(L.dims, MPI_COMM_NULL, 0, 2), s1 = make_shard(L.dims, MPI_COMM_NULL, 1, 2);
  auto slice_of = [&](const Shard& sh) {
    Checkpoint part = whole;
    part.step = 10;
    part.moment_spans = shard_spans(L, sh);
    part.adam_m.clear();
    part.adam_v.clear();
    for (const auto& [b, e] : part.moment_spans) {
      part.adam_m.insert(part.adam_m.end(), whole.adam_m.begin() + b, whole.adam_m.begin() + e);
      part.adam_v.insert(part.adam_v.end(), whole.adam_v.begin() + b, whole.adam_v.begin() + e);
    }
    return part;
  };
  const auto p0 = slice_of(s0), p1 = slice_of(s1);
  ASSERT_LT(p0.adam_m.size(), whole.adam_m.size());
  const bool bias_cut = std::any_of(L.tensors.begin(), L.tensors.end(), [&](const Tensor& x) {
    const auto [b, e] = shard_part(x, s1);
    return x.name == "song_bias" && b > x.offset && e == x.offset + x.size();
  });
  EXPECT_TRUE(bias_cut) << "the test should cut a bias inside its row";
  {
    std::optional<TempPath> staged;
    stage_checkpoint(t.path, p0, staged);
    EXPECT_FALSE(fs::exists(checkpoint_path(t.path, 10))) << "staged, not yet in place";
    add_moment_slices(staged->path(), p1);
    commit_checkpoint(t.path, p0, 5, *staged);
  }
  const auto back = read_checkpoint(checkpoint_path(t.path, 10), true);
  EXPECT_TRUE(back.params == whole.params);
  EXPECT_TRUE(back.adam_m == whole.adam_m) << "first moments differ after a sliced write";
  EXPECT_TRUE(back.adam_v == whole.adam_v) << "second moments differ after a sliced write";
  const auto sliced = read_checkpoint(checkpoint_path(t.path, 10), true, &p1.moment_spans);
  EXPECT_TRUE(sliced.adam_m == p1.adam_m);
  EXPECT_TRUE(sliced.adam_v == p1.adam_v);
  EXPECT_TRUE(sliced.moment_spans == p1.moment_spans);
  // A failure before the commit leaves nothing behind.
  {
    std::optional<TempPath> staged;
    auto late = p0;
    late.step = 15;
    stage_checkpoint(t.path, late, staged);
    EXPECT_THROW(add_moment_slices(staged->path() + ".missing", p1), Error);
  }
  for (auto& e : fs::directory_iterator(t.path))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  EXPECT_FALSE(fs::exists(checkpoint_path(t.path, 15)));
}

TEST(Checkpoint, TruncatedOrUnfinishedNewestFallsBackToThePrevious) {
  TempDir t;
  auto in = synthetic(120, 2);
  auto c = checkpointing(t.path, 3, 6);
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

TEST(Checkpoint, BestHoldsTheWeightsOfTheEpochWithTheBestHeldOutScoreAndItsHeldOutIds) {
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
  // read_held_out (the references' learning slice) reads the same file's ids
  // and nothing else, and falls back the same way.
  std::string path, ids_path;
  ASSERT_TRUE(read_for_predict(t.path, Weights::Best, &path));
  EXPECT_EQ(path, best_path(t.path));
  auto ids = read_held_out(t.path, &ids_path);
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids_path, best_path(t.path));
  EXPECT_EQ(ids->size(), 30u);
  EXPECT_EQ(*ids, b.held_out);
  ASSERT_TRUE(read_for_predict(t.path, Weights::Last, &path));
  EXPECT_EQ(path, list_checkpoints(t.path).front());
  fs::resize_file(best_path(t.path), fs::file_size(best_path(t.path)) / 2);
  auto fallback = read_for_predict(t.path, Weights::Best, &path);
  ASSERT_TRUE(fallback);
  EXPECT_EQ(path, list_checkpoints(t.path).front());
  EXPECT_TRUE(fallback->params == r.params);
  ids = read_held_out(t.path, &ids_path);
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids_path, path);
  EXPECT_EQ(*ids, fallback->held_out);
  for (const auto& p : list_checkpoints(t.path)) fs::resize_file(p, fs::file_size(p) / 2);
  EXPECT_FALSE(read_held_out(t.path));  // nothing reads back
  EXPECT_THROW(parse_weights("newest"), Error);
}

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CheckpointMarker, EveryFileHasOneAndPruningRemovesBoth) {
  TempDir t;
  auto in = synthetic(200, 6);
  auto c = checkpointing(t.path, 2, 24);  // two epochs: best.h5 too
  c.keep = 2;
  run_training(c, in, MPI_COMM_SELF);
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(t.path)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  const std::vector<std::string> want = {"best.h5",
                                         "best.h5.done",
                                         "ckpt-0000000022.h5",
                                         "ckpt-0000000022.h5.done",
                                         "ckpt-0000000024.h5",
                                         "ckpt-0000000024.h5.done",
                                         "curve.json"};
  names.erase(std::remove_if(names.begin(), names.end(), [](auto& n) { return n.find(".lock") != std::string::npos; }),
              names.end());
  EXPECT_EQ(names, want);
  for (auto& f : {best_path(t.path), checkpoint_path(t.path, 24)}) EXPECT_NO_THROW(verify_marker(f)) << f;
  const auto text = slurp(marker_path(checkpoint_path(t.path, 24)));
  const auto head = "melon-checkpoint-done 1\nsize " + std::to_string(fs::file_size(checkpoint_path(t.path, 24))) +
                    "\nxxh3_64 ";
  EXPECT_EQ(text.rfind(head, 0), 0u) << text;
}

TEST(CheckpointMarker, AByteChangedAnywhereIsCaughtBeforeHdf5OpensTheFile) {
  TempDir t;
  auto in = synthetic(120, 7);
  auto c = checkpointing(t.path, 3, 6);
  run_training(c, in, MPI_COMM_SELF);
  const auto newest = checkpoint_path(t.path, 6);
  const auto good = slurp(newest);
  // The superblock, the middle (datasets: weights, moments ...) and the last byte.
  for (std::size_t at : {std::size_t(0), good.size() / 3, good.size() / 2, good.size() - 1}) {
    auto bad = good;
    bad[at] ^= 0x10;
    spit(newest, bad);
    const auto msg = error_of([&] { read_checkpoint(newest, true); });
    EXPECT_NE(msg.find("do not match the hash in its DONE marker"), std::string::npos) << at << ": " << msg;
    EXPECT_NE(msg.find(newest), std::string::npos) << msg;
    std::string used;
    auto ck = read_latest(t.path, true, &used);
    ASSERT_TRUE(ck);
    EXPECT_EQ(ck->step, 3);
  }
  spit(newest, good);
  EXPECT_EQ(read_checkpoint(newest, true).step, 6);
  // Appended to, truncated, marker missing, marker damaged.
  spit(newest, good + "x");
  EXPECT_NE(error_of([&] { verify_marker(newest); }).find("truncated or appended"), std::string::npos);
  spit(newest, good);
  const auto marker = slurp(marker_path(newest));
  spit(marker_path(newest), "melon-checkpoint-done 1\nsize 00" + marker.substr(marker.find('\n', 24)));
  EXPECT_NE(error_of([&] { verify_marker(newest); }).find("damaged DONE marker"), std::string::npos);
  fs::remove(marker_path(newest));
  EXPECT_NE(error_of([&] { read_checkpoint(newest, true); }).find("no DONE marker"), std::string::npos);
  spit(marker_path(newest), marker);
  EXPECT_NO_THROW(verify_marker(newest));
}

TEST(CheckpointMarker, DamagedFilesAreSetAsideWithTheirMarkersNeverDeleted) {
  TempDir t;
  auto in = synthetic(120, 8);
  auto c = checkpointing(t.path, 2, 4);
  c.keep = 2;
  run_training(c, in, MPI_COMM_SELF);
  const auto newest = checkpoint_path(t.path, 4);
  const auto bytes = slurp(newest);
  fs::resize_file(newest, bytes.size() / 2);
  auto report = set_aside_damaged(t.path);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_NE(report[0].find("ckpt-0000000004.h5.bad"), std::string::npos) << report[0];
  EXPECT_TRUE(fs::exists(newest + ".bad"));
  EXPECT_TRUE(fs::exists(marker_path(newest) + ".bad"));
  EXPECT_FALSE(fs::exists(newest));
  // Resuming continues from step 2 and keeps writing; the set-aside file is
  // never counted, pruned or overwritten (keep = 2, four more checkpoints).
  c.resume = Resume::On;
  c.max_steps = 10;
  EXPECT_EQ(run_training(c, in, MPI_COMM_SELF).step, 10);
  EXPECT_EQ(fs::file_size(newest + ".bad"), bytes.size() / 2);
  EXPECT_EQ(list_checkpoints(t.path).size(), 2u);
  // A second damaged file of the same name gets its own name.
  fs::resize_file(checkpoint_path(t.path, 10), 100);
  set_aside_damaged(t.path);
  EXPECT_TRUE(fs::exists(checkpoint_path(t.path, 10) + ".bad"));
  spit(checkpoint_path(t.path, 4), "x");
  set_aside(checkpoint_path(t.path, 4));
  EXPECT_TRUE(fs::exists(checkpoint_path(t.path, 4) + ".bad.1"));
}

// A run killed while writing leaves temporary files (a checkpoint, a marker,
// the curve); the next run in the folder (it holds the folder's lock) clears them.
TEST(CheckpointResume, ClearsHalfWrittenCheckpointsAndMarkersOfAKilledRun) {
  TempDir t;
  auto in = synthetic(120, 11);
  auto c = checkpointing(t.path, 2, 2);
  run_training(c, in, MPI_COMM_SELF);
  const std::vector<std::string> left = {t.path + "/ckpt-0000000004.h5.tmp.77", t.path + "/best.h5.done.tmp.78",
                                         t.path + "/ckpt-0000000004.h5.done.tmp.79", t.path + "/curve.json.tmp.80"};
  for (auto& f : left) std::ofstream(f) << "half";
  c.resume = Resume::On;
  c.max_steps = 3;
  EXPECT_EQ(run_training(c, in, MPI_COMM_SELF).step, 3);
  for (auto& f : left) EXPECT_FALSE(fs::exists(f)) << f;
}

TEST(CheckpointResume, OnWithNothingValidIsAnErrorAutoStartsFromScratch) {
  TempDir t;
  auto in = synthetic(120, 9);
  auto c = small_config();
  c.max_steps = 3;
  c.resume = Resume::On;
  c.checkpoint_dir = t.path + "/typo";
  auto msg = error_of([&] { run_training(c, in, MPI_COMM_SELF); });
  EXPECT_NE(msg.find("no valid checkpoint in " + c.checkpoint_dir + ": the folder does not exist"), std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(c.checkpoint_dir)) << "a typo'd folder must not be created";
  c.checkpoint_dir = t.path;
  msg = error_of([&] { run_training(c, in, MPI_COMM_SELF); });
  EXPECT_NE(msg.find("holds no checkpoint"), std::string::npos) << msg;
  c.resume = Resume::Auto;
  EXPECT_EQ(run_training(c, in, MPI_COMM_SELF).step, 3);
  // Every checkpoint damaged: on is an error naming them, auto starts again; nothing is deleted.
  for (auto& p : list_checkpoints(t.path)) fs::resize_file(p, 1000);
  c.resume = Resume::On;
  c.max_steps = 4;
  msg = error_of([&] { run_training(c, in, MPI_COMM_SELF); });
  EXPECT_NE(msg.find("ckpt-0000000003.h5.bad"), std::string::npos) << msg;
  EXPECT_TRUE(fs::exists(checkpoint_path(t.path, 3) + ".bad"));
  c.resume = Resume::Auto;
  EXPECT_EQ(run_training(c, in, MPI_COMM_SELF).step, 4);
  EXPECT_TRUE(fs::exists(checkpoint_path(t.path, 3) + ".bad"));
  EXPECT_THROW(parse_resume("maybe"), Error);
  EXPECT_EQ(parse_resume("on"), Resume::On);
  EXPECT_EQ(parse_resume("auto"), Resume::Auto);
  EXPECT_EQ(parse_resume("off"), Resume::Off);
}

TEST(CheckpointGuard, DivergenceStopsTrainingAndWritesNothingNonFinite) {
  TempDir t;
  auto in = synthetic(120, 10);
  auto c = small_config();
  c.checkpoint_dir = t.path;
  c.checkpoint_every = 1;
  c.adam.lr = 1e308;
  const auto msg = error_of([&] { run_training(c, in, MPI_COMM_SELF); });
  EXPECT_NE(msg.find("training diverged"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at step 1"), std::string::npos) << msg;
  EXPECT_TRUE(list_checkpoints(t.path).empty());
  EXPECT_FALSE(fs::exists(best_path(t.path)));
  // Without a checkpoint in between, the next step's loss is what stops it.
  c.checkpoint_dir.clear();
  const auto msg2 = error_of([&] { run_training(c, in, MPI_COMM_SELF); });
  EXPECT_NE(msg2.find("loss is"), std::string::npos) << msg2;
}

TEST(CheckpointGuard, HyperparametersOutsideTheirDomainAreRefusedByName) {
  const std::vector<std::pair<std::function<void(TrainConfig&)>, std::string>> cases = {
      {[](TrainConfig& c) { c.adam.beta1 = 1.5; }, "--beta1"},
      {[](TrainConfig& c) { c.adam.beta2 = 1.0; }, "--beta2"},
      {[](TrainConfig& c) { c.adam.beta1 = -0.1; }, "--beta1"},
      {[](TrainConfig& c) { c.adam.lr = 0; }, "--lr"},
      {[](TrainConfig& c) { c.adam.lr = std::numeric_limits<double>::infinity(); }, "--lr"},
      {[](TrainConfig& c) { c.adam.lr = std::nan(""); }, "--lr"},
      {[](TrainConfig& c) { c.adam.eps = 0; }, "--adam-eps"},
      {[](TrainConfig& c) { c.adam.weight_decay = -1; }, "--weight-decay"},
      {[](TrainConfig& c) { c.lr_final = 1.5; }, "--lr-final"},
      {[](TrainConfig& c) { c.corruption.keep_title = 2; }, "--keep-title"},
      {[](TrainConfig& c) { c.batch = 0; }, "--batch"},
      {[](TrainConfig& c) { c.epochs = -1; }, "--epochs"},  // 0 is auto
      {[](TrainConfig& c) { c.min_steps = 0; }, "--min-steps"},
      {[](TrainConfig& c) { c.max_steps_budget = c.min_steps - 1; }, "--max-steps-budget"},
      {[](TrainConfig& c) { c.patience = -1; }, "--patience"},
      {[](TrainConfig& c) { c.warmup = -2; }, "--warmup"},
      {[](TrainConfig& c) {
         c.hidden = {8, 0};
       },
       "--hidden"},
      {[](TrainConfig& c) { c.keep = 0; }, "--keep"},
  };
  EXPECT_NO_THROW(check_config(small_config()));
  for (auto& [change, option] : cases) {
    auto c = small_config();
    change(c);
    const auto msg = error_of([&] { check_config(c); });
    EXPECT_EQ(msg.rfind(option + " must be", 0), 0u) << option << ": " << msg;
  }
}

// The item-to-item term (--neighbours): its neighbours travel in the
// checkpoint, a stopped run resumes bit for bit, and neighbours that index
// outside the vocabulary are refused by name.
TEST(Checkpoint, ItemToItemTermResumesBitIdenticallyAndItsNeighboursAreChecked) {
  TempDir straight, split;
  auto in = synthetic(200, 1);
  auto c = small_config();
  c.neighbours = 5;
  c.neighbour_gain = 2;
  c.max_steps = 20;
  c.checkpoint_dir = straight.path;
  c.checkpoint_every = 4;
  auto a = run_training(c, in, MPI_COMM_SELF);
  c.checkpoint_dir = split.path;
  c.max_steps = 7;
  run_training(c, in, MPI_COMM_SELF);
  c.max_steps = 20;
  c.resume = Resume::On;
  auto b = run_training(c, in, MPI_COMM_SELF);
  EXPECT_TRUE(a.params == b.params) << "resumed weights differ from the straight run";
  // A run without the term is another model: different weights, no song_nbr.
  auto plain = small_config();
  plain.neighbours = 0;
  plain.max_steps = 20;
  EXPECT_FALSE(run_training(plain, in, MPI_COMM_SELF).params == a.params);

  auto ck = read_checkpoint(list_checkpoints(straight.path)[0], true);
  ASSERT_TRUE(ck.layout.has("song_nbr"));
  EXPECT_EQ(ck.neighbours.k, 5);
  EXPECT_EQ(ck.neighbours.gain, 2);
  EXPECT_EQ(static_cast<std::int64_t>(ck.neighbours.ptr.size()), ck.layout.dims.n_songs + 1);
  EXPECT_FALSE(ck.neighbours.idx.empty());
  // The playlist counts that leave a training playlist's own part out travel too.
  EXPECT_EQ(static_cast<std::int64_t>(ck.neighbours.count.size()), ck.layout.dims.n_songs);
  // The learned per-song weights moved from their start at 1.
  const auto& g = ck.layout.get("song_nbr");
  EXPECT_TRUE(std::any_of(ck.params.begin() + g.offset, ck.params.begin() + g.offset + g.size(),
                          [](float v) { return v != 1.0f; }));

  // The multiplier the held-out playlists chose travels with the weights.
  TempDir scaled;
  ck.nbr_scale = 4;
  write_checkpoint(scaled.path, ck, 1);
  EXPECT_EQ(read_checkpoint(list_checkpoints(scaled.path)[0], true).nbr_scale, 4);

  TempDir bad;
  ck.neighbours.idx[0] = static_cast<std::int32_t>(ck.layout.dims.n_songs);
  write_checkpoint(bad.path, ck, 1);
  try {
    read_checkpoint(list_checkpoints(bad.path)[0], true);
    ADD_FAILURE() << "neighbours outside the vocabulary were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("neighbours entry 0"), std::string::npos) << e.what();
  }
}

// Tags read through songs (--tag-answers auto, the default): the song-tag
// table and the mix the held-out playlists chose travel in the checkpoint,
// entries outside the vocabulary and a mix without a table are refused by
// name, and the table does not change training (`head` trains the same weights).
TEST(Checkpoint, SongTagTableAndTagMixTravelAndAreCheckedAndLeaveTrainingUnchanged) {
  TempDir dir, head_dir;
  auto in = synthetic(200, 1);
  auto c = checkpointing(dir.path, 4, 8);
  ASSERT_TRUE(c.tag_answers_auto);
  const auto a = run_training(c, in, MPI_COMM_SELF);
  auto h = checkpointing(head_dir.path, 4, 8);
  h.tag_answers_auto = false;
  EXPECT_TRUE(run_training(h, in, MPI_COMM_SELF).params == a.params);
  EXPECT_TRUE(read_checkpoint(list_checkpoints(head_dir.path)[0], true).song_tags.empty());

  auto ck = read_checkpoint(list_checkpoints(dir.path)[0], true);
  ASSERT_FALSE(ck.song_tags.empty());
  EXPECT_EQ(static_cast<std::int64_t>(ck.song_tags.ptr.size()), ck.layout.dims.n_songs + 1);
  EXPECT_GE(ck.tag_mix, 0);
  EXPECT_LE(ck.tag_mix, 1);

  TempDir mixed;
  ck.tag_mix = 0.3;
  write_checkpoint(mixed.path, ck, 1);
  const auto back = read_checkpoint(list_checkpoints(mixed.path)[0], true);
  EXPECT_EQ(back.tag_mix, 0.3);
  EXPECT_EQ(back.song_tags.idx, ck.song_tags.idx);
  EXPECT_EQ(back.song_tags.w, ck.song_tags.w);

  auto refused = [](const Checkpoint& bad, const std::string& what) {
    TempDir d;
    write_checkpoint(d.path, bad, 1);
    try {
      read_checkpoint(list_checkpoints(d.path)[0], true);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  auto outside = ck;
  outside.song_tags.idx[0] = static_cast<std::int32_t>(ck.layout.dims.n_tags);
  refused(outside, "song_tags entry 0");
  auto no_table = ck;
  no_table.song_tags = {};
  refused(no_table, "holds no song_tags");
}

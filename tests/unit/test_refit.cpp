// The refit (train/refit.hpp): what it repeats of the first run, when it is
// skipped, the model it writes and the one prediction then loads, and a run
// that trains on removing a refit that no longer matches best.h5 (one
// process; MPI not initialised = one rank).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "melon/ae/checkpoint.hpp"
#include "melon/train/held_out.hpp"
#include "melon/train/refit.hpp"
#include "melon/train/trainer.hpp"
#include "melon/util/rng.hpp"
#include "../support/playlists.hpp"
#include "../support/temp_dir.hpp"

using namespace melon;
using namespace melon::train;
namespace fs = std::filesystem;
using test_support::TempDir;

namespace {

TrainConfig small_config(const std::string& dir) {
  TrainConfig c;
  c.hidden = {8};
  c.batch = 16;
  c.adam.lr = 0.01;
  c.epochs = 4;
  c.val_size = 30;
  c.threads = 2;
  c.quiet = true;
  c.vocab.min_song_count = 1;
  c.checkpoint_dir = dir;
  return c;
}

}  // namespace

// The numbers of a real run (6,000 playlists: 4,800 training with 960 held
// out before --val-size auto, 1,200 questions; batch 256): 20 steps an epoch, a 1,000-step budget
// with 50 warm-up steps, the best held-out score at step 260 (epoch 13). The
// refit sees 6,000 playlists, 24 steps an epoch: 13 epochs are 312 steps of
// a 50-epoch schedule warming up over 60.
TEST(Refit, RepeatsTheBestEpochCountOnTheFirstRunsScheduleCountedInEpochs) {
  TrainConfig cfg;
  cfg.checkpoint_dir = "/ck";
  cfg.batch = 256;
  TrainInputs in;
  in.train.resize(4800);
  in.questions.resize(1200);
  TrainResult first;
  first.completed = true;
  first.steps_per_epoch = 20;
  first.budget = 1000;
  first.warmup = 50;
  first.best_step = 260;
  first.held_out = 960;
  first.examples = 3840 + 1200;
  ASSERT_EQ(no_refit_reason(cfg, first), "");
  const auto c = refit_config(cfg, in, first);
  EXPECT_EQ(c.val_size, 0);
  EXPECT_EQ(c.refit, Refit::Off);
  EXPECT_EQ(c.checkpoint_dir, ae::refit_dir("/ck"));
  EXPECT_EQ(c.epochs, 50);
  EXPECT_EQ(c.warmup, 60);
  EXPECT_EQ(c.max_steps, 312);
  EXPECT_EQ(c.resume, Resume::Auto);
}

// Auto refits when the held-out slice is at least 5% of the data: the small
// cells' 960 of 6,000 playlists, not the mid cells' 1,000 of 29,000 nor the
// full release's 1,000 of 148,000.
TEST(Refit, IsSkippedWhenOffWithoutHeldOutPlaylistsBeforeTheRunsEndOrForATinySliceOnAuto) {
  TrainConfig cfg;
  cfg.checkpoint_dir = "/ck";
  TrainResult first;
  first.completed = true;
  first.best_step = 20;
  first.held_out = 960;
  first.examples = 5040;
  EXPECT_EQ(cfg.refit, Refit::Auto);
  EXPECT_EQ(no_refit_reason(cfg, first), "");
  auto full = first;
  full.held_out = 1000;
  full.examples = 147000;
  EXPECT_NE(no_refit_reason(cfg, full).find("held-out playlists are 0.68% of the data"), std::string::npos)
      << no_refit_reason(cfg, full);
  auto mid = first;  // the mid cells: 1,000 of 24,000 training playlists and 6,000 questions
  mid.held_out = 1000;
  mid.examples = 28000;
  EXPECT_NE(no_refit_reason(cfg, mid), "");
  auto on = cfg;
  on.refit = Refit::On;
  EXPECT_EQ(no_refit_reason(on, full), "");
  auto off = cfg;
  off.refit = Refit::Off;
  EXPECT_NE(no_refit_reason(off, first), "");
  auto no_val = cfg;
  no_val.val_size = 0;
  EXPECT_NE(no_refit_reason(no_val, first), "");
  auto no_dir = cfg;
  no_dir.checkpoint_dir.clear();
  EXPECT_NE(no_refit_reason(no_dir, first), "");
  auto cut = first;
  cut.completed = false;  // a signal or --max-steps
  EXPECT_NE(no_refit_reason(cfg, cut), "");
  auto unscored = first;
  unscored.best_step = -1;
  EXPECT_NE(no_refit_reason(cfg, unscored), "");
}

// refit.h5 is trained on the held-out playlists too (songs only they hold are
// in its vocabulary, not in best.h5's), for the best epoch count, with
// best.h5's choices; prediction loads it by default and best.h5 when asked;
// resuming the finished refit writes the same weights again.
TEST(Refit, TrainsOnTheHeldOutSliceTooAndPredictionLoadsIt) {
  TempDir t;
  TrainInputs in;
  Rng rng(5);
  test_support::add_clustered_playlists(in, rng, 250, 60, 8);
  for (auto& p : in.train) p.songs.push_back(static_cast<std::int32_t>(10000 + p.id));  // a song of its own
  const auto cfg = small_config(t.path);
  const auto first = run_training(cfg, in, MPI_COMM_SELF);
  ASSERT_TRUE(first.completed);
  ASSERT_EQ(no_refit_reason(cfg, first), "");
  EXPECT_FALSE(fs::exists(ae::refit_path(t.path)));
  const auto res = run_refit(cfg, in, first, MPI_COMM_SELF);
  const auto planned = refit_config(cfg, in, first).max_steps;
  EXPECT_EQ(res.step, planned);
  ASSERT_TRUE(fs::exists(ae::refit_path(t.path)));

  const auto best = ae::read_checkpoint(ae::best_path(t.path), false);
  const auto refit = ae::read_checkpoint(ae::refit_path(t.path), false);
  EXPECT_EQ(refit.step, planned);
  EXPECT_EQ(best.step / first.steps_per_epoch, refit.step / res.steps_per_epoch) << "not the best epoch count";
  EXPECT_GT(res.steps_per_epoch, first.steps_per_epoch);
  EXPECT_TRUE(refit.held_out.empty());
  EXPECT_EQ(refit.cold_songs, best.cold_songs);
  EXPECT_EQ(refit.cold_shift, best.cold_shift);
  EXPECT_EQ(refit.nbr_scale, best.nbr_scale);
  EXPECT_TRUE(refit.params == res.params);

  std::set<std::int64_t> held(best.held_out.begin(), best.held_out.end()), elsewhere;
  ASSERT_EQ(held.size(), 30u);
  for (auto& p : in.train)
    if (!held.count(p.id)) elsewhere.insert(p.songs.begin(), p.songs.end());
  for (auto& p : in.questions) elsewhere.insert(p.songs.begin(), p.songs.end());
  std::set<std::int32_t> best_vocab(best.vocab.songs.begin(), best.vocab.songs.end());
  std::set<std::int32_t> refit_vocab(refit.vocab.songs.begin(), refit.vocab.songs.end());
  int only_held = 0;
  for (auto& p : in.train)
    if (held.count(p.id))
      for (auto s : p.songs)
        if (!elsewhere.count(s)) {
          ++only_held;
          EXPECT_FALSE(best_vocab.count(s)) << "song " << s;
          EXPECT_TRUE(refit_vocab.count(s)) << "song " << s;
        }
  EXPECT_EQ(only_held, 30);

  std::string path;
  ASSERT_TRUE(ae::read_for_predict(t.path, ae::Weights::Refit, &path));
  EXPECT_EQ(path, ae::refit_path(t.path));
  ASSERT_TRUE(ae::read_for_predict(t.path, ae::Weights::Best, &path));
  EXPECT_EQ(path, ae::best_path(t.path));

  const auto again = run_refit(cfg, in, first, MPI_COMM_SELF);
  EXPECT_EQ(again.step, planned);
  EXPECT_TRUE(ae::read_checkpoint(ae::refit_path(t.path), false).params == refit.params);
}

// Without refit.h5 (--refit off, older folders) prediction takes best.h5;
// and a run that trains on after a refit removes it and its folder, which
// would otherwise describe another best epoch.
TEST(Refit, PredictionFallsBackToBestAndARunTrainingOnRemovesTheRefit) {
  TempDir t;
  TrainInputs in;
  Rng rng(6);
  test_support::add_clustered_playlists(in, rng, 200, 40, 8);
  auto cfg = small_config(t.path);
  cfg.max_steps = 12;
  const auto cut = run_training(cfg, in, MPI_COMM_SELF);
  EXPECT_FALSE(cut.completed);
  EXPECT_NE(no_refit_reason(cfg, cut), "");
  std::string path;
  ASSERT_TRUE(ae::read_for_predict(t.path, ae::Weights::Refit, &path));
  EXPECT_EQ(path, ae::best_path(t.path));

  // A refit left from an earlier end of this run.
  ae::write_refit(t.path, ae::read_checkpoint(ae::best_path(t.path), false));
  fs::create_directories(ae::refit_dir(t.path));
  cfg.max_steps = 0;
  cfg.resume = Resume::On;
  const auto rest = run_training(cfg, in, MPI_COMM_SELF);
  EXPECT_TRUE(rest.completed);
  EXPECT_FALSE(fs::exists(ae::refit_path(t.path)));
  EXPECT_FALSE(fs::exists(ae::refit_dir(t.path)));
}

// --val-size auto: the slice grows only where the refit will train on it.
TEST(HeldOutSize, AutoHoldsOutTwiceAsManyWhereTheRefitWillRunAtMostAThird) {
  // 4,800 training playlists, 1,200 questions (the small grid): 1,000 are 17%
  // of the data, the refit runs: 2,000 wanted, a third of 4,800 kept.
  EXPECT_EQ(held_out_size(kValSizeAuto, Refit::Auto, 4800, 1200), 1600);
  EXPECT_EQ(held_out_size(kValSizeAuto, Refit::On, 9000, 1000), 2000);
  // 24,000 and 6,000 (mid size): 1,000 are 3.3%, no refit on auto.
  EXPECT_EQ(held_out_size(kValSizeAuto, Refit::Auto, 24000, 6000), 1000);
  // The threshold itself: 1,000 of 20,000 is 5%.
  EXPECT_EQ(held_out_size(kValSizeAuto, Refit::Auto, 16000, 4000), 2000);
  EXPECT_EQ(held_out_size(kValSizeAuto, Refit::Auto, 16001, 4000), 1000);
  // With the refit off: 1,000 whatever the share.
  EXPECT_EQ(held_out_size(kValSizeAuto, Refit::Off, 4800, 1200), 1000);
  EXPECT_EQ(held_out_size(kValSizeAuto, Refit::Off, 900, 300), 300);  // a third
  // A number given is kept as given (split_held_out caps it).
  EXPECT_EQ(held_out_size(1000, Refit::Auto, 4800, 1200), 1000);
  EXPECT_EQ(held_out_size(0, Refit::Auto, 4800, 1200), 0);
  EXPECT_EQ(held_out_size(5000, Refit::Off, 900, 300), 5000);
}

TEST(HeldOutSize, SplitHoldsOutAtMostAThirdOfTheTrainingPlaylists) {
  TrainInputs in;
  Rng rng(3);
  test_support::add_clustered_playlists(in, rng, 100, 10, 6);  // 80 training playlists, 20 questions
  const auto s = split_held_out(in.train, in.questions, 1000, 1);
  EXPECT_EQ(s.held.size(), 26u);
  EXPECT_EQ(s.data.size(), 54u + 20u);
  EXPECT_EQ(s.questions.size(), 26u);
  EXPECT_EQ(split_held_out(in.train, in.questions, 7, 1).held.size(), 7u);
}

// --val-size auto on a resume takes the slice of the run it continues (one
// started before auto existed held out 1,000): read from the newest readable
// checkpoint's settings; a damaged newer file does not hide them.
TEST(HeldOutSize, AResumeReadsTheSliceTheCheckpointedRunWasStartedWith) {
  TempDir t;
  EXPECT_EQ(resumed_val_size(t.path + "/none"), -1);
  EXPECT_EQ(resumed_val_size(t.path), -1);
  TrainInputs in;
  Rng rng(7);
  test_support::add_clustered_playlists(in, rng, 120, 30, 6);
  auto cfg = small_config(t.path);
  cfg.val_size = 17;
  cfg.epochs = 1;
  ASSERT_TRUE(run_training(cfg, in, MPI_COMM_SELF).completed);
  ASSERT_FALSE(ae::list_checkpoints(t.path).empty());
  EXPECT_EQ(resumed_val_size(t.path), 17);
  // A newer checkpoint that is only bytes: skipped.
  const auto newest = ae::list_checkpoints(t.path).front();
  const auto damaged = ae::checkpoint_path(t.path, 1000000);
  fs::copy_file(newest, damaged);
  fs::resize_file(damaged, fs::file_size(damaged) / 2);
  ASSERT_EQ(ae::list_checkpoints(t.path).front(), damaged);
  EXPECT_EQ(resumed_val_size(t.path), 17);
}

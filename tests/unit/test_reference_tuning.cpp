// Reference hyperparameters chosen on held-out training playlists, and the
// fitted state saved for the reranker (recommend/tuning.hpp, fitted_io.hpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "melon/arena/rules.hpp"
#include "melon/error.hpp"
#include "melon/recommend/fitted_io.hpp"
#include "melon/recommend/references.hpp"
#include "melon/recommend/tuning.hpp"
#include "melon/util/thread_pool.hpp"
#include "../support/temp_dir.hpp"

using namespace melon;
using recommend::ReferenceMethod;
namespace fs = std::filesystem;
using test_support::TempDir;

namespace {

// Five tastes of 60 songs; each playlist draws 12-20 songs from one, its tag and one of 12 others.
struct Data {
  arena::SongMeta meta;
  std::vector<arena::Playlist> train;
  Data() {
    for (int s = 0; s < 300; ++s) {
      arena::Song song;
      song.id = s;
      song.issue_date = "20100101";
      meta.songs.push_back(song);
    }
    const char* words[] = {"rainy", "drive", "night", "love", "summer"};
    for (int i = 0; i < 400; ++i) {
      arena::Playlist p;
      p.id = 1000 + i;
      const int taste = i % 5;
      for (int k = 0; k < 12 + i % 9; ++k) p.songs.push_back(taste * 60 + (i * 7 + k * k * 3) % 60);
      std::sort(p.songs.begin(), p.songs.end());
      p.songs.erase(std::unique(p.songs.begin(), p.songs.end()), p.songs.end());
      p.tags = {"t" + std::to_string(taste), "u" + std::to_string(i % 12)};
      p.title = std::string(words[taste]) + " mix";
      p.updt_date = "2018-01-01 00:00:00.000";
      train.push_back(p);
    }
  }
};

recommend::ReferenceOptions options() {
  recommend::ReferenceOptions o;
  o.ease_lambda = 30;
  return o;
}

}  // namespace

TEST(ReferenceTuning, GridStartsFromTheGivenValuesAndKeepsPinnedOnes) {
  auto o = options();
  const auto ease = recommend::tuning_grid(ReferenceMethod::Ease, o, {});
  ASSERT_EQ(ease.size(), 5u);  // 30, then 100, 300, 1000, 3000
  EXPECT_EQ(ease[0].ease_lambda, 30);
  EXPECT_EQ(recommend::tuning_grid(ReferenceMethod::Ease, o, {"ease-lambda"}).size(), 1u);
  o.alpha = 0.5;
  o.beta = 0.1;
  const auto knn = recommend::tuning_grid(ReferenceMethod::ItemKnn, o, {});
  EXPECT_EQ(knn.size(), 9u);  // the given values are on the grid
  EXPECT_EQ(knn[0].alpha, 0.5);
  EXPECT_EQ(knn[0].beta, 0.1);
  const auto beta_only = recommend::tuning_grid(ReferenceMethod::ItemKnn, o, {"alpha"});
  EXPECT_EQ(beta_only.size(), 3u);
  for (auto& g : beta_only) EXPECT_EQ(g.alpha, 0.5);
  EXPECT_EQ(recommend::tuning_grid(ReferenceMethod::PlaylistKnn, o, {}).size(), 6u);
  const auto mixture = recommend::tuning_grid(ReferenceMethod::Mixture, o, {});
  ASSERT_EQ(mixture.size(), 3u);  // 150 (the default, on the grid), 50, 300
  EXPECT_EQ(mixture[0].mixture_clusters, 150);
  EXPECT_EQ(recommend::tuning_grid(ReferenceMethod::Mixture, o, {"mixture-clusters"}).size(), 1u);
}

TEST(ReferenceTuning, HeldOutSetHoldsOutExactlyTheGivenPlaylists) {
  Data d;
  const auto ids = recommend::draw_held_out(d.train, 50, 1);
  ASSERT_EQ(ids.size(), 50u);
  const auto h = recommend::held_out_set(d.train, ids, 1);
  EXPECT_EQ(h.fit_on.size(), d.train.size() - ids.size());
  EXPECT_EQ(h.questions.size(), ids.size());
  const std::unordered_set<std::int64_t> held(ids.begin(), ids.end());
  for (auto& p : h.fit_on) EXPECT_FALSE(held.count(p.id));
  for (std::size_t i = 0; i < h.questions.size(); ++i) {
    EXPECT_TRUE(held.count(h.questions[i].id));
    EXPECT_EQ(h.questions[i].id, h.answers[i].id);
  }
  EXPECT_THROW(recommend::held_out_set(d.train, {1000, 99999}, 1), Error);
}

TEST(ReferenceTuning, ChoosesTheTrialWithTheBestHeldOutScore) {
  Data d;
  const auto h = recommend::held_out_set(d.train, recommend::draw_held_out(d.train, 60, 1), 1);
  const auto corpus = recommend::build_corpus(h.fit_on, d.meta.size(), {});
  // Settings that score differently, the best one neither first nor last.
  std::vector<recommend::ReferenceOptions> grid;
  for (std::int64_t k : {200, 1, 3}) {
    auto o = options();
    o.neighbours = k;
    grid.push_back(o);
  }
  const auto t = recommend::tune(ReferenceMethod::PlaylistKnn, corpus, h, arena::song_dates(d.meta), grid);
  ASSERT_EQ(t.trials.size(), 3u);
  std::size_t best = 0;
  for (std::size_t i = 1; i < t.trials.size(); ++i)
    if (t.trials[i].score > t.trials[best].score) best = i;
  EXPECT_NE(t.trials[0].score, t.trials[best].score);
  EXPECT_EQ(t.chosen, best);
  EXPECT_EQ(t.fitted.opt.neighbours, grid[best].neighbours);
  for (auto& tr : t.trials) EXPECT_TRUE(tr.score > 0 && tr.score <= 1) << tr.score;
}

TEST(FittedReference, EaseAndMixtureLoadedFromTheirFilesAnswerExactlyAsTheFitsTheyWereSavedFrom) {
  Data d;
  TempDir dir;
  const auto corpus = recommend::build_corpus(d.train, d.meta.size(), {});
  for (auto m : {ReferenceMethod::Ease, ReferenceMethod::Mixture}) {
    SCOPED_TRACE(recommend::to_string(m));
    auto opt = options();
    opt.mixture_clusters = 12;
    opt.mixture_iterations = 7;
    recommend::FittedFile f;
    f.fitted = recommend::fit_reference(m, corpus, opt);
    f.corpus = recommend::corpus_fingerprint(corpus);
    f.held_out = {1, 2, 3};
    f.request = "test";
    f.trials = {{"some=30", 0.25}};
    const auto path = recommend::fitted_path(dir.path, m);
    recommend::write_fitted(path, f);
    EXPECT_TRUE(fs::exists(dir.path + "/" + recommend::to_string(m) + ".json"));
    const auto back = recommend::read_fitted(path);
    EXPECT_EQ(back.fitted.method, m);
    EXPECT_EQ(back.corpus, f.corpus);
    EXPECT_EQ(back.held_out, f.held_out);
    EXPECT_EQ(back.fitted.opt.ease_lambda, 30);
    EXPECT_EQ(back.fitted.opt.mixture_clusters, 12);
    EXPECT_EQ(back.fitted.opt.mixture_iterations, 7);
    EXPECT_EQ(back.fitted.weights, f.fitted.weights);
    EXPECT_EQ(back.fitted.prior, f.fitted.prior);
    ASSERT_EQ(back.trials.size(), 1u);
    EXPECT_EQ(back.trials[0].first, "some=30");

    const auto a = recommend::make_reference(f.fitted, corpus), b = recommend::make_reference(back.fitted, corpus);
    const auto dates = arena::song_dates(d.meta);
    recommend::Workspace ws;
    for (int i = 0; i < 20; ++i) {
      auto q = d.train[static_cast<std::size_t>(i * 17)];
      q.songs.resize(q.songs.size() / 2);
      const auto x = recommend::candidates(*a, corpus, q, back.fitted.opt, dates, 100, 10, ws);
      const auto y = recommend::candidates(*b, corpus, q, back.fitted.opt, dates, 100, 10, ws);
      EXPECT_EQ(x.songs, y.songs);
      EXPECT_EQ(x.tags, y.tags);
      EXPECT_FALSE(x.songs.empty());
    }
  }
}

TEST(FittedReference, FingerprintTellsCorporaApart) {
  Data d;
  const auto all = recommend::build_corpus(d.train, d.meta.size(), {});
  auto fewer = d.train;
  fewer.pop_back();
  EXPECT_EQ(recommend::corpus_fingerprint(all),
            recommend::corpus_fingerprint(recommend::build_corpus(d.train, d.meta.size(), {})));
  EXPECT_NE(recommend::corpus_fingerprint(all),
            recommend::corpus_fingerprint(recommend::build_corpus(fewer, d.meta.size(), {})));
  auto retitled = d.train;
  retitled[7].title = "another title";
  EXPECT_NE(recommend::corpus_fingerprint(all),
            recommend::corpus_fingerprint(recommend::build_corpus(retitled, d.meta.size(), {})));
}

TEST(FittedReference, ReaderNamesTheFileOfADamagedOrForeignFit) {
  TempDir dir;
  const auto path = dir.path + "/ease.h5";
  std::ofstream(path) << "not an HDF5 file";
  try {
    recommend::read_fitted(path);
    FAIL() << "a damaged file was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(ReferenceTuning, SavedFitIsReusedForTheSameDataAndRefittedForOther) {
  Data d;
  TempDir dir;
  recommend::ReferenceRun run;
  run.opt = options();
  run.fitted = recommend::fitted_path(dir.path, ReferenceMethod::Ease);
  const auto dates = arena::song_dates(d.meta);
  const auto chosen = recommend::choose_options(ReferenceMethod::Ease, d.train, d.meta.size(), dates, run);
  const auto first = recommend::read_fitted(run.fitted);
  EXPECT_EQ(first.trials.size(), 5u);
  EXPECT_EQ(first.fitted.opt.ease_lambda, chosen.ease_lambda);
  const auto stamp = fs::last_write_time(run.fitted);
  // Same data and settings: the file is read, not written again.
  EXPECT_EQ(recommend::choose_options(ReferenceMethod::Ease, d.train, d.meta.size(), dates, run).ease_lambda,
            chosen.ease_lambda);
  EXPECT_EQ(fs::last_write_time(run.fitted), stamp);
  // Other training playlists: fitted again, for them.
  auto fewer = d.train;
  fewer.resize(fewer.size() - 10);
  recommend::choose_options(ReferenceMethod::Ease, fewer, d.meta.size(), dates, run);
  EXPECT_NE(recommend::read_fitted(run.fitted).corpus, first.corpus);
}

// Threads within a rank (`melon baseline --threads`, the reranker's pool):
// the work is cut in chunks of fixed size, so the count changes the time, not
// the bits. The data spans several chunks of every loop (400 playlists, some
// 330 columns, 40 clusters; 60 questions).
TEST(ReferenceThreads, MixtureFitIsTheSameBitsOnOneAndThreeThreads) {
  Data d;
  const auto corpus = recommend::build_corpus(d.train, d.meta.size(), {});
  auto opt = options();
  opt.mixture_clusters = 40;
  opt.mixture_iterations = 4;
  util::ThreadPool three(3);
  const auto one = recommend::fit_reference(ReferenceMethod::Mixture, corpus, opt);
  const auto many = recommend::fit_reference(ReferenceMethod::Mixture, corpus, opt, three);
  ASSERT_EQ(one.weights.size(), many.weights.size());
  EXPECT_EQ(one.columns, many.columns);
  EXPECT_TRUE(one.weights == many.weights);
  EXPECT_TRUE(one.prior == many.prior);
}

TEST(ReferenceThreads, EveryMethodAnswersTheSameOnOneAndThreeThreads) {
  Data d;
  const auto h = recommend::held_out_set(d.train, recommend::draw_held_out(d.train, 60, 1), 1);
  auto opt = options();
  opt.mixture_clusters = 40;
  util::ThreadPool three(3);
  for (auto m :
       {ReferenceMethod::ItemKnn, ReferenceMethod::PlaylistKnn, ReferenceMethod::Ease, ReferenceMethod::Mixture}) {
    SCOPED_TRACE(recommend::to_string(m));
    const auto one = recommend::run_reference(m, h.fit_on, h.questions, &d.meta, opt);
    const auto many = recommend::run_reference(m, h.fit_on, h.questions, &d.meta, opt, three);
    ASSERT_EQ(one.size(), h.questions.size());
    ASSERT_EQ(many.size(), one.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(many[i].id, one[i].id);
      EXPECT_EQ(many[i].songs, one[i].songs) << "question " << one[i].id;
      EXPECT_EQ(many[i].tags, one[i].tags) << "question " << one[i].id;
    }
  }
}

TEST(ReferenceThreads, TuningScoresTheSameTrialsOnOneAndThreeThreads) {
  Data d;
  const auto h = recommend::held_out_set(d.train, recommend::draw_held_out(d.train, 60, 1), 1);
  const auto corpus = recommend::build_corpus(h.fit_on, d.meta.size(), {});
  std::vector<recommend::ReferenceOptions> grid;
  for (std::int64_t k : {5, 40}) {
    auto o = options();
    o.mixture_clusters = k;
    o.mixture_iterations = 4;
    grid.push_back(o);
  }
  util::ThreadPool three(3);
  const auto dates = arena::song_dates(d.meta);
  const auto one = recommend::tune(ReferenceMethod::Mixture, corpus, h, dates, grid);
  const auto many = recommend::tune(ReferenceMethod::Mixture, corpus, h, dates, grid, three);
  ASSERT_EQ(one.trials.size(), 2u);
  ASSERT_EQ(many.trials.size(), 2u);
  for (std::size_t t = 0; t < 2; ++t) EXPECT_EQ(many.trials[t].score, one.trials[t].score) << "trial " << t;
  EXPECT_NE(one.trials[0].score, one.trials[1].score);
  EXPECT_EQ(many.chosen, one.chosen);
  EXPECT_TRUE(many.fitted.weights == one.fitted.weights);
}

// The final ranking stage: pooling and features (rank/features.hpp), the
// answer rules after reranking, and the whole stage on clustered playlists.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "melon/arena/candidates.hpp"
#include "melon/arena/rules.hpp"
#include "melon/eval/metric.hpp"
#include "melon/questions/held_out.hpp"
#include "melon/rank/features.hpp"
#include "melon/rank/rerank.hpp"
#include "melon/recommend/references.hpp"
#include "melon/recommend/tuning.hpp"
#include "../support/playlists.hpp"

using namespace melon;

namespace {

arena::SongMeta meta_for(int n_songs, int late_from) {
  arena::SongMeta m;
  for (int s = 0; s < n_songs; ++s) {
    arena::Song song;
    song.id = s;
    song.issue_date = s >= late_from ? "20200101" : "20100101";
    song.artist_ids = {s / 10};
    song.album_id = s / 5;
    song.genres = {"GN0" + std::to_string(1 + s % 3) + "00"};
    m.songs.push_back(song);
  }
  return m;
}

// Every answer: 100 distinct songs and 10 distinct tags, none shown in its question.
void expect_valid(const std::vector<arena::Result>& results, const std::vector<arena::Playlist>& questions) {
  ASSERT_EQ(results.size(), questions.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const auto& q = questions[i];
    EXPECT_EQ(r.id, q.id);
    ASSERT_EQ(r.songs.size(), 100u) << "question " << q.id;
    ASSERT_EQ(r.tags.size(), 10u) << "question " << q.id;
    EXPECT_EQ(std::set<arena::SongId>(r.songs.begin(), r.songs.end()).size(), 100u)
        << "duplicate song, question " << q.id;
    EXPECT_EQ(std::set<std::string>(r.tags.begin(), r.tags.end()).size(), 10u) << "duplicate tag, question " << q.id;
    for (auto s : q.songs) EXPECT_EQ(std::count(r.songs.begin(), r.songs.end(), s), 0) << "shown song " << s;
    for (auto& t : q.tags) EXPECT_EQ(std::count(r.tags.begin(), r.tags.end(), t), 0) << "shown tag " << t;
  }
}

TEST(RerankAnswer, DropsShownItemsDuplicatesAndLateSongsThenFillsTo100And10) {
  Rng rng(3);
  train::TrainInputs in;
  test_support::add_clustered_playlists(in, rng, 200, 60, 12);
  const auto meta = meta_for(240, 230);
  const auto corpus = recommend::build_corpus(in.train, meta.size(), {});
  const auto dates = arena::song_dates(meta);
  arena::Playlist q;
  q.id = 7;
  q.songs = {1, 2, 3};
  q.tags = {"t0"};
  q.updt_date = "2015-01-01 00:00:00.000";
  // A pool that breaks every rule: shown songs, a duplicate, late songs, a NaN score, too few items.
  const std::vector<arena::SongId> songs{1, 5, 5, 231, 2, 6, 235};
  const std::vector<float> scores{9, 8, 7, 6.5f, 6, std::numeric_limits<float>::quiet_NaN(), 10};
  const std::vector<std::string> tags{"t0", "u1", "u1", "t1"};
  const std::vector<float> tag_scores{5, 4, 3, 2};
  auto r = rank::ranked_answer(q, songs, scores, tags, tag_scores, corpus, dates);
  expect_valid(std::vector<arena::Result>{r}, std::vector<arena::Playlist>{q});
  EXPECT_EQ(r.songs[0], 5);  // best allowed score first; 235 and 231 are after updt_date
  EXPECT_EQ(r.songs[1], 6);  // NaN sorts after every scored song
  for (auto s : r.songs) EXPECT_LT(s, 230) << "song released after the playlist's update";
  EXPECT_EQ(r.tags[0], "u1");
  EXPECT_EQ(r.tags[1], "t1");
}

TEST(RerankFeatures, PoolExcludesShownItemsAndMarksSourcesThatDidNotProposeAsMissing) {
  Rng rng(4);
  train::TrainInputs in;
  test_support::add_clustered_playlists(in, rng, 100, 40, 8);
  const auto meta = meta_for(160, 1000);
  const auto corpus = recommend::build_corpus(in.train, meta.size(), {});
  rank::FeatureContext ctx;
  ctx.sources = {{"a", true}, {"b", false}};
  ctx.corpus = &corpus;
  ctx.meta = &meta;
  ctx.songs_per_source = 3;
  ctx.tags_per_source = 5;
  arena::Playlist q;
  q.id = 1;
  q.songs = {10, 11};
  q.tags = {"t0"};
  q.title = "summer drive";
  arena::Candidates a, b;
  a.id = b.id = 1;
  a.songs = {{10, 5.0f}, {12, 4.0f}, {13, 3.0f}, {99, 1.0f}};  // 10 is shown; 99 is past the depth of 3
  b.songs = {{13, 2.0f}, {14, 1.0f}};
  a.tags = {{"t0", 1.0f}, {"u1", 0.5f}};
  b.tags = {{"drive", 3.0f}};
  auto p = rank::pool_question(q, {&a, &b}, ctx);
  const auto names = rank::song_features(ctx);
  ASSERT_EQ(p.song_x.size(), p.songs.size() * names.size());
  ASSERT_EQ(p.tag_x.size(), p.tags.size() * rank::tag_features(ctx).size());
  // Pool order: best rank over the sources, then the first source proposing it.
  EXPECT_EQ(p.songs, (std::vector<arena::SongId>{13, 12, 14}));
  EXPECT_EQ(p.tags, (std::vector<std::string>{"drive", "u1"}));
  const auto nf = names.size();
  auto at = [&](std::size_t row, const std::string& name) {
    const auto col = std::find(names.begin(), names.end(), name) - names.begin();
    return p.song_x[row * nf + static_cast<std::size_t>(col)];
  };
  EXPECT_EQ(at(0, "a.rank"), 2.0f);  // 13: third in a (after the shown 10 and 12)
  EXPECT_EQ(at(0, "b.rank"), 0.0f);
  EXPECT_FLOAT_EQ(at(0, "a.rel"), -2.0f);  // logits: score - best
  EXPECT_FLOAT_EQ(at(0, "b.rel"), 1.0f);   // sums: score / best
  EXPECT_EQ(at(0, "sources"), 2.0f);
  EXPECT_TRUE(std::isnan(at(2, "a.rank")));  // 14 came from b only
  EXPECT_EQ(at(2, "sources"), 1.0f);
  EXPECT_EQ(at(1, "same_artist"), 2.0f);        // 12 shares artist 1 with both shown songs
  EXPECT_TRUE(std::isnan(at(1, "audio_cos")));  // no audio given
  const auto tnames = rank::tag_features(ctx);
  const auto in_title = std::find(tnames.begin(), tnames.end(), "in_title") - tnames.begin();
  EXPECT_EQ(p.tag_x[static_cast<std::size_t>(in_title)], 1.0f);  // "drive" is in "summer drive"
}

// Questions made from the held-out part of clustered playlists.
struct Bench {
  train::TrainInputs in;
  arena::SongMeta meta;
  std::vector<arena::Playlist> questions;
  std::vector<arena::Result> answers;
  Bench() {
    Rng rng(9);
    test_support::add_clustered_playlists(in, rng, 1500, 150, 20);
    meta = meta_for(600, 100000);
    for (std::size_t i = 0; i < in.questions.size(); ++i) {
      auto h = questions::held_out_question(in.questions[i], static_cast<std::int64_t>(i), 5);
      questions.push_back(h.question);
      answers.push_back(h.answer);
    }
  }
  rank::RerankInputs inputs() const {
    rank::RerankInputs ri;
    ri.train = &in.train;
    ri.questions = &questions;
    ri.meta = &meta;
    return ri;
  }
};

rank::RerankOptions small_options() {
  rank::RerankOptions o;
  o.references = {"item-knn", "playlist-knn"};
  o.learn_questions = 200;
  o.songs.rounds = o.tags.rounds = 20;
  o.songs.eval_metric = "ndcg@100";
  o.tags.eval_metric = "ndcg@10";
  o.threads = 1;
  o.songs_per_source = 120;
  return o;
}

TEST(Rerank, AnswersEveryQuestionTypeWithValidListsAndBeatsPopularity) {
  Bench b;
  const auto ri = b.inputs();
  const auto results = rank::rerank(ri, small_options());
  expect_valid(results, b.questions);
  const auto rep = eval::evaluate(b.answers, results, &b.questions);
  EXPECT_EQ(rep.by_type.size(), 4u);
  const auto pop = recommend::run_baseline(recommend::BaselineMethod::MostPopular, b.in.train, b.questions, &b.meta);
  const auto base = eval::evaluate(b.answers, pop, &b.questions);
  // Four tastes of 150 songs: knowing the taste is worth far more than popularity.
  EXPECT_GT(rep.overall.score, 2 * base.overall.score);
  EXPECT_GT(rep.overall.tag_ndcg, base.overall.tag_ndcg);
}

TEST(Rerank, SameInputsAndSeedGiveIdenticalAnswers) {
  Bench b;
  const auto ri = b.inputs();
  auto o = small_options();
  o.songs.rounds = o.tags.rounds = 5;
  const auto r1 = rank::rerank(ri, o), r2 = rank::rerank(ri, o);
  ASSERT_EQ(r1.size(), r2.size());
  for (std::size_t i = 0; i < r1.size(); ++i) {
    EXPECT_EQ(r1[i].songs, r2[i].songs);
    EXPECT_EQ(r1[i].tags, r2[i].tags);
  }
}

// XGBoost's histogram sums follow its thread count; the answers must follow
// only the inputs and the seed, whatever cores the node has.
TEST(Rerank, AnswersDoNotDependOnTheThreadCount) {
  Bench b;
  const auto ri = b.inputs();
  auto o = small_options();
  o.threads = 1;
  const auto r1 = rank::rerank(ri, o);
  o.threads = 3;
  const auto r3 = rank::rerank(ri, o);
  ASSERT_EQ(r1.size(), r3.size());
  for (std::size_t i = 0; i < r1.size(); ++i) {
    EXPECT_EQ(r1[i].songs, r3[i].songs) << "question " << r1[i].id;
    EXPECT_EQ(r1[i].tags, r3[i].tags) << "question " << r1[i].id;
  }
}

TEST(Rerank, FusionWithoutLearningStillFollowsTheAnswerRules) {
  Bench b;
  const auto ri = b.inputs();
  auto o = small_options();
  o.learned = false;
  expect_valid(rank::rerank(ri, o), b.questions);
}

TEST(RerankLearning, CopiesOfAHeldOutPlaylistAreOtherTypesAndMasksAndKeepTheOfficialMix) {
  std::map<questions::QuestionType, int> one, three;
  std::set<std::int64_t> seen;
  for (std::int64_t j = 0; j < 40; ++j) {
    const auto single = rank::learning_positions(j, 1, false);
    ASSERT_EQ(single, std::vector<std::int64_t>{j}) << "one copy: the position as before";
    ++one[questions::held_out_type(j)];
    const auto p = rank::learning_positions(j, 3, false);
    ASSERT_EQ(p.size(), 3u);
    std::set<questions::QuestionType> types;
    for (auto x : p) {
      EXPECT_TRUE(seen.insert(x).second) << "position " << x << " twice: the same mask draw";
      types.insert(questions::held_out_type(x));
      ++three[questions::held_out_type(x)];
    }
    EXPECT_EQ(p[0], j);
    EXPECT_GE(types.size(), 2u) << "playlist " << j << ": every copy the same type";
  }
  for (auto& [type, n] : one) EXPECT_EQ(three[type], 3 * n) << "the type mix of three copies is not the official one";
  EXPECT_EQ(rank::learning_positions(3, 2, true).size(), 3u);   // slot 3 shows songs: a no-songs copy too
  EXPECT_EQ(rank::learning_positions(17, 2, true).size(), 2u);  // slot 17 shows none already
}

// Songs 600-609 sit only in the reranker's held-out playlists. Its learning
// fits never see them; the fits that answer the questions do (refit on every
// training playlist), so a question showing five of them gets the other five
// in its answer.
TEST(Rerank, QuestionsAreAnsweredByReferencesRefittedOnEveryTrainingPlaylist) {
  Bench b;
  auto o = small_options();
  const auto held = recommend::draw_held_out(b.in.train, o.learn_questions, o.seed);
  const std::set<std::int64_t> held_set(held.begin(), held.end());
  for (auto& p : b.in.train)
    if (held_set.count(p.id))
      for (arena::SongId s = 600; s < 610; ++s) p.songs.push_back(s);
  ASSERT_EQ(recommend::draw_held_out(b.in.train, o.learn_questions, o.seed), held);
  b.meta = meta_for(610, 100000);
  arena::Playlist q;
  q.id = 100000;
  q.songs = {600, 601, 602, 603, 604};
  q.updt_date = "2016-05-01 00:00:00.000";
  b.questions.push_back(q);
  const auto ri = b.inputs();
  auto hidden_found = [](const arena::Result& r) {
    return std::count_if(r.songs.begin(), r.songs.end(), [](auto s) { return s >= 605 && s < 610; });
  };
  const auto refit = rank::rerank(ri, o);
  o.refit_on_all = false;
  const auto learning_fits = rank::rerank(ri, o);
  ASSERT_EQ(refit.back().id, q.id);
  ASSERT_EQ(learning_fits.back().id, q.id);
  EXPECT_EQ(hidden_found(refit.back()), 5) << "the refit references know songs 605-609 go with 600-604";
  EXPECT_EQ(hidden_found(learning_fits.back()), 0) << "fits without the held-out slice never saw 605-609 together";
  expect_valid(refit, b.questions);
}

}  // namespace

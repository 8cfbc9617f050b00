#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/eval/metric.hpp"
#include "melon/eval/score_table.hpp"

using namespace melon;
using arena::Result;

namespace {
Result full_result(std::int64_t id, int first_song = 0) {
  Result r;
  r.id = id;
  for (int i = 0; i < 100; ++i) r.songs.push_back(first_song + i);
  for (int i = 0; i < 10; ++i) r.tags.push_back("t" + std::to_string(i));
  return r;
}
}  // namespace

TEST(Metric, NdcgMatchesHandComputedValue) {
  // ranked [1, 2, 3], answer {2, 4}: dcg = 1/ln 3, idcg = 1/ln 2 + 1/ln 3.
  double want = (1 / std::log(3.0)) / (1 / std::log(2.0) + 1 / std::log(3.0));
  EXPECT_NEAR(eval::ndcg(std::vector<arena::SongId>{1, 2, 3}, {2, 4}), want, 1e-12);
  EXPECT_NEAR(want, 0.386852, 1e-6);
}

TEST(Metric, IdealDcgUsesFullAnswerLengthNotCappedAtTen) {
  // 12 answer tags, all 10 recommended tags right: nDCG < 1 because idcg sums 12 terms.
  std::vector<std::string> ranked, answer;
  for (int i = 0; i < 12; ++i) answer.push_back("t" + std::to_string(i));
  for (int i = 0; i < 10; ++i) ranked.push_back("t" + std::to_string(i));
  double dcg = 0, idcg = 0;
  for (int i = 0; i < 10; ++i) dcg += 1 / std::log(i + 2.0);
  for (int i = 0; i < 12; ++i) idcg += 1 / std::log(i + 2.0);
  EXPECT_NEAR(eval::ndcg(ranked, answer), dcg / idcg, 1e-12);
  EXPECT_LT(eval::ndcg(ranked, answer), 0.9);
}

TEST(Metric, PerfectAndEmptyRankings) {
  EXPECT_DOUBLE_EQ(eval::ndcg(std::vector<arena::SongId>{5, 6}, {6, 5}), 1.0);
  EXPECT_DOUBLE_EQ(eval::ndcg(std::vector<arena::SongId>{1, 2}, {7}), 0.0);
}

TEST(Metric, ScoreIsWeightedSongAndTagMeans) {
  Result ans{1, {0, 200}, {"t0"}};  // song at rank 0 of 2, tag at rank 0 of 1
  Result ans2{2, {300}, {"zz"}};    // nothing right
  auto rep = eval::evaluate({ans, ans2}, {full_result(1), full_result(2)});
  double s1 = (1 / std::log(2.0)) / (1 / std::log(2.0) + 1 / std::log(3.0));
  EXPECT_NEAR(rep.overall.song_ndcg, s1 / 2, 1e-12);
  EXPECT_NEAR(rep.overall.tag_ndcg, 0.5, 1e-12);
  EXPECT_NEAR(rep.overall.score, 0.85 * s1 / 2 + 0.15 * 0.5, 1e-12);
  EXPECT_EQ(rep.overall.questions, 2u);
}

TEST(Metric, RejectsResultsWhoseIdsDifferFromAnswers) {
  Result ans{1, {1}, {"a"}};
  EXPECT_THROW(eval::evaluate({ans}, {full_result(2)}), Error);
  EXPECT_THROW(eval::evaluate({ans, Result{2, {1}, {"a"}}}, {full_result(1)}), Error);
  EXPECT_THROW(eval::evaluate({ans}, {full_result(1), full_result(1)}), Error);
}

TEST(Metric, RejectsWrongCountsAndDuplicates) {
  Result ans{1, {1}, {"a"}};
  auto r = full_result(1);
  r.songs.pop_back();
  EXPECT_THROW(eval::evaluate({ans}, {r}), Error);
  r = full_result(1);
  r.tags.push_back("extra");
  EXPECT_THROW(eval::evaluate({ans}, {r}), Error);
  r = full_result(1);
  r.songs[99] = r.songs[0];
  try {
    eval::evaluate({ans}, {r});
    FAIL() << "duplicate song accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("repeats a song"), std::string::npos) << e.what();
  }
  r = full_result(1);
  r.tags[9] = r.tags[0];
  EXPECT_THROW(eval::evaluate({ans}, {r}), Error);
}

TEST(Metric, BreakdownByQuestionType) {
  arena::Playlist q1{1, "", {3}, {}, 0, "2020-01-01 00:00:00.000"};      // songs only
  arena::Playlist q2{2, "title", {}, {}, 0, "2020-01-01 00:00:00.000"};  // title only
  std::vector<arena::Playlist> questions{q1, q2};
  auto rep = eval::evaluate({Result{1, {1}, {"a"}}, Result{2, {1}, {"a"}}}, {full_result(1), full_result(2)},
                            &questions);
  ASSERT_EQ(rep.by_type.size(), 2u);
  EXPECT_EQ(rep.by_type[questions::QuestionType::SongsOnly].questions, 1u);
  EXPECT_EQ(rep.by_type[questions::QuestionType::TitleOnly].questions, 1u);
}

TEST(ScoreTable, OneRowPerMethodAndQuestionTypeAndOneJsonObject) {
  char tmpl[] = "/tmp/melon-score-table.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  arena::Playlist q1{1, "", {3}, {}, 0, "2020-01-01 00:00:00.000"};      // songs only
  arena::Playlist q2{2, "title", {}, {}, 0, "2020-01-01 00:00:00.000"};  // title only
  std::vector<arena::Playlist> questions{q1, q2};
  std::vector<Result> answers{Result{1, {1}, {"t0"}}, Result{2, {500}, {"x"}}};
  arena::write_results(dir + "/a.json", {full_result(1), full_result(2)});
  arena::write_results(dir + "/b.json", {full_result(1, 400), full_result(2, 400)});
  auto t = eval::score_table(answers, questions, {{"first", dir + "/a.json"}, {"second", dir + "/b.json"}});
  auto rep = eval::evaluate(answers, {full_result(1), full_result(2)}, &questions);
  EXPECT_EQ(t.json.rfind("{\"first\": " + eval::to_json(rep) + ", \"second\": ", 0), 0u) << t.json;
  EXPECT_EQ(t.json.back(), '\n');
  std::size_t lines = 0;
  for (char c : t.text) lines += c == '\n';
  EXPECT_EQ(lines, 1u + 2 * 3);  // header, then all + two question types per method
  char row[200];
  std::snprintf(row, sizeof row, "%-20s %-12s %9.4f", "first", "all", rep.overall.song_ndcg);
  EXPECT_NE(t.text.find(row), std::string::npos) << t.text;
  EXPECT_EQ(t.text.rfind("method               questions    song nDCG", 0), 0u) << t.text;
  std::filesystem::remove_all(dir);
}

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "melon/generate/rng.hpp"
#include "melon/questions/held_out.hpp"
#include "melon/questions/mask.hpp"
#include "melon/questions/types.hpp"
#include "melon/util/rng.hpp"

using namespace melon;
using questions::QuestionType;

namespace {

arena::Playlist playlist(int id, int n_songs, int n_tags) {
  arena::Playlist p;
  p.id = id;
  p.title = "t" + std::to_string(id);
  p.like_cnt = 3;
  p.updt_date = "2019-01-01 00:00:00.000";
  for (int i = 0; i < n_songs; ++i) p.songs.push_back(id * 100 + i);
  for (int i = 0; i < n_tags; ++i) p.tags.push_back(std::string(1, static_cast<char>('a' + i)));
  return p;
}

// Question and answer interleave back into the full list, each in playlist order.
template <class T>
void expect_reforms(const std::vector<T>& full, const std::vector<T>& shown, const std::vector<T>& hidden) {
  ASSERT_EQ(shown.size() + hidden.size(), full.size());
  std::size_t s = 0, h = 0;
  for (const auto& x : full) {
    if (s < shown.size() && shown[s] == x) {
      ++s;
    } else {
      ASSERT_TRUE(h < hidden.size() && hidden[h] == x) << "item out of order or lost";
      ++h;
    }
  }
}

std::vector<QuestionType> all_types() {
  return {QuestionType::SongsOnly, QuestionType::SongsTags, QuestionType::TagsOnly, QuestionType::TitleOnly};
}

}  // namespace

TEST(QuestionTypes, ReadFromWhatTheQuestionShows) {
  auto p = playlist(1, 3, 2);
  EXPECT_EQ(questions::question_type(p), QuestionType::SongsTags);
  p.tags.clear();
  EXPECT_EQ(questions::question_type(p), QuestionType::SongsOnly);
  p.songs.clear();
  EXPECT_EQ(questions::question_type(p), QuestionType::TitleOnly);
  p.tags = {"x"};
  EXPECT_EQ(questions::question_type(p), QuestionType::TagsOnly);
  for (auto t : all_types()) {
    EXPECT_EQ(questions::shows_songs(t), t == QuestionType::SongsOnly || t == QuestionType::SongsTags);
    EXPECT_EQ(questions::shows_tags(t), t == QuestionType::SongsTags || t == QuestionType::TagsOnly);
  }
}

TEST(QuestionTypes, OneTableThreeSpellingsAsWrittenInFiles) {
  using questions::Spelling;
  const char* expected[4][3] = {{"songs only", "songs only", "songs_only"},
                                {"songs+tags", "songs + tags", "songs_tags"},
                                {"tags only", "title + tags", "title_tags"},
                                {"title only", "title only", "title_only"}};
  for (int k = 0; k < 4; ++k) {
    const auto t = static_cast<QuestionType>(k);
    EXPECT_STREQ(questions::name(t), expected[k][0]);  // Short is the default
    EXPECT_STREQ(questions::name(t, Spelling::Short), expected[k][0]);
    EXPECT_STREQ(questions::name(t, Spelling::Arena), expected[k][1]);
    EXPECT_STREQ(questions::name(t, Spelling::Key), expected[k][2]);
  }
}

TEST(QuestionMask, OfficialShowsLenHalfRoundedDownAndKeepsTheTitle) {
  const auto p = playlist(1, 9, 5);
  Rng rng(11);
  for (auto choose : {questions::shuffled_flags(rng), questions::partial_shuffle(rng)}) {
    auto m = questions::mask(p, QuestionType::SongsTags, questions::kOfficialMasking, choose);
    EXPECT_EQ(m.question.songs.size(), 4u);  // 9 // 2 shown, the odd item hidden
    EXPECT_EQ(m.answer.songs.size(), 5u);
    EXPECT_EQ(m.question.tags.size(), 2u);  // 5 // 2
    EXPECT_EQ(m.answer.tags.size(), 3u);
    expect_reforms(p.songs, m.question.songs, m.answer.songs);
    expect_reforms(p.tags, m.question.tags, m.answer.tags);
    EXPECT_EQ(m.question.title, p.title);
    EXPECT_EQ(m.answer.title, p.title);
    EXPECT_EQ(m.question.id, p.id);
    EXPECT_EQ(m.question.updt_date, p.updt_date);
    EXPECT_EQ(m.answer.like_cnt, p.like_cnt);
  }
}

TEST(QuestionMask, ReleasedHidesLenHalfRoundedDownAndBlanksTheTitleWhereSongsShow) {
  const auto p = playlist(2, 9, 5);
  generate::Rng rng(5);
  const auto choose = questions::partial_shuffle(
      [&rng](std::uint64_t n) { return rng.below(static_cast<std::uint32_t>(n)); });
  auto m = questions::mask(p, QuestionType::SongsTags, questions::kReleasedMasking, choose);
  EXPECT_EQ(m.answer.songs.size(), 4u);  // 9 // 2 hidden, the odd item shown
  EXPECT_EQ(m.question.songs.size(), 5u);
  EXPECT_EQ(m.answer.tags.size(), 2u);
  EXPECT_EQ(m.question.tags.size(), 3u);
  expect_reforms(p.songs, m.question.songs, m.answer.songs);
  expect_reforms(p.tags, m.question.tags, m.answer.tags);
  EXPECT_TRUE(m.question.title.empty());
  EXPECT_EQ(m.answer.title, p.title);
  auto t = questions::mask(p, QuestionType::TagsOnly, questions::kReleasedMasking, choose);
  EXPECT_EQ(t.question.title, p.title);  // shown where the songs are absent
  expect_reforms(p.tags, t.question.tags, t.answer.tags);
}

TEST(QuestionMask, EvenLengthsSplitEquallyUnderBothConventions) {
  const auto p = playlist(3, 8, 4);
  Rng rng(3);
  for (auto m : {questions::kOfficialMasking, questions::kReleasedMasking}) {
    auto q = questions::mask(p, QuestionType::SongsTags, m, questions::partial_shuffle(rng));
    EXPECT_EQ(q.question.songs.size(), 4u);
    EXPECT_EQ(q.answer.songs.size(), 4u);
    EXPECT_EQ(q.question.tags.size(), 2u);
    EXPECT_EQ(q.answer.tags.size(), 2u);
  }
}

TEST(QuestionMask, RemovedListsGoToTheAnswerCappedAt100SongsAnd10Tags) {
  const auto p = playlist(4, 150, 12);
  Rng rng(1);
  for (auto m : {questions::kOfficialMasking, questions::kReleasedMasking}) {
    auto q = questions::mask(p, QuestionType::TitleOnly, m, questions::shuffled_flags(rng));
    EXPECT_TRUE(q.question.songs.empty() && q.question.tags.empty());
    EXPECT_EQ(q.question.title, p.title);
    ASSERT_EQ(q.answer.songs.size(), 100u);
    ASSERT_EQ(q.answer.tags.size(), 10u);
    EXPECT_TRUE(std::equal(q.answer.songs.begin(), q.answer.songs.end(), p.songs.begin()));
    EXPECT_TRUE(std::equal(q.answer.tags.begin(), q.answer.tags.end(), p.tags.begin()));
  }
}

TEST(QuestionMask, ChoosersPickExactlyKAndTheirDrawsArePinned) {
  Rng a(7), b(7);
  for (std::size_t n : {0u, 1u, 2u, 7u, 30u}) {
    for (auto choose : {questions::shuffled_flags(a), questions::partial_shuffle(b)}) {
      const auto f = choose(n, n / 2);
      ASSERT_EQ(f.size(), n);
      EXPECT_EQ(static_cast<std::size_t>(std::count(f.begin(), f.end(), 1)), n / 2);
    }
  }
  // split_data.py's draw: k ones, then a Fisher-Yates shuffle of the flags.
  Rng r1(9), r2(9);
  std::vector<char> expect(10, 0);
  for (int i = 0; i < 5; ++i) expect[i] = 1;
  r2.shuffle(expect);
  EXPECT_EQ(questions::shuffled_flags(r1)(10, 5), expect);
}

// The exact draws of the code before the questions module (generate's
// make_question and training's make_held_out): generated data and trained
// weights depend on them.
TEST(QuestionMask, DrawsMatchTheGeneratorAndHeldOutGoldens) {
  const auto p = playlist(1, 9, 5);
  generate::Rng rng(5);
  auto g = questions::mask(
      p, QuestionType::SongsTags, questions::kReleasedMasking,
      questions::partial_shuffle([&rng](std::uint64_t n) { return rng.below(static_cast<std::uint32_t>(n)); }));
  EXPECT_EQ(g.question.songs, (std::vector<arena::SongId>{100, 102, 105, 106, 108}));
  EXPECT_EQ(g.answer.songs, (std::vector<arena::SongId>{101, 103, 104, 107}));
  EXPECT_EQ(g.question.tags, (std::vector<std::string>{"a", "c", "e"}));
  EXPECT_EQ(g.answer.tags, (std::vector<std::string>{"b", "d"}));
  auto h = questions::held_out_question(p, 7, 3);
  EXPECT_EQ(h.question.songs, (std::vector<arena::SongId>{100, 101, 104, 108}));
  EXPECT_EQ(h.answer.songs, (std::vector<arena::SongId>{102, 103, 105, 106, 107}));
  EXPECT_EQ(h.question.tags, (std::vector<std::string>{"a", "e"}));
  EXPECT_EQ(h.answer.tags, (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(h.answer.id, p.id);
}

TEST(HeldOutQuestions, TypeByPositionIsTheOfficialMix) {
  int count[4] = {};
  for (int j = 0; j < 40; ++j) ++count[static_cast<int>(questions::held_out_type(j))];
  EXPECT_EQ(count[0], 12);  // 30%
  EXPECT_EQ(count[1], 20);  // 50%
  EXPECT_EQ(count[2], 6);   // 15%
  EXPECT_EQ(count[3], 2);   // 5%
  EXPECT_EQ(questions::held_out_type(5), QuestionType::SongsOnly);
  EXPECT_EQ(questions::held_out_type(6), QuestionType::SongsTags);
  EXPECT_EQ(questions::held_out_type(16), QuestionType::TagsOnly);
  EXPECT_EQ(questions::held_out_type(39), QuestionType::TitleOnly);
}

TEST(HeldOutQuestions, ReformThePlaylistWithTheOfficialRounding) {
  const auto p = playlist(5, 9, 5);
  for (int pos = 0; pos < 20; ++pos) {
    auto h = questions::held_out_question(p, pos, 1);
    EXPECT_EQ(questions::question_type(h.question), questions::held_out_type(pos));
    if (questions::shows_songs(questions::held_out_type(pos))) {
      EXPECT_EQ(h.question.songs.size(), 4u);
      expect_reforms(p.songs, h.question.songs, h.answer.songs);
    } else {
      EXPECT_EQ(h.answer.songs, p.songs);
    }
    if (questions::shows_tags(questions::held_out_type(pos))) {
      EXPECT_EQ(h.question.tags.size(), 2u);
      expect_reforms(p.tags, h.question.tags, h.answer.tags);
    }
    EXPECT_EQ(h.question.title, p.title);
  }
}

TEST(HeldOutSelection, AThirdAtMostAscendingAndKeyedByWhoDraws) {
  const auto t = questions::held_out_indices(100, 1000, 1, questions::HeldOutDraw::Training);
  ASSERT_EQ(t.size(), 33u);  // capped at n / 3
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  EXPECT_EQ(std::set<std::size_t>(t.begin(), t.end()).size(), t.size());
  EXPECT_LT(t.back(), 100u);
  EXPECT_EQ(questions::held_out_indices(100, 7, 1, questions::HeldOutDraw::Training).size(), 7u);
  EXPECT_TRUE(questions::held_out_indices(100, 0, 1, questions::HeldOutDraw::Training).empty());
  EXPECT_TRUE(questions::held_out_indices(100, -3, 1, questions::HeldOutDraw::Training).empty());
  EXPECT_EQ(t, questions::held_out_indices(100, 1000, 1, questions::HeldOutDraw::Training));
  EXPECT_NE(t, questions::held_out_indices(100, 1000, 1, questions::HeldOutDraw::Rerank));
  EXPECT_NE(t, questions::held_out_indices(100, 1000, 2, questions::HeldOutDraw::Training));
  // Pinned: the slices trained checkpoints record.
  EXPECT_EQ(questions::held_out_indices(50, 10, 1, questions::HeldOutDraw::Training),
            (std::vector<std::size_t>{5, 9, 10, 12, 13, 14, 15, 21, 39, 47}));
  EXPECT_EQ(questions::held_out_indices(50, 10, 1, questions::HeldOutDraw::Rerank),
            (std::vector<std::size_t>{0, 1, 4, 7, 13, 27, 28, 29, 32, 37}));
}

#include <gtest/gtest.h>

#include <set>

#include "melon/split/split.hpp"

using namespace melon;

namespace {
std::vector<arena::Playlist> make_playlists(int n) {
  std::vector<arena::Playlist> v;
  for (int i = 0; i < n; ++i) {
    arena::Playlist p;
    p.id = 1000 + i;
    p.title = "title " + std::to_string(i);
    int len = 1 + (i * 37) % 150;
    for (int s = 0; s < len; ++s) p.songs.push_back(i * 200 + s);
    int ntags = 1 + i % 7;
    for (int t = 0; t < ntags; ++t) p.tags.push_back("tag" + std::to_string((i + t) % 50));
    p.updt_date = "2018-01-01 00:00:00.000";
    v.push_back(p);
  }
  return v;
}
}  // namespace

TEST(Split, KeepsEightyPercentAndTypesByPosition) {
  auto s = split::official_split(make_playlists(1000), 1);
  EXPECT_EQ(s.train.size(), 800u);
  ASSERT_EQ(s.questions.size(), 200u);
  // 30/50/15/5 of 200 = 60/100/30/10 by position.
  for (int i = 0; i < 200; ++i) {
    const auto& q = s.questions[i];
    if (i < 60) {
      EXPECT_TRUE(q.tags.empty());
    } else if (i < 160) {
      EXPECT_EQ(q.tags.size(), s.answers[i].tags.size() + q.tags.size() - s.answers[i].tags.size());
    } else if (i < 190) {
      EXPECT_TRUE(q.songs.empty());
    } else {
      EXPECT_TRUE(q.songs.empty() && q.tags.empty());
      EXPECT_FALSE(q.title.empty());
    }
  }
}

TEST(Split, MaskShowsHalfRoundedDownAndAnswersTheRest) {
  auto orig = make_playlists(1000);
  std::map<std::int64_t, arena::Playlist> by_id;
  for (auto& p : orig) by_id[p.id] = p;
  auto s = split::official_split(orig, 2);
  for (std::size_t i = 0; i < s.questions.size(); ++i) {
    const auto &q = s.questions[i], &a = s.answers[i], &o = by_id.at(q.id);
    EXPECT_EQ(q.id, a.id);
    std::set<arena::SongId> qs(q.songs.begin(), q.songs.end());
    for (auto x : a.songs) EXPECT_FALSE(qs.count(x)) << "answer song in question";
    std::set<std::string> qt(q.tags.begin(), q.tags.end());
    for (auto& x : a.tags) EXPECT_FALSE(qt.count(x)) << "answer tag in question";
    if (i < 160) {  // songs masked
      EXPECT_EQ(q.songs.size(), o.songs.size() / 2);
      EXPECT_EQ(a.songs.size(), o.songs.size() - o.songs.size() / 2);
    } else {  // songs removed: answer is the first 100
      EXPECT_EQ(a.songs.size(), std::min<std::size_t>(100, o.songs.size()));
      EXPECT_TRUE(std::equal(a.songs.begin(), a.songs.end(), o.songs.begin()));
    }
    if (i < 60 || i >= 190) {
      EXPECT_EQ(a.tags.size(), std::min<std::size_t>(10, o.tags.size()));
    }
    EXPECT_FALSE(a.songs.empty());
    EXPECT_FALSE(a.tags.empty());
  }
}

TEST(Split, SameSeedSameSplitDifferentSeedDiffers) {
  auto a = split::official_split(make_playlists(300), 5), b = split::official_split(make_playlists(300), 5),
       c = split::official_split(make_playlists(300), 6);
  ASSERT_EQ(a.questions.size(), b.questions.size());
  bool same_ac = true;
  for (std::size_t i = 0; i < a.questions.size(); ++i) {
    EXPECT_EQ(a.questions[i].id, b.questions[i].id);
    EXPECT_EQ(a.questions[i].songs, b.questions[i].songs);
    same_ac = same_ac && a.questions[i].id == c.questions[i].id;
  }
  EXPECT_FALSE(same_ac);
}

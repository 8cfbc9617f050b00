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

// The exact draws of split_data.py's masking as melon split made them before
// the questions module: the demo's split files depend on them.
TEST(Split, DrawsArePinned) {
  std::vector<arena::Playlist> all;
  for (int id = 1; id <= 50; ++id) {
    arena::Playlist p;
    p.id = id;
    p.title = "t" + std::to_string(id);
    for (int i = 0; i < 2 + id % 7; ++i) p.songs.push_back(id * 100 + i);
    for (int i = 0; i < 1 + id % 4; ++i) p.tags.push_back(std::string(1, static_cast<char>('a' + i)));
    all.push_back(p);
  }
  struct Golden {
    std::int64_t id;
    std::vector<arena::SongId> q_songs;
    std::vector<std::string> q_tags;
    std::vector<arena::SongId> a_songs;
    std::vector<std::string> a_tags;
  };
  const std::vector<Golden> golden = {
      {31, {3103, 3104}, {}, {3100, 3101, 3102}, {"a", "b", "c", "d"}},
      {35, {3500}, {}, {3501}, {"a", "b", "c", "d"}},
      {6, {600, 601, 604, 605}, {}, {602, 603, 606, 607}, {"a", "b", "c"}},
      {29, {2900}, {"b"}, {2901, 2902}, {"a"}},
      {12, {1200, 1201, 1203}, {}, {1202, 1204, 1205, 1206}, {"a"}},
      {19, {1901, 1902, 1903}, {"a", "c"}, {1900, 1904, 1905, 1906}, {"b", "d"}},
      {26, {2603, 2604, 2605}, {"b"}, {2600, 2601, 2602, 2606}, {"a", "c"}},
      {17, {1700, 1704}, {"a"}, {1701, 1702, 1703}, {"b"}},
      {47, {}, {"b", "c"}, {4700, 4701, 4702, 4703, 4704, 4705, 4706}, {"a", "d"}},
      {40, {}, {}, {4000, 4001, 4002, 4003, 4004, 4005, 4006}, {"a"}},
  };
  const auto s = split::official_split(all, 777);
  ASSERT_EQ(s.questions.size(), golden.size());
  for (std::size_t i = 0; i < golden.size(); ++i) {
    SCOPED_TRACE("question " + std::to_string(i));
    EXPECT_EQ(s.questions[i].id, golden[i].id);
    EXPECT_EQ(s.questions[i].songs, golden[i].q_songs);
    EXPECT_EQ(s.questions[i].tags, golden[i].q_tags);
    EXPECT_EQ(s.answers[i].songs, golden[i].a_songs);
    EXPECT_EQ(s.answers[i].tags, golden[i].a_tags);
  }
}

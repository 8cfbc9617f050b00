#include <gtest/gtest.h>

#include <set>

#include "melon/arena/rules.hpp"
#include "melon/error.hpp"
#include "melon/recommend/baseline.hpp"

using namespace melon;

namespace {
// Songs 0..199 are genre GN0100, 200..399 GN0200. Song popularity: lower id within a genre = more popular.
struct World {
  arena::SongMeta meta;
  std::vector<arena::Playlist> train;
  World() {
    for (int s = 0; s < 400; ++s) {
      arena::Song song;
      song.id = s;
      song.genres = {s < 200 ? "GN0100" : "GN0200"};
      meta.songs.push_back(song);
    }
    for (int p = 0; p < 300; ++p) {
      arena::Playlist pl;
      pl.id = p;
      int base = p % 3 == 0 ? 200 : 0;  // a third of playlists are GN0200
      for (int k = 0; k < 20 + p % 100; ++k) pl.songs.push_back(base + k);
      pl.tags = {p % 3 == 0 ? "dance" : "ballad", "t" + std::to_string(p % 12)};
      train.push_back(pl);
    }
  }
};
}  // namespace

TEST(Baseline, MostPopularIsGlobalOrderWithoutQuestionItems) {
  World w;
  arena::Playlist q;
  q.id = 9000;
  q.songs = {0, 1};
  q.tags = {"ballad"};
  auto r = recommend::run_baseline(recommend::BaselineMethod::MostPopular, w.train, {q}, &w.meta);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].songs.size(), 100u);
  ASSERT_EQ(r[0].tags.size(), 10u);
  EXPECT_EQ(r[0].songs[0], 2);  // songs 0, 1 are in the question; 2 is the next most popular
  EXPECT_EQ(r[0].tags[0], "dance");
  for (auto s : r[0].songs) EXPECT_TRUE(s != 0 && s != 1);
  EXPECT_EQ(std::set<arena::SongId>(r[0].songs.begin(), r[0].songs.end()).size(), 100u);
}

TEST(Baseline, GenreMostPopularFollowsTheQuestionsMajorGenre) {
  World w;
  arena::Playlist q;
  q.id = 9001;
  q.songs = {200, 201, 5};  // mostly GN0200
  auto r = recommend::run_baseline(recommend::BaselineMethod::GenreMostPopular, w.train, {q}, &w.meta);
  ASSERT_EQ(r[0].songs.size(), 100u);
  EXPECT_EQ(r[0].songs[0], 202);
  for (int i = 0; i < 50; ++i) EXPECT_GE(r[0].songs[i], 200) << "position " << i;
  EXPECT_EQ(std::set<arena::SongId>(r[0].songs.begin(), r[0].songs.end()).size(), 100u);
}

TEST(Baseline, QuestionsWithoutSongsFallBackToGlobalPopularity) {
  World w;
  arena::Playlist q;
  q.id = 9002;
  q.title = "only a title";
  auto g = recommend::run_baseline(recommend::BaselineMethod::GenreMostPopular, w.train, {q}, &w.meta);
  auto m = recommend::run_baseline(recommend::BaselineMethod::MostPopular, w.train, {q}, &w.meta);
  EXPECT_EQ(g[0].songs, m[0].songs);
  EXPECT_EQ(g[0].tags, m[0].tags);
}

TEST(Baseline, FillFromSkipsExcludedAndRepeatedItems) {
  std::vector<arena::SongId> out{7};
  arena::fill_from(out, {7, 1, 2, 3, 2, 4}, {3}, 4);
  EXPECT_EQ(out, (std::vector<arena::SongId>{7, 1, 2, 4}));
}

TEST(Baseline, TooLittleTrainingDataIsAClearError) {
  arena::SongMeta meta;
  for (int s = 0; s < 5; ++s) {
    arena::Song song;
    song.id = s;
    meta.songs.push_back(song);
  }
  std::vector<arena::Playlist> train{{1, "", {0, 1, 2}, {"a"}, 0, "2020-01-01"}};
  arena::Playlist q{2, "", {}, {}, 0, "2020-01-01"};
  EXPECT_THROW(recommend::run_baseline(recommend::BaselineMethod::MostPopular, train, {q}, &meta), Error);
}

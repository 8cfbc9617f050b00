// The item-to-item term's neighbours (ae/neighbours.hpp) against values worked
// out by hand from five playlists, and its feature for a shard's songs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "melon/ae/neighbours.hpp"
#include "melon/error.hpp"

using namespace melon;
using namespace melon::ae;

namespace {

std::vector<Encoded> five_playlists() {
  std::vector<Encoded> pl(5);
  pl[0].songs = {0, 1, 3};
  pl[1].songs = {3, 4, 5, 3};   // a repeat counts once
  pl[2].songs = {0, 5, 6, -1};  // -1: outside the vocabulary, skipped
  pl[3].songs = {1, 2, 4, 6};
  pl[4].songs = {2, 3, 6};
  return pl;
}

}  // namespace

TEST(Neighbours, KeepsTheKLargestCosinesOfTheCoOccurrenceCountsTiesToTheLowerSong) {
  util::ThreadPool pool(2);
  const auto nb = build_neighbours(five_playlists(), 8, 3, 1.5, pool);
  ASSERT_EQ(nb.ptr.size(), 9u);
  // Song 6 (3 playlists) meets song 2 (2 playlists) twice: 2 / sqrt(3 * 2);
  // songs 0, 1, 4, 5 (2 playlists) once: 1 / sqrt(6); song 3 (3) once: 1 / 3.
  ASSERT_EQ(nb.ptr[7] - nb.ptr[6], 3);
  const auto e6 = nb.ptr[6];
  EXPECT_EQ(nb.idx[e6], 2);
  EXPECT_EQ(nb.idx[e6 + 1], 0);
  EXPECT_EQ(nb.idx[e6 + 2], 1);
  EXPECT_NEAR(nb.w[e6], 2 / std::sqrt(6.0), 1e-6);
  EXPECT_NEAR(nb.w[e6 + 1], 1 / std::sqrt(6.0), 1e-6);
  // Song 3: five songs at 1 / sqrt(6) and song 6 at 1 / 3: the three lowest of the five.
  const auto e3 = nb.ptr[3];
  EXPECT_EQ(nb.idx[e3], 0);
  EXPECT_EQ(nb.idx[e3 + 1], 1);
  EXPECT_EQ(nb.idx[e3 + 2], 2);
  // Song 7 is in no playlist: no neighbours.
  EXPECT_EQ(nb.ptr[8], nb.ptr[7]);
  double sum = 0;
  for (auto w : nb.w) sum += w;
  EXPECT_NEAR(nb.tau, sum / static_cast<double>(nb.w.size()), 1e-12);
  // The same for any thread count.
  util::ThreadPool one(1);
  const auto again = build_neighbours(five_playlists(), 8, 3, 1.5, one);
  EXPECT_EQ(again.idx, nb.idx);
  EXPECT_EQ(again.w, nb.w);
}

TEST(Neighbours, FeatureIsTheGainTimesLogOfOnePlusTheSummedWeightsOverTau) {
  util::ThreadPool pool(1);
  const auto nb = build_neighbours(five_playlists(), 8, 3, 1.5, pool);
  const std::int32_t shown[] = {3, 6};
  const auto f = [&](double sum) { return 1.5 * std::log1p(sum / nb.tau); };
  std::vector<float> scratch(8, 0.0f);
  std::vector<std::pair<std::int32_t, float>> out;
  neighbour_features(nb, shown, 2, 0, 8, scratch, out);
  // 3 reaches 0, 1, 2 at 1/sqrt(6); 6 reaches 2 at 2/sqrt(6) and 0, 1 at 1/sqrt(6).
  ASSERT_EQ(out.size(), 3u);
  const double r6 = 1 / std::sqrt(6.0);
  EXPECT_EQ(out[0].first, 0);
  EXPECT_NEAR(out[0].second, f(2 * r6), 1e-5);
  EXPECT_EQ(out[1].first, 1);
  EXPECT_NEAR(out[1].second, f(2 * r6), 1e-5);
  EXPECT_EQ(out[2].first, 2);
  EXPECT_NEAR(out[2].second, f(3 * r6), 1e-5);
  for (auto v : scratch) EXPECT_EQ(v, 0.0f);
  // A shard of songs [1, 3): its columns only, counted from its first song.
  std::vector<float> part(2, 0.0f);
  neighbour_features(nb, shown, 2, 1, 3, part, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, 0);
  EXPECT_NEAR(out[0].second, f(2 * r6), 1e-5);
  EXPECT_EQ(out[1].first, 1);
  EXPECT_NEAR(out[1].second, f(3 * r6), 1e-5);
}

TEST(Neighbours, NoneAskedGivesAnEmptyTermAndBadSettingsAreRefused) {
  util::ThreadPool pool(1);
  EXPECT_TRUE(build_neighbours(five_playlists(), 8, 0, 1, pool).empty());
  EXPECT_THROW(build_neighbours(five_playlists(), 8, -1, 1, pool), Error);
  EXPECT_THROW(build_neighbours(five_playlists(), 8, 3, 0, pool), Error);
}

// A training playlist's own part of the counts left out: with every
// co-occurring song kept (k = 8), the features equal those of neighbours
// counted over the other four playlists (on the same tau), for each playlist
// and for a shard's columns; playlist counts travel with the neighbours.
TEST(Neighbours, OwnPlaylistOutEqualsCountingWithoutThatPlaylist) {
  util::ThreadPool pool(1);
  const auto all = five_playlists();
  const auto nb = build_neighbours(all, 8, 8, 1.5, pool);
  EXPECT_EQ(nb.count, (std::vector<std::int32_t>{2, 2, 2, 3, 2, 2, 3, 0}));
  using Features = std::vector<std::pair<std::int32_t, float>>;
  for (std::size_t p = 0; p < all.size(); ++p) {
    auto rest = all;
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(p));
    auto without = build_neighbours(rest, 8, 8, 1.5, pool);
    without.tau = nb.tau;
    std::vector<std::int32_t> own;
    for (auto s : all[p].songs)
      if (s >= 0) own.push_back(s);
    std::sort(own.begin(), own.end());
    own.erase(std::unique(own.begin(), own.end()), own.end());
    const std::vector<std::int32_t> shown(own.begin(), own.begin() + 2);
    for (auto [s0, s1] : {std::pair{0, 8}, std::pair{2, 6}}) {
      std::vector<float> scratch(static_cast<std::size_t>(s1 - s0), 0.0f);
      Features got, want;
      neighbour_features_own_out(nb, shown.data(), 2, own, s0, s1, scratch, got);
      neighbour_features(without, shown.data(), 2, s0, s1, scratch, want);
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      ASSERT_EQ(got.size(), want.size()) << "playlist " << p << " songs [" << s0 << ", " << s1 << ")";
      for (std::size_t e = 0; e < got.size(); ++e) {
        EXPECT_EQ(got[e].first, want[e].first) << "playlist " << p;
        EXPECT_NEAR(got[e].second, want[e].second, 1e-5) << "playlist " << p << " song " << got[e].first;
      }
      for (auto v : scratch) EXPECT_EQ(v, 0.0f);
    }
    // Left out, the term differs from the whole counts' (the playlist's own pairs are gone).
    std::vector<float> scratch(8, 0.0f);
    Features whole, out;
    neighbour_features(nb, shown.data(), 2, 0, 8, scratch, whole);
    neighbour_features_own_out(nb, shown.data(), 2, own, 0, 8, scratch, out);
    EXPECT_NE(whole, out) << "playlist " << p;
  }
}

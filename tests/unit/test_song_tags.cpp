// Tags read through songs (ae/song_tags.hpp): the table against counts worked
// out by hand, the scores a question's songs give, and the fusion with the
// tag head's list.
#include <gtest/gtest.h>

#include <cmath>

#include "melon/ae/song_tags.hpp"
#include "melon/error.hpp"

using namespace melon;
using namespace melon::ae;

namespace {

std::vector<Encoded> four_playlists() {
  std::vector<Encoded> pl(4);
  pl[0].songs = {0, 1}, pl[0].tags = {0, 2};
  pl[1].songs = {0, 2, 0}, pl[1].tags = {2, 2};  // repeats count once
  pl[2].songs = {0, -1}, pl[2].tags = {1, -1};   // -1: outside the vocabulary, skipped
  pl[3].songs = {1, 3}, pl[3].tags = {};         // no tags: counts its songs' playlists only
  return pl;
}

}  // namespace

TEST(SongTags, HoldsEachSongsTagSharesOfItsPlaylistsLargestFirstTiesToTheLowerTag) {
  const auto st = build_song_tags(four_playlists(), 5, 3);
  ASSERT_EQ(st.ptr.size(), 6u);
  // Song 0: 3 playlists; tag 2 in two of them, tags 0 and 1 in one each.
  ASSERT_EQ(st.ptr[1] - st.ptr[0], 3);
  EXPECT_EQ(st.idx[0], 2);
  EXPECT_FLOAT_EQ(st.w[0], 2.0f / 3);
  EXPECT_EQ(st.idx[1], 0);
  EXPECT_EQ(st.idx[2], 1);
  EXPECT_FLOAT_EQ(st.w[1], 1.0f / 3);
  // Song 1: 2 playlists (one without tags); tags 0 and 2 in one each.
  ASSERT_EQ(st.ptr[2] - st.ptr[1], 2);
  EXPECT_EQ(st.idx[st.ptr[1]], 0);
  EXPECT_FLOAT_EQ(st.w[st.ptr[1]], 0.5f);
  // Song 3 is only in the playlist without tags, song 4 in none.
  EXPECT_EQ(st.ptr[4], st.ptr[3]);
  EXPECT_EQ(st.ptr[5], st.ptr[4]);
}

TEST(SongTags, KeepsAtMostTheCapOfTagsASong) {
  std::vector<Encoded> pl(1);
  pl[0].songs = {0};
  for (int t = 0; t < kSongTagsPerSong + 10; ++t) pl[0].tags.push_back(t);
  const auto st = build_song_tags(pl, 1, kSongTagsPerSong + 10);
  ASSERT_EQ(st.ptr[1], kSongTagsPerSong);
  EXPECT_EQ(st.idx.back(), kSongTagsPerSong - 1);  // equal shares: the lowest tags
}

TEST(SongTags, ScoresSumTheSongsWeightedSharesSkipTheQuestionsOwnTagsAndLeaveScratchZero) {
  const auto st = build_song_tags(four_playlists(), 5, 3);
  std::vector<float> scratch(3, 0.0f);
  // Song 0 at weight 1 and song 1 at weight 0.5: tag 2 gets 2/3 + 0.5 * 1/2,
  // tag 0 gets 1/3 + 0.5 * 1/2, tag 1 gets 1/3.
  auto out = song_tag_scores(st, {{0, 1.0f}, {1, 0.5f}}, {}, 10, scratch);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].second, 2);
  EXPECT_NEAR(out[0].first, 2.0 / 3 + 0.25, 1e-6);
  EXPECT_EQ(out[1].second, 0);
  EXPECT_NEAR(out[1].first, 1.0 / 3 + 0.25, 1e-6);
  EXPECT_EQ(out[2].second, 1);
  for (float x : scratch) EXPECT_EQ(x, 0.0f);
  // The question's own tag 2 is skipped; n cuts the list.
  out = song_tag_scores(st, {{0, 1.0f}, {1, 0.5f}}, {2}, 1, scratch);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second, 0);
  for (float x : scratch) EXPECT_EQ(x, 0.0f);
}

TEST(SongTags, FusionAtMixOneKeepsTheHeadsOrderAndAtZeroTheSongsOrderThenTheHeads) {
  const std::vector<std::int32_t> head{5, 1, 7, 3}, songs{3, 9, 5};
  auto ids = [](const std::vector<std::pair<float, std::int32_t>>& v) {
    std::vector<std::int32_t> o;
    for (auto& [s, t] : v) o.push_back(t);
    return o;
  };
  EXPECT_EQ(ids(fuse_tags(head, songs, 1.0, 4)), head);
  // Mix 0: the songs' list, then the head's other tags in the head's order.
  EXPECT_EQ(ids(fuse_tags(head, songs, 0.0, 5)), (std::vector<std::int32_t>{3, 9, 5, 1, 7}));
  // Mix 0.5: 5 gets 1/5 + 1/7, 3 gets 1/8 + 1/5, 1 gets 1/6, 9 gets 1/6
  // (a tie: the head's tag first), 7 gets 1/7.
  const auto half = fuse_tags(head, songs, 0.5, 10);
  EXPECT_EQ(ids(half), (std::vector<std::int32_t>{5, 3, 1, 9, 7}));
  EXPECT_NEAR(half[0].first, 0.5 / 5 + 0.5 / 7, 1e-6);
  EXPECT_THROW(fuse_tags(head, songs, 1.5, 3), Error);
}

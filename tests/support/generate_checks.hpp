#pragma once
// Checks shared by the generator families' tests (test_generate.cpp,
// test_generate_walk.cpp): both must land within the same tolerances of the
// real figures at the small size the tests generate.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace melon::test_support {

// calibration.json of an 800-playlist, 8,000-song dataset against arena.md's figures.
inline void expect_calibration_near_real(const nlohmann::json& j) {
  auto g = [&](const char* key) { return j.at("figures").at(key).at("generated").get<double>(); };
  EXPECT_LE(g("len_min"), 3);  // 1 at full size; ~0.2% of playlists have one song
  EXPECT_EQ(g("len_max"), 200);
  EXPECT_GE(g("len_median"), 25);
  EXPECT_LE(g("len_median"), 36);
  EXPECT_GE(g("len_q1"), 15);
  EXPECT_LE(g("len_q3"), 62);
  EXPECT_NEAR(g("len_mean"), 45.9, 6);
  EXPECT_GE(g("tags_mean"), 3.5);
  EXPECT_LE(g("tags_mean"), 4.8);
  EXPECT_EQ(g("tags_median"), 3);
  EXPECT_LE(g("tags_max"), 11);
  EXPECT_NEAR(g("songs_1_major"), 0.867, 0.03);
  EXPECT_NEAR(g("songs_2_majors"), 0.131, 0.03);
  EXPECT_LT(g("dup_title_share"), 0.06);
  EXPECT_GT(g("used_once_share"), 0.2);
  EXPECT_LT(g("used_once_share"), 0.7);
  EXPECT_GT(g("majors_per_playlist"), 3);
  EXPECT_LT(g("majors_per_playlist"), 10);
  EXPECT_LT(g("after_date_share"), 0.05);
}

}  // namespace melon::test_support

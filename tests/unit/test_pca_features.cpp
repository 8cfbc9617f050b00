// Spectrogram -> feature row (src/pca/features.cpp) and song lists / sharding (src/pca/shard.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>

#include "melon/error.hpp"
#include "melon/pca/features.hpp"
#include "melon/pca/shard.hpp"
#include "melon/pca/source.hpp"

namespace {

using melon::mel::Mel;
using melon::pca::FeatureSpec;

Mel ramp(int frames) {
  Mel m;
  m.frames = frames;
  m.data.resize(static_cast<std::size_t>(m.bands) * frames);
  for (int b = 0; b < m.bands; ++b)
    for (int t = 0; t < frames; ++t) m.data[static_cast<std::size_t>(b) * frames + t] = b * 1000.0f + t;
  return m;
}

TEST(PcaFeatures, Pool1LogOffIsTheFlattenedArray) {
  FeatureSpec s;  // frames 1876, pool 1, log off
  ASSERT_EQ(melon::pca::feature_dim(s), 48 * 1876);
  Mel m = ramp(1876);
  std::vector<float> row(melon::pca::feature_dim(s));
  auto info = melon::pca::make_features(m, s, row.data());
  EXPECT_EQ(info.nonfinite, 0);
  EXPECT_FALSE(info.padded);
  EXPECT_EQ(0, std::memcmp(row.data(), m.data.data(), row.size() * sizeof(float)));
}

TEST(PcaFeatures, PoolingMeansWindowsAndTheLastWindowAveragesWhatItHas) {
  FeatureSpec s;
  s.frames = 10;
  s.pool = 4;  // windows [0,4) [4,8) [8,10)
  ASSERT_EQ(melon::pca::feature_windows(s), 3);
  Mel m = ramp(10);
  std::vector<float> row(melon::pca::feature_dim(s));
  melon::pca::make_features(m, s, row.data());
  EXPECT_FLOAT_EQ(row[0], 1.5f);
  EXPECT_FLOAT_EQ(row[1], 5.5f);
  EXPECT_FLOAT_EQ(row[2], 8.5f);
  EXPECT_FLOAT_EQ(row[3 * 7 + 1], 7000 + 5.5f);  // band-major
}

// Pooled rows are defined from the pool-1 row (frames after replacement, log
// and padding): window j is the float sum of its frames, left to right from 0,
// over their count. Every path (vector groups of 16 windows, the scalar tail,
// straight from the file or from the scratch band) must give those bits.
TEST(PcaFeatures, PooledWindowsAreTheLeftToRightFloatMeansOfThePool1RowBitForBit) {
  const float inf = std::numeric_limits<float>::infinity();
  for (int frames : {1876, 100, 37})
    for (int extra : {0, 5, -3})
      for (bool log : {false, true}) {
        Mel m = ramp(frames + extra);
        for (std::size_t i = 0; i < m.data.size(); ++i) m.data[i] = std::sin(0.37f * i) * 40.0f + (i % 7) * 0.1f;
        m.data[3] = -inf;
        m.data[m.data.size() / 2] = std::numeric_limits<float>::quiet_NaN();
        m.data[m.data.size() - 1] = inf;
        FeatureSpec s1;
        s1.frames = frames;
        s1.log = log;
        s1.nonfinite_value = -2.5f;
        std::vector<float> raw(melon::pca::feature_dim(s1));
        const auto raw_info = melon::pca::make_features(m, s1, raw.data());
        for (int pool : {2, 3, 4, 7, 8, 16, 31, 32, 33, frames}) {
          if (pool > frames) continue;
          FeatureSpec s = s1;
          s.pool = pool;
          const int W = melon::pca::feature_windows(s);
          std::vector<float> row(melon::pca::feature_dim(s));
          const auto info = melon::pca::make_features(m, s, row.data());
          EXPECT_EQ(info.nonfinite, raw_info.nonfinite);
          std::vector<float> want(row.size());
          for (int b = 0; b < 48; ++b)
            for (int j = 0; j < W; ++j) {
              const int t0 = j * pool, t1 = std::min(frames, t0 + pool);
              float acc = 0;
              for (int t = t0; t < t1; ++t) acc += raw[static_cast<std::size_t>(b) * frames + t];
              want[static_cast<std::size_t>(b) * W + j] = acc / static_cast<float>(t1 - t0);
            }
          EXPECT_EQ(0, std::memcmp(row.data(), want.data(), row.size() * sizeof(float)))
              << "frames " << frames << " length " << frames + extra << " log " << log << " pool " << pool;
        }
      }
}

TEST(PcaFeatures, NonFiniteValuesAreReplacedAndCounted) {
  FeatureSpec s;
  s.frames = 4;
  s.nonfinite_value = -7;
  Mel m = ramp(4);
  m.data[1] = -std::numeric_limits<float>::infinity();
  m.data[5] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> row(melon::pca::feature_dim(s));
  auto info = melon::pca::make_features(m, s, row.data());
  EXPECT_EQ(info.nonfinite, 2);
  EXPECT_EQ(row[1], -7.0f);
  EXPECT_EQ(row[5], -7.0f);
  for (float x : row) EXPECT_TRUE(std::isfinite(x));
}

TEST(PcaFeatures, ShortSongsArePaddedWithTheBandMeanLongOnesCut) {
  FeatureSpec s;
  s.frames = 6;
  Mel m = ramp(3);  // band b: b*1000 + {0,1,2}, mean b*1000 + 1
  std::vector<float> row(melon::pca::feature_dim(s));
  auto info = melon::pca::make_features(m, s, row.data());
  EXPECT_TRUE(info.padded);
  EXPECT_FLOAT_EQ(row[6 * 2 + 4], 2001.0f);
  EXPECT_FLOAT_EQ(row[6 * 2 + 2], 2002.0f);
  Mel longer = ramp(9);
  info = melon::pca::make_features(longer, s, row.data());
  EXPECT_TRUE(info.truncated);
  EXPECT_FLOAT_EQ(row[6 * 1 + 5], 1005.0f);
}

TEST(PcaFeatures, LogCompressionIsSignedLog1p) {
  FeatureSpec s;
  s.frames = 2;
  s.log = true;
  Mel m = ramp(2);
  m.data[0] = -std::exp(2.0f) + 1;
  m.data[1] = 0;
  std::vector<float> row(melon::pca::feature_dim(s));
  melon::pca::make_features(m, s, row.data());
  EXPECT_NEAR(row[0], -2.0f, 1e-5);
  EXPECT_EQ(row[1], 0.0f);
  EXPECT_NEAR(row[2], std::log1p(1000.0f), 1e-4);
}

TEST(PcaFeatures, FastLogMatchesLibmLog1pWithin3Ulp) {
  FeatureSpec s;
  s.frames = 4000;
  s.log = true;
  Mel m;
  m.frames = 4000;
  m.data.resize(48 * 4000);
  for (std::size_t i = 0; i < m.data.size(); ++i) {
    double e = -30.0 + 60.0 * static_cast<double>(i % 4000) / 4000;  // |x| from 1e-13 to 1e13
    m.data[i] = static_cast<float>((i % 3 == 0 ? -1 : 1) * std::pow(10.0, e / 2.3));
  }
  m.data[7] = 0.0f;
  std::vector<float> row(melon::pca::feature_dim(s));
  melon::pca::make_features(m, s, row.data());
  double worst = 0;
  for (std::size_t i = 0; i < row.size(); ++i) {
    double want = std::copysign(std::log1p(std::fabs(static_cast<double>(m.data[i]))), m.data[i]);
    double err = std::fabs(row[i] - want) / std::max(std::fabs(want), 1e-30);
    worst = std::max(worst, err);
  }
  EXPECT_LT(worst, 3 * 5.97e-8) << "worst relative error";
  EXPECT_EQ(row[7], 0.0f);
}

TEST(PcaFeatures, BadShapesAreErrorsNamingTheSong) {
  FeatureSpec s;
  Mel m = ramp(10);
  m.bands = 40;
  std::vector<float> row(melon::pca::feature_dim(s));
  try {
    melon::pca::make_features(m, s, row.data(), "song 17");
    FAIL();
  } catch (const melon::Error& e) {
    EXPECT_NE(std::string(e.what()).find("song 17"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("40 bands"), std::string::npos);
  }
  Mel empty;
  empty.frames = 0;
  EXPECT_THROW(melon::pca::make_features(empty, s, row.data()), melon::Error);
  FeatureSpec bad;
  bad.pool = 0;
  EXPECT_THROW(melon::pca::validate(bad), melon::Error);
}

TEST(PcaShard, PartitionIsContiguousCompleteAndByteBalanced) {
  std::vector<std::int64_t> costs;
  for (int i = 0; i < 1000; ++i) costs.push_back(i % 10 == 0 ? 100 : 1);  // every 10th song is big
  for (int parts : {1, 2, 3, 7}) {
    auto r = melon::pca::partition_by_cost(costs, parts);
    ASSERT_EQ(static_cast<int>(r.size()), parts);
    EXPECT_EQ(r.front().begin, 0);
    EXPECT_EQ(r.back().end, 1000);
    double total = std::accumulate(costs.begin(), costs.end(), 0.0);
    for (int p = 0; p < parts; ++p) {
      if (p > 0) {
        EXPECT_EQ(r[p].begin, r[p - 1].end);
      }
      double c = 0;
      for (auto i = r[p].begin; i < r[p].end; ++i) c += costs[i];
      EXPECT_NEAR(c, total / parts, 101) << "part " << p << " of " << parts;
    }
  }
}

TEST(PcaShard, MorePartsThanItemsLeavesEmptyParts) {
  auto r = melon::pca::partition_by_cost({5, 5}, 4);
  std::int64_t n = 0;
  int empty = 0;
  for (auto& x : r) {
    n += x.end - x.begin;
    empty += x.end == x.begin;
  }
  EXPECT_EQ(n, 2);
  EXPECT_EQ(empty, 2);
  auto z = melon::pca::partition_by_cost({0, 0, 0}, 2);  // no bytes at all: by count
  EXPECT_EQ(z[0].end - z[0].begin + z[1].end - z[1].begin, 3);
  EXPECT_TRUE(melon::pca::partition_by_cost({}, 3)[2].begin == 0);
}

TEST(PcaShard, SongListsFromRangesAndFiles) {
  auto r = melon::pca::parse_song_list("5-9");
  EXPECT_EQ(r, (std::vector<melon::arena::SongId>{5, 6, 7, 8, 9}));
  EXPECT_THROW(melon::pca::parse_song_list("9-5"), melon::Error);
  std::string path = ::testing::TempDir() + "melon_pca_songs_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream f(path);
    f << "# songs\n12\n3\n\n12  # again\n7\n";
  }
  std::int64_t dups = 0;
  EXPECT_EQ(melon::pca::parse_song_list(path, &dups), (std::vector<melon::arena::SongId>{3, 7, 12}));
  EXPECT_EQ(dups, 1);
  {
    std::ofstream f(path);
    f << "1\nabc\n";
  }
  try {
    melon::pca::parse_song_list(path);
    FAIL();
  } catch (const melon::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  EXPECT_THROW(melon::pca::parse_song_list("/nonexistent/songs.txt"), melon::Error);
}

}  // namespace

namespace {
// Song 1: every value NaN or infinite; song 2: three of them, one in a frame
// past the 16 read; song 3: none.
class NonFiniteSource : public melon::pca::MelSource {
 public:
  std::int64_t cost(melon::arena::SongId, std::string*) const override { return 1; }
  melon::mel::Mel load(melon::arena::SongId id) const override {
    melon::mel::Mel m;
    m.frames = 20;
    m.data.assign(static_cast<std::size_t>(melon::mel::kBands) * m.frames, 1.5f);
    if (id == 1)
      for (std::size_t i = 0; i < m.data.size(); ++i)
        m.data[i] = i % 2 ? std::numeric_limits<float>::quiet_NaN() : -std::numeric_limits<float>::infinity();
    if (id == 2) m.data[0] = m.data[19] = m.data[500] = std::numeric_limits<float>::infinity();
    return m;
  }
  std::vector<melon::arena::SongId> all_ids() const override { return {1, 2, 3}; }
  std::string describe() const override { return "test"; }
};
}  // namespace

TEST(PcaSongRows, ASongWithNoFiniteValueIsSkippedWithItsReasonOthersAreCounted) {
  NonFiniteSource src;
  melon::pca::FeatureSpec spec;
  spec.frames = 16;
  spec.pool = 4;
  melon::pca::SongRows rows(src, {1, 2, 3}, spec);
  std::vector<float> row(static_cast<std::size_t>(rows.dim()));
  auto all_bad = rows.row(0, row.data());
  EXPECT_FALSE(all_bad.ok);
  EXPECT_EQ(all_bad.reason, "non-finite values: all 768 values read are NaN or infinite");
  auto some_bad = rows.row(1, row.data());
  EXPECT_TRUE(some_bad.ok) << some_bad.reason;
  EXPECT_EQ(some_bad.nonfinite, 2);  // frame 19 is cut
  auto good = rows.row(2, row.data());
  EXPECT_TRUE(good.ok);
  EXPECT_EQ(good.nonfinite, 0);
}

// The walk family (`melon generate --model walk`): deterministic, calibrated to
// the same real figures as the taste family, honours --title-tag-rate, and is
// a structurally different process (playlists drift along a song graph).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/generate/generate.hpp"
#include "melon/generate/genres.hpp"
#include "melon/generate/walk.hpp"
#include "melon/generate/world.hpp"
#include "../support/generate_checks.hpp"

namespace {

namespace gen = melon::generate;
using melon::arena::Playlist;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string temp_dir(const std::string& tag) {
  std::string tmpl = ::testing::TempDir() + "melon_walk_" + tag + "_XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void remove_dir(const std::string& d) { std::system(("rm -rf '" + d + "'").c_str()); }

// The size the taste family's calibration test uses (test_generate.cpp).
gen::GenerateOptions small_options(const std::string& out, gen::Model model) {
  gen::GenerateOptions o;
  o.out = out;
  o.playlists = 800;
  o.songs = 8000;
  o.seed = 7;
  o.mel_mode = gen::MelMode::None;
  o.mel_songs = 0;
  o.model = model;
  o.quiet = true;
  return o;
}

// One dataset per family, same seed and size.
class GenerateWalkAndTaste : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (auto m : {gen::Model::Taste, gen::Model::Walk}) {
      dirs_[static_cast<int>(m)] = temp_dir(gen::model_name(m));
      gen::run_generate(small_options(dirs_[static_cast<int>(m)], m));
    }
  }
  static void TearDownTestSuite() {
    for (auto& d : dirs_) remove_dir(d);
  }
  static std::string path(gen::Model m, const std::string& rel) { return dirs_[static_cast<int>(m)] + "/" + rel; }
  static std::string dirs_[2];
};
std::string GenerateWalkAndTaste::dirs_[2];

// Among pairs of songs by different artists k positions apart in a playlist:
// the share whose first major genre agrees.
std::map<int, double> same_genre_by_distance(const std::vector<Playlist>& train, const melon::arena::SongMeta& meta) {
  std::map<int, std::pair<double, double>> acc;
  for (auto& p : train)
    for (std::size_t i = 0; i < p.songs.size(); ++i)
      for (int k : {1, 10}) {
        if (i + k >= p.songs.size()) continue;
        const auto &a = meta.songs[p.songs[i]], &b = meta.songs[p.songs[i + k]];
        if (a.artist_ids[0] == b.artist_ids[0]) continue;
        acc[k].first += a.genres[0] == b.genres[0];
        acc[k].second += 1;
      }
  std::map<int, double> out;
  for (auto& [k, v] : acc) out[k] = v.first / v.second;
  return out;
}

TEST_F(GenerateWalkAndTaste, WalkCalibrationIsNearTheRealShapesWithinTheTasteFamilysTolerances) {
  const auto j = nlohmann::json::parse(slurp(path(gen::Model::Walk, "calibration.json")));
  melon::test_support::expect_calibration_near_real(j);
  EXPECT_EQ(j.at("params").at("model").get<std::string>(), "walk");
  EXPECT_EQ(j.at("params").at("restart").get<double>(), gen::WalkKnobs{}.restart);
  // Both families write the same catalogue: only the playlists differ.
  EXPECT_EQ(slurp(path(gen::Model::Walk, "song_meta.json")), slurp(path(gen::Model::Taste, "song_meta.json")));
  EXPECT_NE(slurp(path(gen::Model::Walk, "train.json")), slurp(path(gen::Model::Taste, "train.json")));
}

TEST_F(GenerateWalkAndTaste, WalkPlaylistsDriftAlongTheGraphWhileTastePlaylistsDoNot) {
  // A walk's neighbours are graph neighbours (same genre, same era), so songs
  // next to each other agree far more than songs ten places apart; a taste
  // playlist draws every song around one point, so distance hardly matters.
  const auto meta = melon::arena::read_song_meta(path(gen::Model::Taste, "song_meta.json"));
  const auto walk = same_genre_by_distance(melon::arena::read_playlists(path(gen::Model::Walk, "train.json")), meta);
  const auto taste = same_genre_by_distance(melon::arena::read_playlists(path(gen::Model::Taste, "train.json")), meta);
  EXPECT_GT(walk.at(1) - walk.at(10), 0.25) << "walk: " << walk.at(1) << " adjacent vs " << walk.at(10) << " at 10";
  EXPECT_LT(std::abs(taste.at(1) - taste.at(10)), 0.1)
      << "taste: " << taste.at(1) << " adjacent vs " << taste.at(10) << " at 10";
}

TEST_F(GenerateWalkAndTaste, WalkTagsComeFromTheSongsGenres) {
  // A playlist tagged with a genre's word ("발라드") holds that genre's songs
  // far more often than playlists in general.
  const auto meta = melon::arena::read_song_meta(path(gen::Model::Walk, "song_meta.json"));
  const auto train = melon::arena::read_playlists(path(gen::Model::Walk, "train.json"));
  const auto& gt = gen::genre_table();
  double tagged_hits = 0, tagged_songs = 0, all_hits = 0, all_songs = 0;
  for (int g = 0; g < gen::kMajorGenres; ++g) {
    for (auto& p : train) {
      const bool tagged = std::find(p.tags.begin(), p.tags.end(), gt.tag_word[g]) != p.tags.end();
      for (auto s : p.songs) {
        const bool hit = meta.songs[s].genres[0] == gt.major_code[g];
        all_hits += hit;
        all_songs += 1;
        if (tagged) tagged_hits += hit, tagged_songs += 1;
      }
    }
  }
  ASSERT_GT(tagged_songs, 1000);
  EXPECT_GT(tagged_hits / tagged_songs, 3 * all_hits / all_songs);
}

TEST(GenerateWalk, SameSeedGivesByteIdenticalFilesAndAnotherSeedDiffers) {
  const std::string a = temp_dir("a"), b = temp_dir("b"), c = temp_dir("c");
  auto o = small_options(a, gen::Model::Walk);
  o.playlists = 300;
  o.songs = 3000;
  o.mel_mode = gen::MelMode::Used;
  o.mel_songs = 3;
  gen::run_generate(o);
  o.out = b;
  gen::run_generate(o);
  o.out = c;
  o.seed = 8;
  gen::run_generate(o);
  for (const char* f : {"train.json", "val.json", "test.json", "answers/val.json", "answers/test.json",
                        "calibration.json", "melon-dataset.done"})
    EXPECT_EQ(slurp(a + "/" + f), slurp(b + "/" + f)) << f << " differs for the same seed";
  for (const char* f : {"train.json", "val.json", "answers/test.json"})
    EXPECT_NE(slurp(a + "/" + f), slurp(c + "/" + f)) << f << " identical across seeds";
  for (auto& d : {a, b, c}) remove_dir(d);
}

TEST(GenerateWalk, GraphLinksEverySongWithPopularityAndNoEdgeLeadsToADeepCut) {
  const auto w = gen::build_world(3, 6000);
  gen::WalkGenerator walk(w, 200, 260, {}, {}, {});
  int linked = 0;
  for (std::int32_t s = 0; s < static_cast<std::int32_t>(w.slots.size()); ++s) {
    const auto e = walk.edges(s);
    if (w.slots[s].weight <= 0) {
      EXPECT_TRUE(e.empty()) << "deep cut " << s << " has edges";
      continue;
    }
    ASSERT_FALSE(e.empty()) << "song " << s << " has no edges";
    ++linked;
    for (auto t : e) {
      ASSERT_GE(t, 0);
      EXPECT_GT(w.slots[t].weight, 0) << "an edge leads to deep cut " << t;
    }
  }
  EXPECT_GT(linked, 1000);
}

TEST(GenerateWalk, ModelRejectsUnknownNamesNamingTheOption) {
  EXPECT_EQ(gen::parse_model("taste"), gen::Model::Taste);
  EXPECT_EQ(gen::parse_model("walk"), gen::Model::Walk);
  try {
    gen::parse_model("walks");
    FAIL() << "no error";
  } catch (const melon::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--model"), std::string::npos) << e.what();
  }
  auto o = small_options(temp_dir("bad"), gen::Model::Walk);
  o.walk.restart = 1.5;
  EXPECT_THROW(gen::run_generate(o), melon::Error);
  remove_dir(o.out);
}

// --title-tag-rate in the walk family: a title holds one of its playlist's
// tags exactly when the rate's coin says so (no one-word exception, no
// accidental tag words), so the share follows the rate closely.
TEST(GenerateWalk, TitleTagRateIsTheShareOfTitlesHoldingATag) {
  for (double rate : {0.0, 0.5, 1.0}) {
    const std::string d = temp_dir("ttr");
    auto o = small_options(d, gen::Model::Walk);
    o.playlists = 1500;
    o.songs = 4000;
    o.vocab.title_tag_rate = rate;
    gen::run_generate(o);
    const auto j = nlohmann::json::parse(slurp(d + "/calibration.json"));
    const double share = j.at("figures").at("title_tag_share").at("generated").get<double>();
    EXPECT_NEAR(share, rate, 0.04) << "rate " << rate;  // binomial sd at 1,500 titles: <= 0.013
    EXPECT_EQ(j.at("params").at("title_tag_rate").get<double>(), rate);
    remove_dir(d);
  }
}

}  // namespace

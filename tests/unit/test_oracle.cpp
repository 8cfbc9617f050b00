// melon oracle (generate/oracle.hpp, generate/taste_inference.cpp): the
// generator's hidden state read back, the chance of each song at a position,
// the posterior over hidden states, and the checks on what it is given.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/generate/generate.hpp"
#include "melon/generate/oracle.hpp"
#include "melon/generate/playlists.hpp"
#include "melon/generate/world.hpp"
#include "melon/mpi/mpi.hpp"

namespace {

namespace gen = melon::generate;

constexpr std::int64_t kPlaylists = 600;
constexpr std::int32_t kSongs = 6000;
constexpr std::uint64_t kSeed = 5;

std::string oracle_temp_dir(const std::string& tag) {
  std::string tmpl = ::testing::TempDir() + "melon_oracle_" + tag + "_XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

gen::GenerateOptions oracle_options(const std::string& out) {
  gen::GenerateOptions o;
  o.out = out;
  o.playlists = kPlaylists;
  o.songs = kSongs;
  o.seed = kSeed;
  o.mel_mode = gen::MelMode::None;
  o.mel_songs = 0;
  o.quiet = true;
  return o;
}

struct Catalogue {
  gen::SongWorld world = gen::build_world(kSeed, kSongs);
  gen::GenerateOptions o = oracle_options("unused");
  std::int64_t total = kPlaylists + gen::val_count(kPlaylists) + gen::test_count(kPlaylists);
};

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const melon::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// latent() must be the state next() draws its songs from: both come from one
// helper on the same stream, and next() reports the tastes it used.
TEST(Oracle, HiddenStateIsTheOneThePlaylistWasDrawnFrom) {
  Catalogue c;
  gen::PlaylistGenerator sampler(c.world, kPlaylists, c.total, c.o.playlist, c.o.vocab);
  const gen::PlaylistGenerator reader(c.world, kPlaylists, c.total, c.o.playlist, c.o.vocab);
  int mixed = 0;
  for (std::int64_t i = 0; i < 200; ++i) {
    const auto p = sampler.next(i, 1, 1);
    const auto h = reader.latent(i);
    ASSERT_EQ(h.taste[0], p.taste[0]) << "playlist " << i;
    ASSERT_EQ(h.taste[1], p.taste[1]) << "playlist " << i;
    ASSERT_EQ(h.n_focus, p.taste[1] >= 0 ? 2 : 1);
    mixed += h.n_focus == 2;
  }
  EXPECT_GT(mixed, 40);  // the default mix is 0.4
  EXPECT_LT(mixed, 120);
}

// One position draws one song (or a deep cut, which the chances leave out),
// so the chances over the catalogue sum to one less the deep-cut share, and
// a playlist's own songs are far likelier than the catalogue's average.
TEST(Oracle, ChancesOfOnePositionSumToOneLessDeepCutsAndFavourThePlaylistsSongs) {
  Catalogue c;
  gen::PlaylistGenerator g(c.world, kPlaylists, c.total, c.o.playlist, c.o.vocab);
  double own_ratio = 0;
  const int n = 50;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto p = g.next(i, 1, 1);
    const std::vector<gen::PlaylistGenerator::WeightedLatent> state{{g.latent(i), 1.0}};
    const auto e = g.expected_draws(state, {}, std::numeric_limits<std::int32_t>::max());
    double sum = 0;
    for (double x : e) sum += x;
    EXPECT_NEAR(sum, 1.0 - 0.048, 0.02) << "playlist " << i;
    double own = 0;
    for (auto id : p.playlist.songs) own += e[c.world.slot_of_id[id]];
    own_ratio += own / static_cast<double>(p.playlist.songs.size()) / (sum / kSongs);
  }
  EXPECT_GT(own_ratio / n, 20.0);
}

// Given half of a playlist's songs, the heaviest inferred state names one of
// the tastes the playlist was drawn from; given nothing, the weights are
// spread over many states. Weights sum to one either way.
TEST(Oracle, PosteriorFindsThePlaylistsTasteFromHalfItsSongs) {
  Catalogue c;
  gen::PlaylistGenerator g(c.world, kPlaylists, c.total, c.o.playlist, c.o.vocab);
  int found = 0, asked = 0;
  for (std::int64_t i = 0; i < 120; ++i) {
    const auto p = g.next(i, 1, 1);
    if (p.playlist.songs.size() < 8) continue;
    gen::PlaylistGenerator::Shown shown;
    for (std::size_t j = 0; j < p.playlist.songs.size() / 2; ++j)
      shown.slots.push_back(c.world.slot_of_id[p.playlist.songs[j]]);
    const auto states = g.infer_latent(shown, static_cast<std::uint64_t>(i));
    ASSERT_FALSE(states.empty());
    double sum = 0;
    for (const auto& s : states) sum += s.weight;
    EXPECT_NEAR(sum, 1.0, 1e-9);
    const int t = states.front().h.taste[0];
    found += t == p.taste[0] || t == p.taste[1];
    ++asked;
  }
  EXPECT_GT(asked, 60);
  EXPECT_GE(found, asked * 9 / 10) << found << " of " << asked;

  const auto blind = g.infer_latent({}, 1);
  EXPECT_GE(blind.size(), 20u);
  EXPECT_LT(blind.front().weight, 0.2);
}

// The same question and seed give the same states (the oracle's answers are
// a function of the dataset and the questions).
TEST(Oracle, SameQuestionGivesTheSameStates) {
  Catalogue c;
  gen::PlaylistGenerator g(c.world, kPlaylists, c.total, c.o.playlist, c.o.vocab);
  const auto p = g.next(0, 1, 1);
  gen::PlaylistGenerator::Shown shown;
  for (auto id : p.playlist.songs) shown.slots.push_back(c.world.slot_of_id[id]);
  shown.tags = p.playlist.tags;
  const auto a = g.infer_latent(shown, 9), b = g.infer_latent(shown, 9);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].weight, b[i].weight);
    EXPECT_EQ(a[i].h.taste[0], b[i].h.taste[0]);
    EXPECT_EQ(a[i].h.center[0][0], b[i].h.center[0][0]);
  }
}

// The oracle reads the settings from the folder's marker and answers every
// question with 100 songs and 10 tags, none shown; it refuses what has no
// hidden state it knows (the walk family, a marker from melon validate, a
// changed folder) and question ids the dataset never drew, naming them.
TEST(Oracle, AnswersTheDatasetsQuestionsAndRefusesWhatItCannotKnow) {
  const std::string dir = oracle_temp_dir("data");
  gen::run_generate(oracle_options(dir));
  const auto o = gen::generated_with(dir);
  EXPECT_EQ(o.seed, kSeed);
  EXPECT_EQ(o.playlists, kPlaylists);
  EXPECT_EQ(o.songs, kSongs);
  auto questions = melon::arena::read_playlists(dir + "/val.json");
  questions.resize(40);
  for (const auto knows : {gen::OracleKnows::Playlist, gen::OracleKnows::Catalogue}) {
    const auto answers = gen::oracle_answers(o, knows, questions, "val.json", melon::mpi::world());
    ASSERT_EQ(answers.size(), questions.size());
    for (std::size_t i = 0; i < answers.size(); ++i) {
      EXPECT_EQ(answers[i].id, questions[i].id);
      EXPECT_EQ(answers[i].songs.size(), 100u);
      EXPECT_EQ(answers[i].tags.size(), 10u);
      for (auto s : questions[i].songs) EXPECT_EQ(std::count(answers[i].songs.begin(), answers[i].songs.end(), s), 0);
      for (const auto& t : questions[i].tags)
        EXPECT_EQ(std::count(answers[i].tags.begin(), answers[i].tags.end(), t), 0);
    }
  }

  auto stranger = questions;
  stranger[3].id = 99999999;
  EXPECT_NE(error_text([&] {
              gen::oracle_answers(o, gen::OracleKnows::Catalogue, stranger, "q.json", melon::mpi::world());
            }).find("q.json: question 3 (id 99999999) is not a playlist of the generated dataset"),
            std::string::npos);
  EXPECT_THROW(gen::parse_oracle_knows("everything"), melon::Error);

  { std::ofstream(dir + "/val.json", std::ios::app) << " "; }
  EXPECT_NE(error_text([&] { gen::generated_with(dir); }).find("oracle: "), std::string::npos);

  const std::string walk = oracle_temp_dir("walk");
  auto w = oracle_options(walk);
  w.model = gen::Model::Walk;
  gen::run_generate(w);
  EXPECT_NE(error_text([&] { gen::generated_with(walk); }).find("is of the walk family"), std::string::npos);
  EXPECT_NE(error_text([&] { gen::generated_with(dir + "/nowhere"); }).find("oracle: "), std::string::npos);
  std::system(("rm -rf '" + dir + "' '" + walk + "'").c_str());
}

// The synthetic dataset generator (src/generate): formats, determinism,
// question masking, calibration to the real figures, the procedural
// spectrograms and the learnable structure. Small sizes keep it fast.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/generate/generate.hpp"
#include "melon/generate/genres.hpp"
#include "melon/generate/mel_synth.hpp"
#include "melon/generate/questions.hpp"
#include "melon/generate/world.hpp"
#include "melon/mel/npy.hpp"
#include "melon/questions/types.hpp"
#include "../support/generate_checks.hpp"

namespace {

namespace gen = melon::generate;
using melon::arena::Playlist;

constexpr std::int64_t kPlaylists = 800;
constexpr std::int32_t kSongs = 8000;
constexpr std::uint64_t kSeed = 7;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string temp_dir(const std::string& tag) {
  std::string tmpl = ::testing::TempDir() + "melon_gen_" + tag + "_XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

gen::GenerateOptions small_options(const std::string& out, std::uint64_t seed = kSeed) {
  gen::GenerateOptions o;
  o.out = out;
  o.playlists = kPlaylists;
  o.songs = kSongs;
  o.seed = seed;
  o.mel_songs = 12;
  o.quiet = true;
  return o;
}

// One dataset shared by most tests (generation is the slow part).
class GeneratedData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir("base"));
    gen::run_generate(small_options(*dir_));
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf '" + *dir_ + "'").c_str());
    delete dir_;
    dir_ = nullptr;
  }
  static std::string path(const std::string& rel) { return *dir_ + "/" + rel; }
  static std::vector<Playlist> read(const std::string& rel) { return melon::arena::read_playlists(path(rel)); }
  static std::string* dir_;
};
std::string* GeneratedData::dir_ = nullptr;

std::vector<std::string> dataset_files(const std::string& dir) {
  std::vector<std::string> files = {"train.json",        "val.json",       "test.json",         "answers/val.json",
                                    "answers/test.json", "song_meta.json", "genre_gn_all.json", "calibration.json"};
  std::string list = dir + "/.list";
  std::system(("cd '" + dir + "' && find arena_mel -name '*.npy' | sort > .list").c_str());
  std::ifstream in(list);
  for (std::string line; std::getline(in, line);) files.push_back(line);
  return files;
}

TEST(GenerateGenres, TableHas254CodesAndNoGN9000) {
  const auto m = gen::genre_map();
  EXPECT_EQ(m.size(), 254u);
  int majors = 0;
  for (auto& [code, name] : m) {
    ASSERT_EQ(code.size(), 6u);
    ASSERT_EQ(code.substr(0, 2), "GN");
    if (code.substr(4) == "00") {
      ++majors;
    } else {
      EXPECT_TRUE(m.count(code.substr(0, 4) + "00")) << code << " has no major";
    }
    EXPECT_FALSE(name.empty());
  }
  EXPECT_EQ(majors, 30);
  EXPECT_TRUE(m.count("GN0100") && m.count("GN3000"));
  EXPECT_FALSE(m.count("GN9000"));
}

TEST(GenerateQuestions, MixIsExactAndMaskHidesHalf) {
  auto types = gen::question_types(1000, 3, 1);
  std::map<int, int> count;
  for (auto t : types) ++count[static_cast<int>(t)];
  EXPECT_EQ(count[0], 420);
  EXPECT_EQ(count[1], 390);
  EXPECT_EQ(count[2], 110);
  EXPECT_EQ(count[3], 80);

  Playlist p;
  p.id = 5;
  p.title = "title";
  for (int i = 0; i < 7; ++i) p.songs.push_back(i);
  p.tags = {"a", "b", "c"};
  gen::Rng rng(1);
  auto q = gen::make_question(p, melon::questions::QuestionType::SongsTags, rng);
  EXPECT_EQ(q.answer.songs.size(), 3u);  // 7 // 2 hidden
  EXPECT_EQ(q.question.songs.size(), 4u);
  EXPECT_EQ(q.answer.tags.size(), 1u);
  EXPECT_TRUE(q.question.title.empty());
  EXPECT_EQ(q.answer.title, "title");
  EXPECT_TRUE(std::is_sorted(q.question.songs.begin(), q.question.songs.end()));  // order kept
  auto t = gen::make_question(p, melon::questions::QuestionType::TitleOnly, rng);
  EXPECT_TRUE(t.question.songs.empty() && t.question.tags.empty());
  EXPECT_EQ(t.question.title, "title");
  EXPECT_EQ(t.answer.songs, p.songs);
  EXPECT_EQ(t.answer.tags, p.tags);
}

TEST_F(GeneratedData, WritesEveryFileAndReadsBackWithTheArenaReaders) {
  const auto train = read("train.json"), val = read("val.json"), test = read("test.json");
  EXPECT_EQ(static_cast<std::int64_t>(train.size()), kPlaylists);
  EXPECT_EQ(static_cast<std::int64_t>(val.size()), gen::val_count(kPlaylists));
  EXPECT_EQ(static_cast<std::int64_t>(test.size()), gen::test_count(kPlaylists));
  EXPECT_EQ(read("answers/val.json").size(), val.size());
  EXPECT_EQ(read("answers/test.json").size(), test.size());
  const auto meta = melon::arena::read_song_meta(path("song_meta.json"));
  EXPECT_EQ(meta.size(), static_cast<std::size_t>(kSongs));
  EXPECT_EQ(melon::arena::read_genres(path("genre_gn_all.json")).size(), 254u);
  for (auto* set : {&train, &val, &test}) melon::arena::check_song_ids(*set, meta.size(), "generated");
  std::set<std::int64_t> ids;
  for (auto* set : {&train, &val, &test})
    for (auto& p : *set) EXPECT_TRUE(ids.insert(p.id).second) << "playlist id " << p.id << " repeated";
}

TEST_F(GeneratedData, PlaylistsHaveRealShapes) {
  for (auto& p : read("train.json")) {
    ASSERT_GE(p.songs.size(), 1u);
    ASSERT_LE(p.songs.size(), 200u);
    ASSERT_GE(p.tags.size(), 1u);
    ASSERT_LE(p.tags.size(), 11u);
    ASSERT_FALSE(p.title.empty());
    ASSERT_EQ(p.updt_date.size(), 23u) << p.updt_date;
    EXPECT_EQ(p.updt_date.substr(19), ".000");
    const int year = std::stoi(p.updt_date.substr(0, 4));
    EXPECT_GE(year, 2005);
    EXPECT_LE(year, 2020);
    EXPECT_GE(p.like_cnt, 0);
    std::set<std::int32_t> uniq(p.songs.begin(), p.songs.end());
    EXPECT_EQ(uniq.size(), p.songs.size()) << "repeated song in playlist " << p.id;
  }
}

TEST_F(GeneratedData, SongMetaHasTheRealQuirksAndGenreRules) {
  const auto meta = melon::arena::read_song_meta(path("song_meta.json"));
  int two = 0, quirky = 0;
  for (auto& s : meta.songs) {
    ASSERT_FALSE(s.genres.empty());
    ASSERT_FALSE(s.artist_ids.empty());
    ASSERT_EQ(s.artist_ids.size(), s.artist_names.size());
    two += s.genres.size() == 2;
    for (auto& d : s.detail_genres) {
      bool belongs = false;
      for (auto& g : s.genres) belongs |= d.substr(0, 4) == g.substr(0, 4);
      EXPECT_TRUE(belongs) << "song " << s.id << ": detail " << d << " without its major";
    }
    const auto& d = s.issue_date;
    ASSERT_EQ(d.size(), 8u);
    const int month = std::stoi(d.substr(4, 2)), day = std::stoi(d.substr(6, 2));
    quirky += month < 1 || month > 12 || day < 1;
  }
  const double n = static_cast<double>(meta.size());
  EXPECT_NEAR(two / n, 0.131, 0.02);
  EXPECT_GT(quirky, 0);
  EXPECT_LT(quirky / n, 0.01);
}

TEST_F(GeneratedData, QuestionsHideLenHalfAndAnswersNeverOverlapThem) {
  for (const char* set : {"val", "test"}) {
    const auto qs = read(std::string(set) + ".json");
    const auto as = read(std::string("answers/") + set + ".json");
    ASSERT_EQ(qs.size(), as.size());
    for (std::size_t i = 0; i < qs.size(); ++i) {
      const Playlist &q = qs[i], &a = as[i];
      ASSERT_EQ(q.id, a.id);
      EXPECT_EQ(q.updt_date, a.updt_date);
      EXPECT_EQ(q.like_cnt, a.like_cnt);
      EXPECT_FALSE(a.title.empty());
      const auto type = melon::questions::question_type(q);
      const bool songs_shown = !q.songs.empty(), tags_shown = !q.tags.empty();
      // Title only where songs are absent.
      EXPECT_EQ(q.title.empty(), songs_shown) << "question " << q.id;
      if (!songs_shown) {
        EXPECT_EQ(q.title, a.title);
      }
      EXPECT_FALSE(a.songs.empty()) << "question " << q.id << " (" << melon::questions::name(type) << ") hides no song";
      EXPECT_FALSE(a.tags.empty()) << "question " << q.id << " hides no tag";
      if (songs_shown) {
        EXPECT_EQ(a.songs.size(), (q.songs.size() + a.songs.size()) / 2);
      }
      if (tags_shown) {
        EXPECT_EQ(a.tags.size(), (q.tags.size() + a.tags.size()) / 2);
      }
      EXPECT_LE(a.songs.size(), 100u);
      EXPECT_LE(a.tags.size(), 10u);
      std::set<std::int32_t> shown(q.songs.begin(), q.songs.end());
      for (auto s : a.songs) EXPECT_FALSE(shown.count(s)) << "answer song " << s << " is in question " << q.id;
      std::set<std::string> shown_tags(q.tags.begin(), q.tags.end());
      for (auto& t : a.tags) EXPECT_FALSE(shown_tags.count(t)) << "answer tag " << t << " is in question " << q.id;
    }
  }
}

TEST_F(GeneratedData, QuestionFilesFollowTheReleasedMix) {
  const auto qs = read("val.json");
  std::map<int, int> count;
  for (auto& q : qs) ++count[static_cast<int>(melon::questions::question_type(q))];
  const double n = static_cast<double>(qs.size());
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(count[k] / n, gen::kQuestionMix[k], 1.0 / n + 1e-9) << "type " << k;
}

TEST_F(GeneratedData, CalibrationOfASmallDatasetIsNearTheRealShapes) {
  const auto j = nlohmann::json::parse(slurp(path("calibration.json")));
  melon::test_support::expect_calibration_near_real(j);
  EXPECT_EQ(j.at("params").at("model").get<std::string>(), "taste");
  EXPECT_EQ(j.at("params").at("mel_source").get<std::string>(), "synthetic:7:8000");
}

TEST_F(GeneratedData, SyntheticMelEqualsTheWrittenNpyFiles) {
  const gen::SyntheticMel mel(kSeed, kSongs);
  int files = 0;
  for (auto& f : dataset_files(*dir_)) {
    if (f.rfind("arena_mel/", 0) != 0) continue;
    const auto slash = f.rfind('/');
    const int id = std::stoi(f.substr(slash + 1));
    EXPECT_EQ(f, "arena_mel/" + std::to_string(id / 1000) + "/" + std::to_string(id) + ".npy");
    ASSERT_TRUE(mel.has(id));
    const auto m = mel.make(id);
    const auto on_disk = melon::mel::read_npy(path(f));
    ASSERT_EQ(on_disk.bands, 48);
    ASSERT_EQ(on_disk.frames, m.frames);
    ASSERT_EQ(on_disk.data.size(), m.data.size());
    EXPECT_EQ(std::memcmp(on_disk.data.data(), m.data.data(), m.data.size() * sizeof(float)), 0) << f;
    ++files;
  }
  EXPECT_EQ(files, 12);
}

TEST_F(GeneratedData, SongsOfOnePlaylistShareGenreAndArtistFarMoreThanRandomPairs) {
  const auto meta = melon::arena::read_song_meta(path("song_meta.json"));
  const auto train = read("train.json");
  gen::Rng rng(3);
  std::int64_t pairs = 0, same_genre = 0, same_artist = 0, rpairs = 0, rgenre = 0, rartist = 0;
  std::vector<std::int32_t> pool;
  for (auto& p : train) pool.insert(pool.end(), p.songs.begin(), p.songs.end());
  for (auto& p : train) {
    for (std::size_t i = 0; i + 1 < p.songs.size(); i += 2) {
      const auto &a = meta.songs[p.songs[i]], &b = meta.songs[p.songs[i + 1]];
      ++pairs;
      same_genre += a.genres[0] == b.genres[0];
      same_artist += a.artist_ids[0] == b.artist_ids[0];
      const auto n = static_cast<std::uint32_t>(pool.size());
      const auto &c = meta.songs[pool[rng.below(n)]], &d = meta.songs[pool[rng.below(n)]];
      ++rpairs;
      rgenre += c.genres[0] == d.genres[0];
      rartist += c.artist_ids[0] == d.artist_ids[0];
    }
  }
  const double in_genre = double(same_genre) / pairs, rand_genre = double(rgenre) / rpairs;
  const double in_artist = double(same_artist) / pairs, rand_artist = double(rartist) / rpairs;
  EXPECT_GT(in_genre, 2 * rand_genre) << in_genre << " vs random " << rand_genre;
  EXPECT_LT(in_genre, 0.95) << "structure should be imperfect";
  EXPECT_GT(in_artist, 10 * rand_artist) << in_artist << " vs random " << rand_artist;
}

TEST_F(GeneratedData, TagsFollowTheSongsTaste) {
  // Playlists sharing a tag share songs' artists far more often than random playlists.
  const auto meta = melon::arena::read_song_meta(path("song_meta.json"));
  const auto train = read("train.json");
  auto genres = [&](const Playlist& p) {
    std::map<std::string, int> c;
    for (auto s : p.songs) ++c[meta.songs[s].genres[0]];
    return std::max_element(c.begin(), c.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  };
  std::vector<std::string> top(train.size());
  for (std::size_t i = 0; i < train.size(); ++i) top[i] = genres(train[i]);
  std::unordered_map<std::string, std::vector<std::size_t>> by_tag;
  for (std::size_t i = 0; i < train.size(); ++i)
    for (auto& t : train[i].tags) by_tag[t].push_back(i);
  std::int64_t pairs = 0, same = 0, rpairs = 0, rsame = 0;
  gen::Rng rng(5);
  for (auto& [t, v] : by_tag) {
    if (v.size() < 2 || v.size() > 40) continue;  // skip the mood words every taste uses
    for (std::size_t k = 0; k + 1 < v.size(); ++k) {
      ++pairs;
      same += top[v[k]] == top[v[k + 1]];
      ++rpairs;
      const auto n = static_cast<std::uint32_t>(train.size());
      rsame += top[rng.below(n)] == top[rng.below(n)];
    }
  }
  ASSERT_GT(pairs, 100);
  EXPECT_GT(double(same) / pairs, 1.5 * double(rsame) / rpairs);
}

TEST(GenerateDeterminism, SameSeedGivesByteIdenticalFilesAndAnotherSeedDiffers) {
  const std::string a = temp_dir("a"), b = temp_dir("b"), c = temp_dir("c");
  auto o = small_options(a);
  o.playlists = 300;
  o.songs = 3000;
  o.mel_songs = 5;
  gen::run_generate(o);
  o.out = b;
  gen::run_generate(o);
  o.out = c;
  o.seed = kSeed + 1;
  gen::run_generate(o);
  const auto files = dataset_files(a);
  EXPECT_EQ(files.size(), 8u + 5u);
  EXPECT_EQ(files, dataset_files(b));
  for (auto& f : files) EXPECT_EQ(slurp(a + "/" + f), slurp(b + "/" + f)) << f << " differs for the same seed";
  for (const char* f : {"train.json", "song_meta.json", "val.json", "answers/test.json"})
    EXPECT_NE(slurp(a + "/" + f), slurp(c + "/" + f)) << f << " identical across seeds";
  for (auto& d : {a, b, c}) std::system(("rm -rf '" + d + "'").c_str());
}

TEST(GenerateMel, DependsOnlyOnSeedSongCountAndId) {
  const gen::SyntheticMel m1(3, 5000), m2(3, 5000), other(4, 5000);
  for (melon::arena::SongId id : {0, 17, 4999}) {
    if (!m1.has(id)) continue;
    const auto x = m1.make(id), y = m2.make(id), z = other.make(id);
    ASSERT_EQ(x.data.size(), y.data.size());
    EXPECT_EQ(std::memcmp(x.data.data(), y.data.data(), x.data.size() * 4), 0);
    EXPECT_TRUE(x.data.size() != z.data.size() || std::memcmp(x.data.data(), z.data.data(), x.data.size() * 4) != 0);
  }
  // The playlist count never enters: a dataset of 300 playlists and the
  // 8000-song catalogue above describe the same songs.
  EXPECT_EQ(m1.n_songs(), 5000);
  EXPECT_THROW(m1.make(5000), melon::Error);
}

// The PCA's readers and the generator make song after song into one buffer:
// what a longer, shorter or -inf song left in it must never show through.
// One make() a song for the scan, which stops once it has what it checks.
TEST(GenerateMel, MakingIntoAReusedBufferGivesTheFreshSpectrogram) {
  const gen::SyntheticMel mel(11, 20000);
  melon::mel::Mel reused;
  int short_clips = 0, with_inf = 0, checked = 0;
  bool odd_before = false;  // the song before was short or held -inf
  for (melon::arena::SongId id = 0; id < 20000; ++id) {
    if (!mel.has(id)) continue;
    mel.make(id, reused);
    const bool is_short = reused.frames < 1876;
    const bool has_inf = std::any_of(reused.data.begin(), reused.data.end(), [](float v) { return std::isinf(v); });
    // Every short or -inf song, the song after it, and a sample of the rest.
    if (is_short || has_inf || odd_before || id % 97 == 0) {
      const auto want = mel.make(id);
      ASSERT_EQ(reused.bands, want.bands) << "song " << id;
      ASSERT_EQ(reused.frames, want.frames) << "song " << id;
      ASSERT_EQ(reused.data.size(), want.data.size()) << "song " << id;
      ASSERT_EQ(std::memcmp(reused.data.data(), want.data.data(), want.data.size() * 4), 0) << "song " << id;
      ++checked;
    }
    short_clips += is_short;
    with_inf += has_inf;
    odd_before = is_short || has_inf;
    if (short_clips >= 2 && with_inf >= 1 && !odd_before) break;
  }
  EXPECT_GE(short_clips, 2);
  EXPECT_GE(with_inf, 1);
  EXPECT_GE(checked, 8);
}

TEST(GenerateMel, HasTheRealQuirksInRoughlyTheRealProportions) {
  const std::int32_t n = 20000;
  const gen::SyntheticMel mel(11, n);
  int missing = 0, short_clips = 0, with_inf = 0;
  for (std::int32_t id = 0; id < n; id += 2) {
    if (!mel.has(id)) {
      ++missing;
      EXPECT_THROW(mel.make(id), melon::Error);
      continue;
    }
    if (id % 50 != 0) continue;  // make() on a sample keeps this quick
    const auto m = mel.make(id);
    ASSERT_EQ(m.bands, 48);
    ASSERT_EQ(m.data.size(), static_cast<std::size_t>(48) * m.frames);
    if (m.frames < 1876) {
      ++short_clips;
      EXPECT_GE(m.frames, 300);
    }
    // Log energies: finite and moderate, or -inf where the energy was zero.
    bool inf = false, nan = false, wild = false;
    for (float v : m.data) {
      nan |= std::isnan(v);
      inf |= v == -std::numeric_limits<float>::infinity();
      wild |= std::isfinite(v) && (v < -40.0f || v > 40.0f);
      wild |= v == std::numeric_limits<float>::infinity();
    }
    ASSERT_FALSE(nan) << id;
    ASSERT_FALSE(wild) << id;
    with_inf += inf;
  }
  EXPECT_GT(missing, 3);  // ~0.2% of 10,000
  EXPECT_LT(missing, 60);
  EXPECT_LE(short_clips, 8);  // ~0.5% of 400
  EXPECT_LE(with_inf, 5);
}

TEST(GenerateMel, AudioPredictsArtistAndGenreOnlyPartly) {
  // Time-averaged band profiles: songs of one artist are closer than songs of
  // one genre, which are closer than random songs; none is identical.
  const std::int32_t n = 6000;
  const gen::SyntheticMel mel(5, n);
  const auto& w = mel.world();
  auto profile = [&](melon::arena::SongId id) {
    const auto m = mel.make(id);
    std::vector<double> p(48, 0.0);
    for (int b = 0; b < 48; ++b) {
      int k = 0;
      for (int t = 0; t < m.frames; t += 7) {
        const float v = m.data[static_cast<std::size_t>(b) * m.frames + t];
        if (std::isfinite(v)) p[b] += v, ++k;
      }
      p[b] /= std::max(k, 1);
    }
    return p;
  };
  auto dist = [](const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0;
    for (int i = 0; i < 48; ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
    return std::sqrt(d);
  };
  gen::Rng rng(9);
  double same_artist = 0, same_genre = 0, random = 0;
  int na = 0, ng = 0, nr = 0;
  for (int trial = 0; trial < 400 && (na < 25 || ng < 25); ++trial) {
    const auto a = static_cast<melon::arena::SongId>(rng.below(n)), b = static_cast<melon::arena::SongId>(rng.below(n));
    if (!mel.has(a) || !mel.has(b) || a == b) continue;
    const auto& ar = w.artist_of(a);
    // A same-artist partner: another song of a's artist.
    if (ar.end_slot - ar.first_slot >= 2 && na < 25) {
      const auto other = w.id_of_slot[ar.first_slot + (w.slot_of_id[a] == ar.first_slot ? 1 : 0)];
      if (mel.has(other)) same_artist += dist(profile(a), profile(other)), ++na;
    }
    int ga[3], gb[3];
    w.majors(a, ga);
    w.majors(b, gb);
    const double d = dist(profile(a), profile(b));
    if (ga[0] == gb[0] && w.song(a).artist != w.song(b).artist && ng < 25) same_genre += d, ++ng;
    if (nr < 25) random += d, ++nr;
  }
  ASSERT_GE(na, 10);
  ASSERT_GE(nr, 10);
  EXPECT_LT(same_artist / na, 0.8 * random / nr);
  EXPECT_GT(same_artist / na, 0.05);  // not a copy: noise and per-song terms remain
  if (ng >= 5) {
    EXPECT_LT(same_artist / na, same_genre / ng);
  }
}

TEST(GenerateMel, ParsesMelSourceSpecs) {
  EXPECT_EQ(gen::parse_mel_source("synthetic:3:1000").n_songs(), 1000);
  const auto m = gen::parse_mel_source("synthetic:3:1000:12");
  EXPECT_EQ(m.world().tastes.size(), 12u);
  EXPECT_THROW(gen::parse_mel_source("files:/tmp"), melon::Error);
  EXPECT_THROW(gen::parse_mel_source("synthetic:x"), melon::Error);
  EXPECT_THROW(gen::parse_mel_source("synthetic:1:0"), melon::Error);
  EXPECT_THROW(gen::parse_mel_source("synthetic:1:2:3:4"), melon::Error);
}

TEST(GenerateWorld, SongIdsArePermutedSlotsAndAlbumsBelongToOneArtist) {
  const auto w = gen::build_world(1, 100000);
  EXPECT_EQ(w.slots.size(), 100000u);
  std::vector<char> seen(w.slots.size(), 0);
  for (auto id : w.id_of_slot) {
    ASSERT_FALSE(seen[id]);
    seen[id] = 1;
  }
  // Songs of an album are contiguous slots of one artist.
  for (std::size_t b = 0; b < std::min<std::size_t>(w.albums.size(), 1000); ++b)
    for (auto s = w.albums[b].first_slot; s < w.albums[b].end_slot; ++s)
      ASSERT_EQ(w.slots[s].artist, w.albums[b].artist);
}

TEST(GenerateOptions, RejectsNonsense) {
  auto o = small_options(temp_dir("bad"));
  o.playlists = 0;
  EXPECT_THROW(gen::run_generate(o), melon::Error);
  o = small_options(o.out);
  o.vocab.tag_noise = 1.5;
  EXPECT_THROW(gen::run_generate(o), melon::Error);
  EXPECT_THROW(gen::parse_mel_mode("some"), melon::Error);
  std::system(("rm -rf '" + o.out + "'").c_str());
}

}  // namespace

// --title-tag-rate: the share of titles that hold one of their playlist's
// tags follows the knob (the calibration figure measures it); the default
// (1) puts a tag in every multi-word title.
TEST(GenerateTitles, TitleTagRateSetsTheShareOfTitlesHoldingATag) {
  std::vector<double> share;
  for (double rate : {0.0, 0.5, 1.0}) {
    const std::string d = temp_dir("ttr");
    auto o = small_options(d);
    o.playlists = 1500;
    o.songs = 4000;
    o.mel_songs = 0;
    o.mel_mode = gen::MelMode::None;
    o.vocab.title_tag_rate = rate;
    gen::run_generate(o);
    const auto j = nlohmann::json::parse(slurp(d + "/calibration.json"));
    share.push_back(j.at("figures").at("title_tag_share").at("generated").get<double>());
    EXPECT_EQ(j.at("params").at("title_tag_rate").get<double>(), rate);
    std::system(("rm -rf '" + d + "'").c_str());
  }
  EXPECT_LT(share[0], 0.2);  // only other title words that happen to be tags
  EXPECT_GT(share[1], 0.4);
  EXPECT_LT(share[1], 0.65);
  EXPECT_GT(share[2], 0.9);  // all but the one-word titles
}

// Vocabulary, encoding, corruption and held-out questions.
#include <gtest/gtest.h>

#include <set>

#include "melon/ae/audio.hpp"
#include "melon/ae/corrupt.hpp"
#include "melon/ae/encode.hpp"
#include "melon/ae/vocab.hpp"
#include "melon/error.hpp"
#include "melon/questions/held_out.hpp"
#include "melon/questions/types.hpp"
#include "melon/train/config.hpp"
#include "melon/train/held_out.hpp"

using namespace melon;
using namespace melon::ae;
using namespace melon::train;

namespace {
arena::Playlist pl(std::int64_t id, std::vector<arena::SongId> songs, std::vector<std::string> tags,
                   std::string title = "") {
  arena::Playlist p;
  p.id = id;
  p.songs = std::move(songs);
  p.tags = std::move(tags);
  p.title = std::move(title);
  p.updt_date = "2015-01-01 00:00:00.000";
  return p;
}
}  // namespace

TEST(Vocab, CutOffsAndOrder) {
  std::vector<arena::Playlist> ps{pl(1, {5, 6, 7}, {"a", "b"}, "비 오는 날"), pl(2, {6, 7}, {"b"}, "비 오는 밤"),
                                  pl(3, {7, 9}, {"b", "c"}, "rain")};
  std::vector<const arena::Playlist*> ptr;
  for (auto& p : ps) ptr.push_back(&p);
  VocabOptions o;
  o.min_song_count = 2;
  o.min_tag_count = 1;
  o.min_token_count = 2;
  auto v = build_vocab(ptr, o);
  EXPECT_EQ(v.songs, (std::vector<arena::SongId>{7, 6}));  // by count, then id
  EXPECT_EQ(v.song_counts, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(v.tags, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(v.popular_songs, (std::vector<arena::SongId>{7, 6, 5, 9}));
  EXPECT_TRUE(v.token("w:비") >= 0);
  EXPECT_TRUE(v.token("w:오는") >= 0);
  EXPECT_EQ(v.token("w:rain"), -1);  // one title only
  EXPECT_EQ(v.song(5), -1);
  EXPECT_EQ(v.song(7), 0);
  auto v2 = build_vocab(ptr, o);
  EXPECT_EQ(v.hash(), v2.hash());
  o.min_song_count = 1;
  EXPECT_NE(build_vocab(ptr, o).hash(), v.hash());
}

TEST(Encode, MapsToVocabularyAndKeepsAllSongIds) {
  std::vector<arena::Playlist> ps{pl(1, {5, 6}, {"a"}, "x y"), pl(2, {6}, {"a"}, "x")};
  std::vector<const arena::Playlist*> ptr{&ps[0], &ps[1]};
  VocabOptions o;
  o.min_token_count = 1;
  auto v = build_vocab(ptr, o);
  auto e = encode(pl(3, {6, 99}, {"a", "zz"}, "x"), v, o.tokenizer);
  EXPECT_EQ(e.song_ids, (std::vector<arena::SongId>{6, 99}));
  EXPECT_EQ(e.songs, (std::vector<std::int32_t>{0, -1}));
  EXPECT_EQ(e.tags, (std::vector<std::int32_t>{0, -1}));
  EXPECT_EQ(e.tokens.size(), 1u);
}

namespace {
struct Fixture {
  Vocab v;
  Dims d;
  AudioTable audio;
  Fixture() {
    std::vector<arena::Playlist> ps;
    std::vector<arena::SongId> songs;
    for (int s = 0; s < 20; ++s) songs.push_back(s);
    ps.push_back(pl(1, songs, {"a", "b", "c", "d"}, "hello world"));
    ps.push_back(ps[0]);
    std::vector<const arena::Playlist*> ptr{&ps[0], &ps[1]};
    v = build_vocab(ptr, {});
    d.n_songs = static_cast<std::int64_t>(v.songs.size());
    d.n_tags = static_cast<std::int64_t>(v.tags.size());
    d.n_tokens = static_cast<std::int64_t>(v.tokens.size());
    d.audio_dim = 2;
    d.hidden = {4};
    std::vector<arena::SongId> ids{0, 1, 2};
    std::vector<float> sc{1, 2, 3, 4, 5, 9};
    audio = make_audio(ids, sc, 2);
  }
};
}  // namespace

TEST(Corruption, ShowsHalfLikeTheSplitAndTargetsTheWhole) {
  Fixture f;
  auto e = encode(pl(
                      1,
                      [] {
                        std::vector<arena::SongId> s;
                        for (int i = 0; i < 20; ++i) s.push_back(i);
                        return s;
                      }(),
                      {"a", "b", "c", "d"}, "hello world"),
                  f.v, {});
  std::map<std::string, int> kinds;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    Batch b;
    add_example(b, e, f.d, f.audio, true, {}, seed);
    int songs = 0, tags = 0, tokens = 0;
    for (auto r : b.in_idx) (r < f.d.n_songs ? songs : r < f.d.n_songs + f.d.n_tags ? tags : tokens)++;
    ASSERT_TRUE(songs == 0 || songs == 10) << songs;
    ASSERT_TRUE(tags == 0 || tags == 2) << tags;
    EXPECT_EQ(b.song_idx.size(), 20u);  // the whole playlist is the target
    EXPECT_EQ(b.tag_idx.size(), 4u);
    if (songs == 0) {
      EXPECT_GT(tokens, 0);  // without songs the title is always shown
    }
    kinds[std::string(songs ? "S" : "-") + (tags ? "T" : "-")]++;
    // Same seed, same example.
    Batch b2;
    add_example(b2, e, f.d, f.audio, true, {}, seed);
    ASSERT_EQ(b.in_idx, b2.in_idx);
    ASSERT_EQ(b.audio, b2.audio);
  }
  EXPECT_NEAR(kinds["S-"], 600, 80);
  EXPECT_NEAR(kinds["ST"], 1000, 80);
  EXPECT_NEAR(kinds["-T"], 300, 60);
  EXPECT_NEAR(kinds["--"], 100, 40);
}

TEST(Corruption, UncorruptedShowsEverythingWithNormalisedWeights) {
  Fixture f;
  auto e = encode(pl(1, {0, 1, 2, 3}, {"a"}, "hello"), f.v, {});
  Batch b;
  add_example(b, e, f.d, f.audio, false, {}, 0);
  ASSERT_EQ(b.size, 1);
  EXPECT_EQ(b.in_idx.size(), 4u + 1u + e.tokens.size());
  EXPECT_FLOAT_EQ(b.in_w[0], 0.5f);  // 1/sqrt(4)
  // Audio = mean of the shown songs that have audio (0, 1, 2), standardised.
  ASSERT_EQ(b.audio.size(), 2u);
  float m0 = 0;
  for (int s = 0; s < 3; ++s) m0 += f.audio.row(s)[0];
  EXPECT_NEAR(b.audio[0], m0 / 3, 1e-6);
}

TEST(Audio, StandardisesAndRejectsBadInput) {
  auto a = make_audio({3, 1}, {1, 10, 3, 30}, 2);
  EXPECT_TRUE(a.covers(3));
  EXPECT_TRUE(a.covers(1));
  EXPECT_FALSE(a.covers(0));
  EXPECT_FALSE(a.covers(4));
  EXPECT_NEAR(a.row(3)[0], -1.0, 1e-6);
  EXPECT_NEAR(a.row(1)[1], 1.0, 1e-6);
  EXPECT_THROW(make_audio({1, 1}, {1, 2}, 1, {}, {}, "x.h5"), Error);  // duplicate id
  EXPECT_THROW(make_audio({1}, {1, 2, 3}, 2, {}, {}, "x.h5"), Error);  // shape
  EXPECT_THROW(make_audio({1}, {NAN}, 1, {}, {}, "x.h5"), Error);
  // A stored normalisation is reused as is.
  auto b = make_audio({0}, {5}, 1, {4.0}, {2.0});
  EXPECT_NEAR(b.row(0)[0], 0.5, 1e-6);
}

TEST(HeldOut, MimicsTheOfficialQuestionTypes) {
  std::vector<arena::SongId> songs;
  for (int i = 0; i < 150; ++i) songs.push_back(i);
  auto p = pl(7, songs, {"a", "b", "c"}, "t");
  for (int pos = 0; pos < 20; ++pos) {
    auto h = questions::held_out_question(p, pos, 1);
    auto t = questions::question_type(h.question);
    if (pos < 6) {
      EXPECT_EQ(t, questions::QuestionType::SongsOnly);
      EXPECT_EQ(h.question.songs.size(), 75u);
      EXPECT_EQ(h.answer.tags.size(), 3u);
    } else if (pos < 16) {
      EXPECT_EQ(t, questions::QuestionType::SongsTags);
      EXPECT_EQ(h.question.tags.size(), 1u);
      EXPECT_EQ(h.answer.tags.size(), 2u);
    } else if (pos < 19) {
      EXPECT_EQ(t, questions::QuestionType::TagsOnly);
      EXPECT_EQ(h.answer.songs.size(), 100u);  // truncated like the split
    } else {
      EXPECT_EQ(t, questions::QuestionType::TitleOnly);
    }
    std::set<arena::SongId> all(h.question.songs.begin(), h.question.songs.end());
    for (auto s : h.answer.songs) EXPECT_TRUE(all.insert(s).second);
  }
}

TEST(Config, FingerprintCoversTrajectorySettingsOnly) {
  TrainConfig a, b;
  a.lr_final = b.lr_final = 1.0;  // constant lr: the epoch count does not shape the trajectory
  a.epochs = 10;
  b.epochs = 99;
  b.threads = 7;
  b.checkpoint_every = 3;
  b.max_steps = 5;
  EXPECT_EQ(fingerprint(a, true), fingerprint(b, true));
  b.adam.lr = 0.5;
  EXPECT_NE(fingerprint(a, true), fingerprint(b, true));
  EXPECT_NE(fingerprint(a, true), fingerprint(a, false));
  EXPECT_EQ(parse_widths("600,300", "x"), (std::vector<int>{600, 300}));
  EXPECT_THROW(parse_widths("600,,3", "x"), Error);
  EXPECT_THROW(parse_widths("0", "x"), Error);
  EXPECT_THROW(parse_input_reduce("sideways"), Error);
  TrainConfig m = a, i = a;
  m.audio_map = AudioMap::Joint;
  i.audio_input = !a.audio_input;
  EXPECT_NE(fingerprint(a, true), fingerprint(m, true));
  EXPECT_NE(fingerprint(a, true), fingerprint(i, true));
  EXPECT_THROW(parse_audio_map("glued"), Error);
  TrainConfig d1, d2;  // a decaying lr: it does
  d1.epochs = 10;
  d2.epochs = d1.epochs + 1;
  EXPECT_NE(fingerprint(d1, true), fingerprint(d2, true));
  TrainConfig s1, s2;  // self-sizing: its budget settings do too
  s2.min_steps = s1.min_steps + 1;
  EXPECT_NE(fingerprint(s1, true), fingerprint(s2, true));
  EXPECT_NE(fingerprint(s1, true), fingerprint(d1, true));
}

#include <unistd.h>

#include "melon/h5/h5.hpp"

TEST(Audio, ReadsThePcaStageFile) {
  char tmpl[] = "/tmp/melon-pca-test.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/pca.h5";
  {
    auto f = h5::File::create(path, MPI_COMM_NULL);
    std::vector<std::int32_t> ids{2, 5, 7};
    std::vector<float> sc{1, 0, 2, 0, 3, 1};
    h5::Dataset::create(f, "song_ids", h5::Type::I32, {3}).write_rows(0, 3, ids.data());
    h5::Dataset::create(f, "scores", h5::Type::F32, {3, 2}).write_rows(0, 3, sc.data());
    f.close();
  }
  auto a = read_audio(path);
  EXPECT_EQ(a.dim, 2);
  EXPECT_TRUE(a.covers(5));
  EXPECT_FALSE(a.covers(3));
  EXPECT_NEAR(a.mean[0], 2.0, 1e-12);
  EXPECT_NEAR(a.row(7)[0], std::sqrt(1.5), 1e-5);  // (3 - 2) / sqrt(2/3)
  {
    auto f = h5::File::create(path, MPI_COMM_NULL);
    std::vector<std::int32_t> ids{2, 5};
    std::vector<float> sc{1, 0, 2};
    h5::Dataset::create(f, "song_ids", h5::Type::I32, {2}).write_rows(0, 2, ids.data());
    h5::Dataset::create(f, "scores", h5::Type::F32, {3, 1}).write_rows(0, 3, sc.data());
    f.close();
  }
  try {
    read_audio(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("song_ids"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_audio(dir + "/missing.h5"), Error);
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

#include "melon/train/schedule.hpp"

TEST(Schedule, FixedEpochsKeepTheEarlierLinearDecayBitForBit) {
  TrainConfig c;
  c.epochs = 7;
  const auto s = make_schedule(c, 13);
  EXPECT_FALSE(s.self_sizing);
  EXPECT_EQ(s.budget, 91);
  EXPECT_EQ(s.warmup, 0);
  for (std::int64_t step : {0, 1, 45, 90, 91, 200}) {
    // The formula of earlier releases, which their checkpoints were trained with.
    const double old = c.adam.lr * (1.0 - (1.0 - c.lr_final) * std::min(1.0, static_cast<double>(step) / 91.0));
    EXPECT_EQ(lr_at(s, step), old) << "step " << step;
  }
  EXPECT_FALSE(stop_early(s, 90, 0));  // fixed epochs never stop early
}

TEST(Schedule, SelfSizingBudgetFollowsTheDataBetweenItsFloorAndCeiling) {
  TrainConfig c;                  // --epochs auto
  auto s = make_schedule(c, 20);  // a small set: ten epochs would be 200 steps
  EXPECT_TRUE(s.self_sizing);
  EXPECT_EQ(s.budget, 1000);
  EXPECT_EQ(s.warmup, 50);
  EXPECT_EQ(s.patience, 125);
  EXPECT_EQ(make_schedule(c, 446).budget, 4460);     // the real release's size: ten epochs
  EXPECT_EQ(make_schedule(c, 3000).budget, 21000);   // the ceiling, rounded up to whole epochs
  EXPECT_EQ(make_schedule(c, 3000).patience, 6000);  // two epochs: more than an eighth of it
  EXPECT_EQ(make_schedule(c, 446).patience, 892);
  EXPECT_EQ(make_schedule(c, 7).budget, 1001);  // the floor, rounded up to whole epochs
  c.patience = 30;
  c.warmup = 0;
  c.min_steps = 100;
  c.max_steps_budget = 100;
  s = make_schedule(c, 20);
  EXPECT_EQ(s.budget, 100);
  EXPECT_EQ(s.patience, 30);
  EXPECT_EQ(s.warmup, 0);
}

TEST(Schedule, WarmUpRisesLinearlyThenTheRateFallsToItsFinalShareAtTheBudget) {
  TrainConfig c;
  const auto s = make_schedule(c, 20);  // budget 1000, warm-up 50
  EXPECT_DOUBLE_EQ(lr_at(s, 0), c.adam.lr / 50);
  EXPECT_DOUBLE_EQ(lr_at(s, 24), c.adam.lr / 2);
  EXPECT_DOUBLE_EQ(lr_at(s, 49), c.adam.lr);
  EXPECT_DOUBLE_EQ(lr_at(s, 50), c.adam.lr);
  EXPECT_LT(lr_at(s, 500), lr_at(s, 499));
  EXPECT_DOUBLE_EQ(lr_at(s, 1000), c.adam.lr * c.lr_final);
  EXPECT_DOUBLE_EQ(lr_at(s, 5000), c.adam.lr * c.lr_final);
}

TEST(Schedule, StopsEarlyOnlyOncePatienceStepsPassWithoutABetterScore) {
  TrainConfig c;
  const auto s = make_schedule(c, 20);   // patience 125
  EXPECT_FALSE(stop_early(s, 400, -1));  // no held-out score yet: train on
  EXPECT_FALSE(stop_early(s, 400, 276));
  EXPECT_TRUE(stop_early(s, 400, 275));
}

// Eigen's AVX-512 helpers trip GCC 12's uninitialised-variable false positives (as in predict.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "melon/arena/rules.hpp"
#include "melon/error.hpp"
#include "melon/recommend/references.hpp"
#include "melon/recommend/source.hpp"

using namespace melon;
using recommend::ReferenceMethod;

namespace {

// A tiny world with known answers:
//   group A (5 playlists): songs 10, 11, 1 (+ one song of its own), tag "ballad", title "quiet night"
//   group B (5): songs 20, 21, 22, tags "rock", "drive", title "motor drive"
//   group C (5): songs 30, 31, 32, tag "rain", title "rainy day"
//   40 fillers: 30 songs from 100..349, song 2 (the hit) in all of them, song 10 in six.
// Songs 200..249 and 31 are released in 2020, after every question's updt_date.
struct World {
  arena::SongMeta meta;
  std::vector<arena::Playlist> train;
  World() {
    for (int s = 0; s < 400; ++s) {
      arena::Song song;
      song.id = s;
      song.issue_date = (s >= 200 && s < 250) || s == 31 ? "20200101" : "20100101";
      meta.songs.push_back(song);
    }
    auto add = [&](std::vector<arena::SongId> songs, std::vector<std::string> tags, std::string title) {
      arena::Playlist p;
      p.id = static_cast<std::int64_t>(train.size());
      p.songs = std::move(songs);
      p.tags = std::move(tags);
      p.title = std::move(title);
      p.updt_date = "2019-01-01 00:00:00.000";
      train.push_back(std::move(p));
    };
    for (int k = 0; k < 5; ++k) add({10, 11, 1, 50 + k}, {"ballad"}, "quiet night");
    for (int k = 0; k < 5; ++k) add({20, 21, 22}, {"rock", "drive"}, "motor drive");
    for (int k = 0; k < 5; ++k) add({30, 31, 32}, {"rain"}, "rainy day");
    for (int i = 0; i < 40; ++i) {
      std::vector<arena::SongId> songs{2};
      if (i < 6) songs.push_back(10);
      for (int k = 0; k < 30; ++k) songs.push_back(100 + (i * 7 + k) % 250);
      add(songs, {"misc" + std::to_string(i % 8), "pop"}, "filler");
    }
  }
};

arena::Playlist question(std::int64_t id, std::vector<arena::SongId> songs, std::vector<std::string> tags,
                         std::string title = "") {
  arena::Playlist q;
  q.id = id;
  q.songs = std::move(songs);
  q.tags = std::move(tags);
  q.title = std::move(title);
  q.updt_date = "2015-06-01 12:00:00.000";
  return q;
}

recommend::ReferenceOptions small_options() {
  recommend::ReferenceOptions o;
  o.ease_lambda = 10;      // the default suits tens of thousands of playlists, not 55
  o.mixture_clusters = 8;  // as many as the world has kinds of playlist, a few more
  return o;
}

arena::Result answer_one(ReferenceMethod m, const World& w, const arena::Playlist& q,
                         recommend::ReferenceOptions opt = small_options()) {
  auto r = recommend::run_reference(m, w.train, {q}, &w.meta, opt);
  EXPECT_EQ(r.size(), 1u);
  return r.at(0);
}

// Every method with its name, spelled here independently of to_string.
const std::pair<ReferenceMethod, const char*> kNamed[] = {{ReferenceMethod::ItemKnn, "item-knn"},
                                                          {ReferenceMethod::PlaylistKnn, "playlist-knn"},
                                                          {ReferenceMethod::Ease, "ease"},
                                                          {ReferenceMethod::Mixture, "mixture"}};
const ReferenceMethod kAll[] = {ReferenceMethod::ItemKnn, ReferenceMethod::PlaylistKnn, ReferenceMethod::Ease,
                                ReferenceMethod::Mixture};
const char* name(ReferenceMethod m) {
  for (auto& [method, spelled] : kNamed)
    if (method == m) return spelled;
  return "?";
}

}  // namespace

TEST(References, ParseAcceptsTheFourNamesAndRejectsOthers) {
  EXPECT_EQ(recommend::parse_reference("item-knn"), ReferenceMethod::ItemKnn);
  EXPECT_EQ(recommend::parse_reference("playlist-knn"), ReferenceMethod::PlaylistKnn);
  EXPECT_EQ(recommend::parse_reference("ease"), ReferenceMethod::Ease);
  EXPECT_EQ(recommend::parse_reference("mixture"), ReferenceMethod::Mixture);
  EXPECT_TRUE(recommend::is_reference("ease"));
  EXPECT_FALSE(recommend::is_reference("most-popular"));
  EXPECT_THROW(recommend::parse_reference("svd"), Error);
}

TEST(References, EachRecommendsTheSongThatCoOccursWithTheShownSongs) {
  World w;
  for (auto m : kAll) {
    auto r = answer_one(m, w, question(1, {10, 11}, {}));
    EXPECT_EQ(r.songs[0], 1) << name(m);
    EXPECT_EQ(r.tags[0], "ballad") << name(m);
  }
}

TEST(References, TagsOnlyQuestionIsAnsweredThroughTagSongCoOccurrence) {
  World w;
  for (auto m : kAll) {
    auto r = answer_one(m, w, question(2, {}, {"rock"}));
    std::set<arena::SongId> top(r.songs.begin(), r.songs.begin() + 3);
    EXPECT_EQ(top, (std::set<arena::SongId>{20, 21, 22})) << name(m);
    EXPECT_EQ(r.tags[0], "drive") << name(m);
  }
}

TEST(References, TitleOnlyQuestionIsAnsweredThroughTitleTokens) {
  World w;
  for (auto m : kAll) {
    auto r = answer_one(m, w, question(3, {}, {}, "Rainy day"));
    // 31 would belong too, but it came out after the question's updt_date.
    std::set<arena::SongId> top(r.songs.begin(), r.songs.begin() + 2);
    EXPECT_EQ(top, (std::set<arena::SongId>{30, 32})) << name(m);
    EXPECT_EQ(r.tags[0], "rain") << name(m);
  }
}

TEST(References, ItemKnnDampingDemotesThePopularCandidate) {
  World w;
  // Song 10 meets the hit (song 2) in six playlists and song 1 in five.
  auto opt = small_options();
  opt.alpha = 0;
  opt.beta = 0;
  EXPECT_EQ(answer_one(ReferenceMethod::ItemKnn, w, question(4, {10}, {}), opt).songs[0], 2);
  opt.beta = 0.5;
  EXPECT_EQ(answer_one(ReferenceMethod::ItemKnn, w, question(4, {10}, {}), opt).songs[0], 1);
}

TEST(References, NoneReturnsAQuestionItemADuplicateALateSongOrAShortList) {
  World w;
  std::vector<arena::Playlist> qs = {question(10, {10, 11, 1}, {"ballad"}), question(11, {20, 2, 150}, {}),
                                     question(12, {}, {"rock", "pop"}),     question(13, {}, {}, "rainy day"),
                                     question(14, {}, {}, "nothing known"), question(15, {399}, {"unknown tag"}),
                                     question(16, {200, 201}, {"misc1"})};
  for (auto m : kAll) {
    auto rs = recommend::run_reference(m, w.train, qs, &w.meta, small_options());
    ASSERT_EQ(rs.size(), qs.size());
    for (std::size_t i = 0; i < qs.size(); ++i) {
      const auto& q = qs[i];
      const auto& r = rs[i];
      EXPECT_EQ(r.id, q.id);
      ASSERT_EQ(r.songs.size(), 100u) << name(m) << " question " << q.id;
      ASSERT_EQ(r.tags.size(), 10u) << name(m) << " question " << q.id;
      EXPECT_EQ(std::set<arena::SongId>(r.songs.begin(), r.songs.end()).size(), 100u) << name(m);
      EXPECT_EQ(std::set<std::string>(r.tags.begin(), r.tags.end()).size(), 10u) << name(m);
      for (auto s : r.songs) {
        EXPECT_EQ(std::count(q.songs.begin(), q.songs.end(), s), 0) << name(m) << " returned shown song " << s;
        EXPECT_TRUE(arena::released_by(arena::date_key(w.meta.songs[s].issue_date), 20150601))
            << name(m) << " returned song " << s << " released after the playlist's update";
      }
      for (auto& t : r.tags)
        EXPECT_EQ(std::count(q.tags.begin(), q.tags.end(), t), 0) << name(m) << " returned shown tag " << t;
    }
  }
}

TEST(References, AnswerIsTheTopOfTheCandidates) {
  World w;
  std::vector<arena::Playlist> qs = {question(20, {10, 11}, {}), question(21, {}, {"rock"})};
  for (auto m : kAll) {
    auto cands = recommend::reference_candidates(m, w.train, qs, &w.meta, small_options(), 7, 3);
    auto answers = recommend::run_reference(m, w.train, qs, &w.meta, small_options());
    ASSERT_EQ(cands.size(), qs.size());
    for (std::size_t i = 0; i < qs.size(); ++i) {
      EXPECT_EQ(cands[i].id, qs[i].id);
      ASSERT_LE(cands[i].songs.size(), 7u);
      ASSERT_LE(cands[i].tags.size(), 3u);
      ASSERT_FALSE(cands[i].songs.empty()) << name(m);
      for (std::size_t k = 0; k < cands[i].songs.size(); ++k) {
        EXPECT_EQ(cands[i].songs[k].first, answers[i].songs[k]) << name(m) << " position " << k;
        if (k > 0) {
          EXPECT_GE(cands[i].songs[k - 1].second, cands[i].songs[k].second) << name(m);
        }
      }
      for (std::size_t k = 0; k < cands[i].tags.size(); ++k) EXPECT_EQ(cands[i].tags[k].first, answers[i].tags[k]);
    }
  }
}

TEST(References, CorpusIndexIsTheTransposeOfThePlaylists) {
  World w;
  auto c = recommend::build_corpus(w.train, w.meta.size(), {});
  ASSERT_EQ(c.n_playlists(), w.train.size());
  EXPECT_EQ(c.count(2), 40);   // the hit
  EXPECT_EQ(c.count(10), 11);  // group A and six fillers
  EXPECT_EQ(c.count(c.tag_item.at("pop")), 40);
  EXPECT_EQ(c.count(c.token_item.at("w:rainy")), 5);
  for (std::size_t p = 0; p < c.n_playlists(); ++p)
    for (auto k = c.offsets[p]; k < c.offsets[p + 1]; ++k)
      EXPECT_EQ(c.is_token(c.items[k]), k >= c.tokens_at[p]) << "tokens come last in playlist " << p;
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(c.n_items()); ++i)
    for (auto k = c.item_offsets[i]; k < c.item_offsets[i + 1]; ++k) {
      const auto p = c.playlists[k];
      EXPECT_TRUE(std::binary_search(c.items.begin() + c.offsets[p], c.items.begin() + c.offsets[p + 1], i));
    }
}

TEST(References, EaseGramIsXTransposeX) {
  World w;
  auto c = recommend::build_corpus(w.train, w.meta.size(), {});
  recommend::ReferenceOptions opt;
  opt.ease_songs = 20;
  opt.ease_tags = 3;
  opt.ease_tokens = 2;
  auto cols = recommend::ease::choose_columns(c, opt);
  ASSERT_EQ(cols.items.size(), 25u);
  EXPECT_EQ(cols.items[0], 2);  // the most frequent song comes first
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(c.n_playlists()), 25);
  for (std::size_t p = 0; p < c.n_playlists(); ++p)
    for (auto k = c.offsets[p]; k < c.offsets[p + 1]; ++k)
      if (auto j = cols.column_of[c.items[k]]; j >= 0) x(static_cast<Eigen::Index>(p), j) = 1;
  Eigen::MatrixXd want = x.transpose() * x;
  EXPECT_EQ(recommend::ease::gram(c, cols), want);
}

TEST(References, EaseWeightsMatchADirectDenseSolve) {
  // A random 0/1 matrix of 40 playlists x 12 items.
  Eigen::MatrixXd x(40, 12);
  std::uint64_t state = 12345;
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      x(i, j) = (state >> 33) % 3 == 0 ? 1.0 : 0.0;
    }
  const Eigen::MatrixXd g = x.transpose() * x;
  for (double lambda : {0.5, 10.0, 300.0}) {
    Eigen::MatrixXd p = (g + lambda * Eigen::MatrixXd::Identity(12, 12)).fullPivLu().inverse();
    Eigen::MatrixXd want = Eigen::MatrixXd::Identity(12, 12) - p * p.diagonal().cwiseInverse().asDiagonal();
    Eigen::MatrixXd got = recommend::ease::weights(g, lambda);
    EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 1e-5) << "lambda " << lambda;
    EXPECT_EQ(got.diagonal().cwiseAbs().maxCoeff(), 0.0);
    // The stationarity condition of the constrained least squares: off the
    // diagonal, (G + lambda I) B = G.
    Eigen::MatrixXd r = (g + lambda * Eigen::MatrixXd::Identity(12, 12)) * got - g;
    r.diagonal().setZero();
    EXPECT_LT(r.cwiseAbs().maxCoeff(), 1e-8) << "lambda " << lambda;
  }
  EXPECT_THROW(recommend::ease::weights(g, 0.0), Error);
}

TEST(References, BadOptionsAreRejectedWithContext) {
  World w;
  auto q = question(30, {10}, {});
  auto opt = small_options();
  opt.neighbours = 0;
  EXPECT_THROW(recommend::run_reference(ReferenceMethod::PlaylistKnn, w.train, {q}, &w.meta, opt), Error);
  opt = small_options();
  opt.ease_lambda = -1;
  EXPECT_THROW(recommend::run_reference(ReferenceMethod::Ease, w.train, {q}, &w.meta, opt), Error);
  opt = small_options();
  opt.mixture_clusters = 0;
  EXPECT_THROW(recommend::run_reference(ReferenceMethod::Mixture, w.train, {q}, &w.meta, opt), Error);
  opt = small_options();
  opt.mixture_iterations = 0;
  EXPECT_THROW(recommend::run_reference(ReferenceMethod::Mixture, w.train, {q}, &w.meta, opt), Error);
}

TEST(References, MixtureGivesEachPlantedGroupItsOwnClusterAndTheSameFitTwice) {
  World w;
  const auto c = recommend::build_corpus(w.train, w.meta.size(), {});
  const auto f = recommend::fit_reference(ReferenceMethod::Mixture, c, small_options());
  ASSERT_EQ(f.n_out, 8u);
  ASSERT_EQ(f.prior.size(), 8u);
  ASSERT_EQ(f.weights.size(), f.columns.size() * 8);
  // Every item a playlist holds is a column, and nothing else.
  std::size_t held = 0;
  for (std::size_t i = 0; i < c.n_items(); ++i) held += c.count(static_cast<std::int32_t>(i)) > 0;
  EXPECT_EQ(f.columns.size(), held);
  // Each cluster's song chances sum to one (the tags' and tokens' too).
  std::vector<double> songs(8), tags(8);
  for (std::size_t j = 0; j < f.columns.size(); ++j)
    for (std::size_t k = 0; k < 8; ++k) {
      const double p = std::exp(static_cast<double>(f.weights[j * 8 + k]));
      if (c.is_song(f.columns[j])) songs[k] += p;
      if (c.is_tag(f.columns[j])) tags[k] += p;
    }
  for (std::size_t k = 0; k < 8; ++k) {
    EXPECT_NEAR(songs[k], 1.0, 1e-4) << "cluster " << k;
    EXPECT_NEAR(tags[k], 1.0, 1e-4) << "cluster " << k;
  }
  // Groups A, B and C share no item: the cluster most likely to hold song
  // 20 (group B) gives song 30 (group C) a vanishing chance, and vice versa.
  auto column = [&](std::int32_t item) {
    return static_cast<std::size_t>(std::find(f.columns.begin(), f.columns.end(), item) - f.columns.begin());
  };
  auto best_cluster = [&](std::int32_t item) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < 8; ++k)
      if (f.weights[column(item) * 8 + k] > f.weights[column(item) * 8 + best]) best = k;
    return best;
  };
  const auto kb = best_cluster(20), kc = best_cluster(30);
  EXPECT_NE(kb, kc);
  EXPECT_LT(f.weights[column(30) * 8 + kb], f.weights[column(20) * 8 + kb] - 3.0);
  EXPECT_LT(f.weights[column(20) * 8 + kc], f.weights[column(30) * 8 + kc] - 3.0);
  // A fixed start: the same fit, bit for bit, every time.
  const auto again = recommend::fit_reference(ReferenceMethod::Mixture, c, small_options());
  EXPECT_EQ(again.weights, f.weights);
  EXPECT_EQ(again.prior, f.prior);
}

TEST(References, WithoutSongMetaSongIdsComeFromTrainingAndNoDateRuleApplies) {
  World w;
  auto r = recommend::run_reference(ReferenceMethod::ItemKnn, w.train, {question(40, {}, {}, "rainy day")}, nullptr,
                                    small_options());
  ASSERT_EQ(r[0].songs.size(), 100u);
  std::set<arena::SongId> top(r[0].songs.begin(), r[0].songs.begin() + 3);
  EXPECT_EQ(top, (std::set<arena::SongId>{30, 31, 32}));
}

namespace {
void expect_same(const arena::Candidates& a, const arena::Candidates& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.songs, b.songs);
  EXPECT_EQ(a.tags, b.tags);
}
}  // namespace

TEST(References, NamesRoundTrip) {
  for (auto m : kAll) {
    EXPECT_STREQ(recommend::to_string(m), name(m));
    EXPECT_EQ(recommend::parse_reference(recommend::to_string(m)), m);
    EXPECT_TRUE(recommend::is_reference(recommend::to_string(m)));
  }
}

TEST(CandidateSources, AReferenceSourceGivesItsReferencesCandidatesForAnyThreadCount) {
  World w;
  const auto opt = small_options();
  const auto c = recommend::build_corpus(w.train, w.meta.size(), opt.tokenizer);
  const auto dates = arena::song_dates(w.meta);
  std::vector<arena::Playlist> qs;
  for (int i = 0; i < 40; ++i) qs.push_back(question(100 + i, {10 + i % 3, 20 + i % 3}, {i % 2 ? "rock" : "rain"}));
  for (auto m : kAll) {
    std::shared_ptr<const recommend::Reference> ref = recommend::make_reference(m, c, opt);
    const auto src = recommend::reference_source(name(m), ref, c, opt, dates);
    EXPECT_EQ(src->name(), name(m));
    EXPECT_FALSE(src->logits());
    util::ThreadPool one, three(3);
    const auto a = src->candidates(qs, 7, 3, one), b = src->candidates(qs, 7, 3, three);
    ASSERT_EQ(a.size(), qs.size());
    ASSERT_EQ(b.size(), qs.size());
    recommend::Workspace ws;
    for (std::size_t i = 0; i < qs.size(); ++i) {
      expect_same(a[i], b[i]);
      expect_same(a[i], recommend::candidates(*ref, c, qs[i], opt, dates, 7, 3, ws));
    }
  }
}

TEST(CandidateSources, TheTitleSourceAnswersFromTheTitleAlone) {
  World w;
  const auto opt = small_options();
  const auto c = recommend::build_corpus(w.train, w.meta.size(), opt.tokenizer);
  const std::vector<std::int32_t> no_dates;
  std::shared_ptr<const recommend::Reference> knn = recommend::make_reference(ReferenceMethod::ItemKnn, c, opt);
  const auto src = recommend::title_source(knn, c, opt, no_dates);
  EXPECT_EQ(src->name(), "title");
  util::ThreadPool one;
  const std::vector<arena::Playlist> qs = {question(1, {20, 21}, {"rock"}, "quiet night")};
  const auto got = src->candidates(qs, 7, 3, one);
  ASSERT_EQ(got.size(), 1u);
  recommend::Workspace ws;
  expect_same(got[0], recommend::candidates(*knn, c, question(1, {}, {}, "quiet night"), opt, no_dates, 7, 3, ws));
  EXPECT_EQ(
      std::count_if(got[0].songs.begin(), got[0].songs.end(), [](auto& s) { return s.first == 10 || s.first == 11; }),
      2);  // the title's group, not the shown songs'
}

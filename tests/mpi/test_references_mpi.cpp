// Reference recommenders under 1, 2 and 3 ranks: the data-parallel answers
// equal a serial computation on rank 0, and EASE's allreduce'd Gram matrix
// equals X^T X counted serially (exactly: its entries are integer counts).
// Together these make the answers independent of the rank count.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <gtest/gtest.h>

#include <algorithm>

#include "melon/arena/rules.hpp"
#include "melon/eval/metric.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/recommend/references.hpp"
#include "melon/recommend/tuning.hpp"

using namespace melon;
using recommend::ReferenceMethod;

namespace {

struct Data {
  arena::SongMeta meta;
  std::vector<arena::Playlist> train, questions;
  Data() {
    for (int s = 0; s < 500; ++s) {
      arena::Song song;
      song.id = s;
      song.issue_date = s % 37 == 0 ? "20200301" : "2010" + std::string(s % 2 ? "0101" : "0615");
      meta.songs.push_back(song);
    }
    const char* words[] = {"rainy", "day", "drive", "night", "love", "summer"};
    for (int i = 0; i < 211; ++i) {
      arena::Playlist p;
      p.id = i;
      const int taste = i % 5;
      for (int k = 0; k < 8 + i % 30; ++k) p.songs.push_back((taste * 100 + (i * 13 + k * k) % 100) % 500);
      std::sort(p.songs.begin(), p.songs.end());
      p.songs.erase(std::unique(p.songs.begin(), p.songs.end()), p.songs.end());
      p.tags = {"t" + std::to_string(taste), "u" + std::to_string(i % 7)};
      p.title = std::string(words[taste]) + " " + words[i % 6];
      p.updt_date = "2018-01-01 00:00:00.000";
      train.push_back(p);
    }
    for (int i = 0; i < 37; ++i) {
      arena::Playlist q;
      q.id = 5000 + i;
      q.updt_date = i % 4 ? "2019-05-05 00:00:00.000" : "2021-01-01 00:00:00.000";
      switch (i % 4) {
        case 0: q.songs = {i, 100 + i, 2 * i}; break;
        case 1: q.songs = {200 + i, 201 + i}, q.tags = {"t2"}; break;
        case 2: q.tags = {"t" + std::to_string(i % 5)}; break;
        default: q.title = std::string(words[i % 6]) + " mix"; break;
      }
      questions.push_back(q);
    }
  }
};

recommend::ReferenceOptions options() {
  recommend::ReferenceOptions o;
  o.ease_lambda = 20;
  o.neighbours = 30;
  return o;
}

bool same(const arena::Result& a, const arena::Result& b) {
  return a.id == b.id && a.songs == b.songs && a.tags == b.tags;
}

}  // namespace

TEST(ReferencesMpi, DataParallelAnswersEqualSerialAnswersForEveryMethod) {
  Data d;
  for (auto m :
       {ReferenceMethod::ItemKnn, ReferenceMethod::PlaylistKnn, ReferenceMethod::Ease, ReferenceMethod::Mixture}) {
    auto parallel = recommend::run_reference(m, d.train, d.questions, &d.meta, options());
    // The serial reference: rank 0 answers every question from the same model.
    auto corpus = recommend::build_corpus(d.train, d.meta.size(), options().tokenizer);
    auto ref = recommend::make_reference(m, corpus, options());  // collective for ease and mixture
    bool ok = true;
    if (mpi::rank(mpi::world()) == 0) {
      const auto dates = arena::song_dates(d.meta);
      recommend::Workspace ws;
      ok = parallel.size() == d.questions.size();
      for (std::size_t i = 0; ok && i < d.questions.size(); ++i) {
        auto c = recommend::candidates(*ref, corpus, d.questions[i], options(), dates, 100, 10, ws);
        ok = same(parallel[i], recommend::answer(c, corpus, d.questions[i], dates));
      }
    } else {
      ok = parallel.empty();
    }
    EXPECT_FALSE(mpi::any(mpi::world(), !ok))
        << "method " << static_cast<int>(m) << " on " << mpi::size(mpi::world()) << " ranks";
  }
}

// The mixture's E-step (playlists) and M-step (items) are each split over the
// ranks and gathered, so every rank must hold the same bits (a rank that
// drifted would answer its block of questions from another model).
TEST(ReferencesMpi, MixtureFitIsTheSameBitsOnEveryRank) {
  Data d;
  auto opt = options();
  opt.mixture_clusters = 7;
  opt.mixture_iterations = 9;
  const auto corpus = recommend::build_corpus(d.train, d.meta.size(), opt.tokenizer);
  const auto f = recommend::fit_reference(ReferenceMethod::Mixture, corpus, opt);
  std::vector<double> mine(f.weights.begin(), f.weights.end());
  mine.insert(mine.end(), f.prior.begin(), f.prior.end());
  auto root = mine;
  mpi::bcast(mpi::world(), root, 0);
  EXPECT_FALSE(mpi::any(mpi::world(), root != mine)) << "on " << mpi::size(mpi::world()) << " ranks";
  EXPECT_EQ(f.n_out, 7u);
}

// Each rank answers one contiguous block, in rank order (the blocks are cut
// by estimated cost, mpi::weighted_range, so their sizes may differ).
TEST(ReferencesMpi, CandidatesAreShardedByContiguousQuestionBlocks) {
  Data d;
  auto mine = recommend::reference_candidates(ReferenceMethod::ItemKnn, d.train, d.questions, &d.meta, options(), 50,
                                              5);
  const auto sizes = mpi::allgather(mpi::world(), static_cast<std::int64_t>(mine.size()));
  std::int64_t begin = 0;
  for (int r = 0; r < mpi::rank(mpi::world()); ++r) begin += sizes[static_cast<std::size_t>(r)];
  bool ok = begin + static_cast<std::int64_t>(mine.size()) <= static_cast<std::int64_t>(d.questions.size());
  for (std::size_t k = 0; ok && k < mine.size(); ++k)
    ok = mine[k].id == d.questions[begin + k].id && mine[k].songs.size() <= 50 && mine[k].tags.size() <= 5;
  const auto total = mpi::allreduce_sum(mpi::world(), static_cast<std::int64_t>(mine.size()));
  EXPECT_FALSE(mpi::any(mpi::world(), !ok));
  EXPECT_EQ(total, static_cast<std::int64_t>(d.questions.size()));
}

TEST(ReferencesMpi, EaseGramAllreduceEqualsSerialCounts) {
  Data d;
  auto corpus = recommend::build_corpus(d.train, d.meta.size(), {});
  recommend::ReferenceOptions o;
  o.ease_songs = 150;
  o.ease_tags = 8;
  o.ease_tokens = 20;
  auto cols = recommend::ease::choose_columns(corpus, o);
  auto g = recommend::ease::gram(corpus, cols);
  Eigen::MatrixXd want = Eigen::MatrixXd::Zero(g.rows(), g.cols());
  for (std::size_t p = 0; p < corpus.n_playlists(); ++p)
    for (auto a = corpus.offsets[p]; a < corpus.offsets[p + 1]; ++a)
      for (auto b = corpus.offsets[p]; b < corpus.offsets[p + 1]; ++b) {
        const auto i = cols.column_of[corpus.items[a]], j = cols.column_of[corpus.items[b]];
        if (i >= 0 && j >= 0) want(i, j) += 1;
      }
  EXPECT_FALSE(mpi::any(mpi::world(), g != want));
}

// Tuning answers the held-out questions data-parallel and scores them on
// rank 0: every trial's score, and so the choice, equals a serial
// computation bit for bit, whatever the rank count.
TEST(ReferencesMpi, TuningScoresEqualASerialComputationOnEveryRankCount) {
  Data d;
  const auto held = recommend::held_out_set(d.train, recommend::draw_held_out(d.train, 40, 1), 1);
  const auto corpus = recommend::build_corpus(held.fit_on, d.meta.size(), {});
  const auto dates = arena::song_dates(d.meta);
  // EASE's five lambdas are solved a round of one per rank, each broadcast from its own rank.
  for (auto m : {ReferenceMethod::ItemKnn, ReferenceMethod::Ease}) {
    const auto grid = recommend::tuning_grid(m, options(), {"beta"});
    const auto t = recommend::tune(m, corpus, held, dates, grid);
    // The serial computation: every fit on this rank (collective for ease), scored here.
    std::vector<std::unique_ptr<recommend::Reference>> refs;
    for (const auto& o : grid) refs.push_back(recommend::make_reference(m, corpus, o));
    bool ok = t.trials.size() == grid.size();
    if (ok && mpi::rank(mpi::world()) == 0) {
      recommend::Workspace ws;
      std::size_t best = 0;
      std::vector<double> want;
      for (std::size_t g = 0; g < grid.size(); ++g) {
        double songs = 0, tags = 0;
        std::size_t ns = 0, nt = 0;
        for (std::size_t i = 0; i < held.questions.size(); ++i) {
          const auto& q = held.questions[i];
          const auto r = recommend::answer(recommend::candidates(*refs[g], corpus, q, grid[g], dates, 100, 10, ws),
                                           corpus, q, dates);
          if (!held.answers[i].songs.empty()) songs += eval::ndcg(r.songs, held.answers[i].songs), ++ns;
          if (!held.answers[i].tags.empty()) tags += eval::ndcg(r.tags, held.answers[i].tags), ++nt;
        }
        want.push_back(0.85 * (ns ? songs / static_cast<double>(ns) : 0.0) +
                       0.15 * (nt ? tags / static_cast<double>(nt) : 0.0));
        if (want.back() > want[best]) best = want.size() - 1;
      }
      for (std::size_t i = 0; ok && i < grid.size(); ++i) ok = t.trials[i].score == want[i];
      ok = ok && t.chosen == best;
    }
    EXPECT_FALSE(mpi::any(mpi::world(), !ok))
        << recommend::to_string(m) << " on " << mpi::size(mpi::world()) << " ranks";
  }
}

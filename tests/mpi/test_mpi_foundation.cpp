// Foundation behaviour under 1, 2 and 3 ranks: the MPI wrapper's collectives
// and the data-parallel baseline agree with a serial computation.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "melon/mpi/mpi.hpp"
#include "melon/recommend/baseline.hpp"
#include "melon/util/thread_pool.hpp"

using namespace melon;

TEST(MpiFoundation, RanksStartedByMpirunKnowTheyWereLaunched) { EXPECT_TRUE(mpi::launched()); }

TEST(MpiFoundation, BlockRangesCoverEveryItemOnce) {
  for (std::int64_t n : {0, 1, 2, 5, 100, 101}) {
    std::int64_t next = 0;
    for (int r = 0; r < 3; ++r) {
      auto g = mpi::block_range(n, r, 3);
      EXPECT_EQ(g.begin, next);
      EXPECT_GE(g.end, g.begin);
      next = g.end;
    }
    EXPECT_EQ(next, n);
  }
}

TEST(MpiFoundation, WeightedRangesCoverEveryItemOnceAndBalanceTheCost) {
  for (int p : {1, 2, 3, 5}) {
    // Costs that rise along the list: equal counts would give the last rank most of the work.
    std::vector<double> cost(101);
    for (std::size_t i = 0; i < cost.size(); ++i) cost[i] = 1.0 + static_cast<double>(i * i);
    const double total = std::accumulate(cost.begin(), cost.end(), 0.0);
    std::int64_t next = 0;
    for (int r = 0; r < p; ++r) {
      auto g = mpi::weighted_range(cost, r, p);
      EXPECT_EQ(g.begin, next);
      EXPECT_GE(g.end, g.begin);
      const double share = std::accumulate(cost.begin() + g.begin, cost.begin() + g.end, 0.0);
      // Off by at most the dearest item from an equal share.
      EXPECT_LE(std::abs(share - total / p), 1.0 + 100.0 * 100.0) << "rank " << r << " of " << p;
      next = g.end;
    }
    EXPECT_EQ(next, 101);
    EXPECT_GT(mpi::weighted_range(cost, 0, 2).end, 60);  // the cheap first half and more
  }
  EXPECT_EQ(mpi::weighted_range({}, 0, 2).end, 0);
  const std::vector<double> zeros(7, 0.0);  // no costs: equal counts
  EXPECT_EQ(mpi::weighted_range(zeros, 1, 2).begin, mpi::block_range(7, 1, 2).begin);
}

TEST(MpiFoundation, AllreduceAndGatherMatchSerialSums) {
  const int p = mpi::size(mpi::world()), r = mpi::rank(mpi::world());
  std::vector<std::int64_t> v{r + 1, 10 * (r + 1)};
  mpi::allreduce_sum(mpi::world(), v);
  EXPECT_EQ(v[0], p * (p + 1) / 2);
  EXPECT_EQ(v[1], 10 * p * (p + 1) / 2);
  EXPECT_EQ(mpi::any(mpi::world(), r == p - 1), true);
  EXPECT_EQ(mpi::any(mpi::world(), false), false);
  std::string all = mpi::gather_bytes(mpi::world(),
                                      std::string(static_cast<std::size_t>(r + 1), static_cast<char>('a' + r)));
  if (r == 0) {
    std::string want;
    for (int i = 0; i < p; ++i) want += std::string(static_cast<std::size_t>(i + 1), static_cast<char>('a' + i));
    EXPECT_EQ(all, want);
  }
  auto each = mpi::allgather_bytes(mpi::world(), std::to_string(r));
  ASSERT_EQ(static_cast<int>(each.size()), p);
  for (int i = 0; i < p; ++i) EXPECT_EQ(each[i], std::to_string(i));
}

// A broadcast resizes every rank's vector to the root's and fills it; a root
// other than rank 0 and a float vector (EASE's weights) included.
TEST(MpiFoundation, BroadcastGivesEveryRankTheRootsValues) {
  const int p = mpi::size(mpi::world()), r = mpi::rank(mpi::world());
  const int root = p - 1;
  std::vector<float> f(static_cast<std::size_t>(r + 2), static_cast<float>(r) + 0.25f);
  mpi::bcast(mpi::world(), f, root);
  EXPECT_EQ(f, std::vector<float>(static_cast<std::size_t>(root + 2), static_cast<float>(root) + 0.25f));
  std::vector<double> d = r == 0 ? std::vector<double>{1.5, -2.0, 1e300} : std::vector<double>{};
  mpi::bcast(mpi::world(), d, 0);
  EXPECT_EQ(d, (std::vector<double>{1.5, -2.0, 1e300}));
}

// Every rank throws the same error; whole_job says whether every rank of the
// job is failing with it (then each may report before the job is aborted).
TEST(MpiFoundation, SharedErrorsKnowWhetherTheWholeJobFails) {
  const int p = mpi::size(mpi::world()), r = mpi::rank(mpi::world());
  try {
    mpi::throw_if_any(mpi::world(), r == p - 1 ? "last rank failed" : "");
    ADD_FAILURE() << "throw_if_any did not throw";
  } catch (const mpi::SharedError& e) {
    EXPECT_TRUE(e.whole_job);
    EXPECT_NE(std::string(e.what()).find("last rank failed"), std::string::npos) << e.what();
  }
  try {
    mpi::on_root(mpi::world(), [] { MELON_THROW("root failed"); });
    ADD_FAILURE() << "on_root did not throw";
  } catch (const mpi::SharedError& e) {
    EXPECT_TRUE(e.whole_job);
    EXPECT_STREQ(e.what(), "root failed");
  }
  mpi::SplitComm half(mpi::world(), r % 2, r);
  try {
    mpi::throw_if_any(half.get(), "every rank of the half failed");
    ADD_FAILURE() << "throw_if_any did not throw";
  } catch (const mpi::SharedError& e) {
    EXPECT_EQ(e.whole_job, p == 1) << "a communicator of " << mpi::size(half.get()) << " of " << p << " ranks";
  }
}

TEST(MpiFoundation, DataParallelBaselineEqualsSerialCounts) {
  arena::SongMeta meta;
  for (int s = 0; s < 300; ++s) {
    arena::Song song;
    song.id = s;
    song.genres = {s % 2 ? "GN0100" : "GN0200"};
    meta.songs.push_back(song);
  }
  std::vector<arena::Playlist> train, questions;
  for (int i = 0; i < 97; ++i) {
    arena::Playlist p;
    p.id = i;
    for (int k = 0; k < 5 + i % 40; ++k) p.songs.push_back((i * 7 + k * k) % 300);
    std::sort(p.songs.begin(), p.songs.end());
    p.songs.erase(std::unique(p.songs.begin(), p.songs.end()), p.songs.end());
    p.tags = {"t" + std::to_string(i % 13), "u" + std::to_string(i % 5)};
    train.push_back(p);
  }
  for (int i = 0; i < 17; ++i) {
    arena::Playlist q;
    q.id = 1000 + i;
    if (i % 3) q.songs = {i, i + 1, 2 * i};
    questions.push_back(q);
  }
  auto pop = recommend::count_popularity(train, meta.size());
  std::vector<std::int64_t> serial(meta.size(), 0);
  for (auto& p : train)
    for (auto s : p.songs) ++serial[s];
  EXPECT_EQ(pop.song_count, serial);
  auto results = recommend::run_baseline(recommend::BaselineMethod::GenreMostPopular, train, questions, &meta);
  if (mpi::rank(mpi::world()) == 0) {
    ASSERT_EQ(results.size(), questions.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i].id, questions[i].id) << "answers must come back in question order";
      EXPECT_EQ(results[i].songs.size(), 100u);
      EXPECT_EQ(results[i].tags.size(), 10u);
    }
  } else {
    EXPECT_TRUE(results.empty());
  }
}

// mpi::cpu_sharers and threads_per_rank: every rank pinned to one CPU shares
// it with every rank of the node (one thread each); ranks on CPUs of their
// own share with none. Each rank's mask is restored after.
TEST(MpiFoundation, RanksCountWhoSharesTheirCpusAndSizeTheirPoolsByIt) {
  const auto comm = mpi::world();
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  // The CPUs some rank of this node may run on now (each may be bound to one core).
  std::vector<std::uint64_t> node_cpus(16, 0);
  {
    const auto mine = util::allowed_cpus();
    for (const auto& bytes :
         mpi::allgather_bytes(comm, std::string(reinterpret_cast<const char*>(mine.data()), mine.size() * 8)))
      for (std::size_t w = 0; w < bytes.size() / 8 && w < node_cpus.size(); ++w) {
        std::uint64_t x;
        std::memcpy(&x, bytes.data() + w * 8, 8);
        node_cpus[w] |= x;
      }
  }
  std::vector<int> cpus;
  for (std::size_t c = 0; c < node_cpus.size() * 64; ++c)
    if (node_cpus[c / 64] >> (c % 64) & 1) cpus.push_back(static_cast<int>(c));
  ASSERT_FALSE(cpus.empty());
  auto pin = [&](std::vector<int> on) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : on) CPU_SET(c, &set);
    ASSERT_EQ(sched_setaffinity(0, sizeof set, &set), 0);
  };
  const int ranks = mpi::node_size(comm);  // the tests' ranks run on one node
  pin({cpus.front()});
  EXPECT_EQ(mpi::cpu_sharers(comm), ranks);
  EXPECT_EQ(mpi::threads_per_rank(0, comm), 1);
  EXPECT_EQ(mpi::threads_per_rank(4, comm), 4);
  pin(cpus);
  EXPECT_EQ(mpi::cpu_sharers(comm), ranks);
  EXPECT_EQ(mpi::threads_per_rank(0, comm), std::max(1, static_cast<int>(cpus.size()) / ranks));
  if (static_cast<int>(cpus.size()) >= ranks) {
    pin({cpus[static_cast<std::size_t>(mpi::rank(comm))]});
    EXPECT_EQ(mpi::cpu_sharers(comm), 1);
    EXPECT_EQ(mpi::threads_per_rank(0, comm), 1);
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
}

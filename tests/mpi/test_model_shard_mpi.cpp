// The vocabulary-parallel model (ae::Shard) under mpirun -np 1/2/3: each
// rank's loss and its part of the gradient equal the whole model's, computed
// alone on every rank, for even and lopsided splits (a rank owning no tag).
#include <gtest/gtest.h>

#include <cmath>

#include "melon/ae/autoencoder.hpp"
#include "melon/mpi/mpi.hpp"
#include "../support/tiny_model.hpp"

using namespace melon;
using namespace melon::ae;
using namespace melon::test_support;

namespace {

// Compares this rank's sharded gradient with the whole model's on the parts
// the shard owns; returns the largest difference seen.
double shard_vs_whole(const Dims& d, const Shard& sh) {
  const auto L = make_layout(d);
  const auto b = tiny_batch(d);
  const auto S = song_audio(d);
  const auto p = random_params<double>(L, 23);
  const auto nb = tiny_neighbours(d);
  const Neighbours* nbr = d.neighbours > 0 ? &nb : nullptr;
  util::ThreadPool pool(2);
  const LossWeights lw{1.0, 0.7};
  Workspace<double> w1, w2;
  Grad<double> whole, part;
  const auto lw_whole = forward_backward<double>(L, p.data(), S, b, lw, 1.0 / 3, whole, w1, pool, nullptr, nbr);
  const auto lw_part = forward_backward<double>(L, p.data(), S, b, lw, 1.0 / 3, part, w2, pool, &sh, nbr);
  double diff = std::max(std::abs(lw_whole.song - lw_part.song), std::abs(lw_whole.tag - lw_part.tag));
  EXPECT_EQ(lw_whole.n_song, lw_part.n_song);
  EXPECT_EQ(lw_whole.n_tag, lw_part.n_tag);
  for (const auto& t : L.tensors) {
    if (t.name == "input") continue;
    const auto [begin, end] = shard_part(t, sh);
    for (auto i = begin; i < end; ++i)
      diff = std::max(diff, std::abs(whole.dense[i - L.sparse_end] - part.dense[i - L.sparse_end]));
  }
  // Input rows: exactly the whole model's touched rows inside the shard, with their gradients.
  const std::int64_t h0 = d.hidden.front();
  std::size_t k = 0;
  for (std::size_t r = 0; r < whole.rows.size(); ++r) {
    if (whole.rows[r] < sh.in0 || whole.rows[r] >= sh.in1) continue;
    EXPECT_LT(k, part.rows.size());
    if (k >= part.rows.size()) break;
    EXPECT_EQ(part.rows[k], whole.rows[r]);
    for (std::int64_t c = 0; c < h0; ++c)
      diff = std::max(diff, std::abs(whole.row_grad[r * h0 + c] - part.row_grad[k * h0 + c]));
    ++k;
  }
  EXPECT_EQ(k, part.rows.size());
  return diff;
}

}  // namespace

TEST(ModelShardMpi, EachRanksGradientEqualsTheWholeModelsOnItsSlice) {
  const int r = mpi::rank(mpi::world()), n = mpi::size(mpi::world());
  for (const auto& d : {tiny_dims(0, {6}), tiny_dims(3, {5, 4}), tiny_dims(2, {4, 5, 3}, 11, 6),
                        with_neighbours(tiny_dims(2, {5, 4}))}) {
    const auto sh = make_shard(d, n > 1 ? mpi::world() : MPI_COMM_NULL, r, n);
    const double diff = shard_vs_whole(d, sh);
    EXPECT_LT(diff, 1e-12) << "hidden " << join_widths(d.hidden) << ", rank " << r << " of " << n;
    EXPECT_FALSE(mpi::any(mpi::world(), !(diff < 1e-12)));
  }
}

TEST(ModelShardMpi, LopsidedSlicesWithEmptyOnesGiveTheSameGradient) {
  const int r = mpi::rank(mpi::world()), n = mpi::size(mpi::world());
  const auto d = tiny_dims(2, {5, 4});
  auto sh = make_shard(d, n > 1 ? mpi::world() : MPI_COMM_NULL, r, n);
  if (n > 1) {
    // Rank 0 owns one song; the last rank every tag and every input row after the songs.
    const auto songs = r > 0 ? mpi::block_range(d.n_songs - 1, r - 1, n - 1) : mpi::Range{0, 0};
    sh.s0 = r == 0 ? 0 : 1 + songs.begin;
    sh.s1 = r == 0 ? 1 : 1 + songs.end;
    sh.t0 = r == n - 1 ? 0 : d.n_tags;
    sh.t1 = d.n_tags;
    const auto in = r < n - 1 ? mpi::block_range(d.n_songs, r, n - 1) : mpi::Range{0, 0};
    sh.in0 = r == n - 1 ? d.n_songs : in.begin;
    sh.in1 = r == n - 1 ? d.n_inputs() : in.end;
  }
  const double diff = shard_vs_whole(d, sh);
  EXPECT_LT(diff, 1e-12) << "rank " << r << " of " << n;
  EXPECT_FALSE(mpi::any(mpi::world(), !(diff < 1e-12)));
}

TEST(ModelShardMpi, TheSpansOfAllShardsCoverTheLayoutOnce) {
  const auto d = tiny_dims(3, {5, 4}, 11, 6);
  const auto L = make_layout(d);
  const int n = mpi::size(mpi::world());
  std::vector<int> owners(static_cast<std::size_t>(L.total), 0);
  for (int r = 0; r < n; ++r)
    for (const auto& t : L.tensors) {
      const auto [begin, end] = shard_part(t, make_shard(d, MPI_COMM_NULL, r, n));
      for (auto i = begin; i < end; ++i) owners[i] += is_sharded(t) ? 1 : (r == 0);
    }
  for (const auto& t : L.tensors)
    for (auto i = t.offset; i < t.offset + t.size(); ++i) EXPECT_EQ(owners[i], 1) << t.name << " " << i - t.offset;
}

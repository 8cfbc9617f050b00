// The autoencoder's gradients against central finite differences, in double,
// for every tensor; float against double; Adam's row-sparse path against the
// dense one; the thread pool's determinism.
#include <gtest/gtest.h>

#include <cmath>

#include "melon/ae/autoencoder.hpp"
#include "melon/error.hpp"
#include "melon/train/adam.hpp"
#include "melon/util/rng.hpp"
#include "../support/tiny_model.hpp"

using namespace melon;
using namespace melon::ae;
using namespace melon::test_support;

namespace {

void gradient_check(const Dims& d) {
  const auto nb = tiny_neighbours(d);
  const Neighbours* nbr = d.neighbours > 0 ? &nb : nullptr;
  auto L = make_layout(d);
  auto b = tiny_batch(d);
  auto S = song_audio(d);
  auto p = random_params<double>(L, 17);
  util::ThreadPool pool(2);
  Workspace<double> ws;
  Grad<double> g;
  const LossWeights lw{1.0, 0.7};
  const double scale = 1.0 / 3;
  forward_backward<double>(L, p.data(), S, b, lw, scale, g, ws, pool, nullptr, nbr);
  auto f = [&]() {
    auto s = loss_only<double>(L, p.data(), S, b, ws, pool, nbr);
    return scale * (lw.song * s.song + lw.tag * s.tag);
  };
  auto analytic = [&](std::int64_t flat) -> double {
    if (flat >= L.sparse_end) return g.dense[flat - L.sparse_end];
    const std::int64_t h0 = d.hidden.front(), row = flat / h0, col = flat % h0;
    for (std::size_t r = 0; r < g.rows.size(); ++r)
      if (g.rows[r] == row) return g.row_grad[r * h0 + col];
    return 0.0;  // untouched row: no gradient
  };
  int checked = 0;
  for (auto& t : L.tensors) {
    if (t.size() == 0) continue;
    for (std::int64_t i = 0; i < t.size(); ++i) {
      const auto flat = t.offset + i;
      const double keep = p[flat], h = 1e-6;
      p[flat] = keep + h;
      const double up = f();
      p[flat] = keep - h;
      const double down = f();
      p[flat] = keep;
      const double numeric = (up - down) / (2 * h);
      const double a = analytic(flat);
      EXPECT_NEAR(a, numeric, 1e-7 + 1e-5 * std::abs(numeric)) << t.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

}  // namespace

TEST(Model, LayoutPutsTheSparseInputFirst) {
  auto L = make_layout(tiny_dims(2, {5, 4}));
  EXPECT_EQ(L.tensors.front().name, "input");
  EXPECT_EQ(L.get("input").rows, 7 + 4 + 3);
  EXPECT_GE(L.sparse_end, L.get("input").size());
  for (auto& t : L.tensors) {
    EXPECT_EQ(t.offset % 16, 0) << t.name;
    if (t.name != "input") {
      EXPECT_GE(t.offset, L.sparse_end) << t.name;
    }
  }
  EXPECT_TRUE(L.has("song_audio"));
  EXPECT_FALSE(make_layout(tiny_dims(0, {5})).has("song_audio"));
  EXPECT_THROW(make_layout(tiny_dims(0, {})), Error);
}

TEST(Model, GradientsMatchFiniteDifferencesOneLayerNoAudio) { gradient_check(tiny_dims(0, {6})); }
TEST(Model, GradientsMatchFiniteDifferencesTwoLayersWithAudio) { gradient_check(tiny_dims(3, {5, 4})); }
TEST(Model, GradientsMatchFiniteDifferencesThreeLayers) { gradient_check(tiny_dims(2, {4, 5, 3})); }
TEST(Model, GradientsMatchFiniteDifferencesWithTheItemToItemTerm) {
  gradient_check(with_neighbours(tiny_dims(0, {6})));
  gradient_check(with_neighbours(tiny_dims(3, {5, 4})));
}

TEST(Model, ItemToItemTermAddsItsWeightedFeatureToTheSongLogits) {
  const auto d = with_neighbours(tiny_dims(0, {4}));
  const auto nb = tiny_neighbours(d);
  const auto L = make_layout(d);
  ASSERT_TRUE(L.has("song_nbr"));
  EXPECT_EQ(L.tensors.back().name, "song_nbr");  // last: the other offsets stay those of the plain model
  EXPECT_EQ(L.get("song_out").offset, make_layout(tiny_dims(0, {4})).get("song_out").offset);
  auto p = random_params<double>(L, 3);
  const auto b = tiny_batch(d);
  util::ThreadPool pool(1);
  Workspace<double> with, without;
  forward<double>(L, p.data(), Mat<double>(), b, with, pool, &nb);
  const auto& g = L.get("song_nbr");
  for (std::int64_t j = 0; j < d.n_songs; ++j) p[g.offset + j] = 0;
  forward<double>(L, p.data(), Mat<double>(), b, without, pool, &nb);
  // Example 2 shows songs 3 and 4: each output's extra logit is its weight
  // times gain * log(1 + (w_3j + w_4j) / tau), neighbours of 3 or 4 only.
  const auto p0 = random_params<double>(L, 3);
  for (std::int64_t j = 0; j < d.n_songs; ++j) {
    double sum = 0;
    for (int s : {3, 4})
      for (auto e = nb.ptr[s]; e < nb.ptr[s + 1]; ++e)
        if (nb.idx[e] == j) sum += nb.w[e];
    const double want = p0[g.offset + j] * 1.5 * std::log1p(sum / nb.tau);
    EXPECT_NEAR(with.zs(2, j) - without.zs(2, j), want, 1e-6) << "song " << j;  // the feature is float
  }
  // Example 1 shows no song: the term adds nothing.
  EXPECT_EQ(with.zs.row(1), without.zs.row(1));
}

TEST(Model, LossIsTheMultinomialLikelihood) {
  // All-zero weights: uniform softmax, so each group's loss is log(vocabulary size).
  auto d = tiny_dims(0, {3});
  auto L = make_layout(d);
  std::vector<double> p(static_cast<std::size_t>(L.total), 0.0);
  auto b = tiny_batch(d);
  util::ThreadPool pool(1);
  Workspace<double> ws;
  auto s = loss_only<double>(L, p.data(), Mat<double>(), b, ws, pool);
  EXPECT_EQ(s.n_song, 2);
  EXPECT_EQ(s.n_tag, 2);
  EXPECT_NEAR(s.song, 2 * std::log(7.0), 1e-12);
  EXPECT_NEAR(s.tag, 2 * std::log(4.0), 1e-12);
}

TEST(Model, FloatMatchesDouble) {
  auto d = tiny_dims(3, {5, 4});
  auto L = make_layout(d);
  auto b = tiny_batch(d);
  auto pd = random_params<double>(L, 3);
  std::vector<float> pf(pd.begin(), pd.end());
  auto Sd = song_audio(d);
  Mat<float> Sf = Sd.cast<float>();
  util::ThreadPool pool(1);
  Workspace<double> wd;
  Workspace<float> wf;
  Grad<double> gd;
  Grad<float> gf;
  auto ld = forward_backward<double>(L, pd.data(), Sd, b, {}, 0.5, gd, wd, pool);
  auto lf = forward_backward<float>(L, pf.data(), Sf, b, {}, 0.5, gf, wf, pool);
  EXPECT_NEAR(ld.song, lf.song, 1e-4);
  EXPECT_NEAR(ld.tag, lf.tag, 1e-4);
  ASSERT_EQ(gd.dense.size(), gf.dense.size());
  for (std::size_t i = 0; i < gd.dense.size(); ++i) EXPECT_NEAR(gd.dense[i], gf.dense[i], 1e-5) << i;
  ASSERT_EQ(gd.rows, gf.rows);
  for (std::size_t i = 0; i < gd.row_grad.size(); ++i) EXPECT_NEAR(gd.row_grad[i], gf.row_grad[i], 1e-5);
}

TEST(Model, ResultsDoNotDependOnTheThreadCount) {
  // Big enough that every kernel splits into several chunks.
  Dims d;
  d.n_songs = 5000;
  d.n_tags = 300;
  d.n_tokens = 50;
  d.audio_dim = 2;
  d.hidden = {140, 20};
  auto L = make_layout(d);
  auto p = init_params(L, 4);
  Batch b;
  Rng rng(2);
  for (int i = 0; i < 40; ++i) {
    for (int k = 0; k < 12; ++k) {
      b.in_idx.push_back(static_cast<std::int32_t>(rng.below(d.n_inputs())));
      b.in_w.push_back(0.3f);
      b.song_idx.push_back(static_cast<std::int32_t>(rng.below(d.n_songs)));
    }
    b.tag_idx.push_back(static_cast<std::int32_t>(rng.below(d.n_tags)));
    b.audio.push_back(0.5f), b.audio.push_back(-1.0f);
    b.end_example();
  }
  Mat<float> S = Mat<float>::Ones(d.n_songs, 3);
  Grad<float> g1, g3;
  Workspace<float> w1, w3;
  util::ThreadPool p1(1), p3(3);
  auto l1 = forward_backward<float>(L, p.data(), S, b, {}, 1.0 / 40, g1, w1, p1);
  auto l3 = forward_backward<float>(L, p.data(), S, b, {}, 1.0 / 40, g3, w3, p3);
  EXPECT_EQ(l1.song, l3.song);
  EXPECT_EQ(g1.dense, g3.dense);
  EXPECT_EQ(g1.rows, g3.rows);
  EXPECT_EQ(g1.row_grad, g3.row_grad);
}

TEST(Model, InitIsDeterministicAndBiasesStartAtZero) {
  auto L = make_layout(tiny_dims(2, {5}));
  auto a = init_params(L, 11), b = init_params(L, 11), c = init_params(L, 12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto& bias = L.get("song_bias");
  for (std::int64_t i = 0; i < bias.size(); ++i) EXPECT_EQ(a[bias.offset + i], 0.0f);
}

TEST(Adam, RowSparseEqualsDenseBitForBit) {
  const std::int64_t rows = 50, cols = 7;
  Rng rng(1);
  std::vector<float> p(rows * cols), g(rows * cols, 0.0f);
  for (auto& x : p) x = static_cast<float>(rng.normal());
  std::vector<std::int32_t> touched{0, 3, 17, 49};
  std::vector<float> rg;
  for (auto r : touched)
    for (std::int64_t c = 0; c < cols; ++c) {
      float v = static_cast<float>(rng.normal());
      g[r * cols + c] = v;
      rg.push_back(v);
    }
  auto p2 = p;
  std::vector<float> m1(p.size(), 0.1f), v1(p.size(), 0.2f), m2 = m1, v2 = v1;
  util::ThreadPool pool(2);
  train::AdamOptions o;
  for (int t = 1; t <= 3; ++t) {
    train::AdamStep s(o, t);
    train::adam_dense(s, p.data(), m1.data(), v1.data(), g.data(), rows * cols, pool);
    train::adam_rows(s, p2.data(), m2.data(), v2.data(), rows, cols, touched, rg.data(), pool);
  }
  EXPECT_EQ(p, p2);
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(v1, v2);
}

TEST(Adam, FirstStepMovesEachWeightByTheLearningRate) {
  // With zero moments, step 1 is lr * g / (|g| + eps'): the sign of the gradient times lr.
  std::vector<float> p{1.0f, 1.0f}, m(2, 0.0f), v(2, 0.0f), g{0.5f, -2.0f};
  util::ThreadPool pool(1);
  train::AdamOptions o;
  o.lr = 0.01;
  train::adam_dense(train::AdamStep(o, 1), p.data(), m.data(), v.data(), g.data(), 2, pool);
  EXPECT_NEAR(p[0], 0.99f, 1e-6);
  EXPECT_NEAR(p[1], 1.01f, 1e-6);
}

TEST(ThreadPool, RunsEveryTaskOnceAndRethrows) {
  util::ThreadPool pool(3);
  for (int rep = 0; rep < 20; ++rep) {
    std::vector<int> hit(1000, 0);
    pool.run(1000, [&](std::int64_t i) { hit[i]++; });
    for (int h : hit) ASSERT_EQ(h, 1);
  }
  EXPECT_THROW(pool.run(10,
                        [](std::int64_t i) {
                          if (i == 5) throw Error("boom");
                        }),
               Error);
  std::vector<int> hit(7, 0);
  pool.run(7, [&](std::int64_t i) { hit[i]++; });
  for (int h : hit) EXPECT_EQ(h, 1);
}

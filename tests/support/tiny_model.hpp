#pragma once
// A tiny autoencoder for kernel tests: 7 songs, 4 tags, 3 title tokens (or
// the sizes given), a three-example batch touching every input kind and
// output group, random weights and song audio from fixed seeds.
#include <cstdint>
#include <utility>
#include <vector>

#include "melon/ae/autoencoder.hpp"
#include "melon/ae/neighbours.hpp"
#include "melon/util/rng.hpp"

namespace melon::test_support {

using namespace melon::ae;

inline Dims tiny_dims(int audio, std::vector<int> hidden, std::int64_t songs = 7, std::int64_t tags = 4) {
  Dims d;
  d.n_songs = songs;
  d.n_tags = tags;
  d.n_tokens = 3;
  d.audio_dim = audio;
  d.hidden = std::move(hidden);
  return d;
}

inline Batch tiny_batch(const Dims& d) {
  Batch b;
  auto add_in = [&](std::int32_t row, float w) {
    b.in_idx.push_back(row);
    b.in_w.push_back(w);
  };
  Rng rng(5);
  auto audio = [&] {
    for (int k = 0; k < d.audio_dim; ++k) b.audio.push_back(static_cast<float>(rng.normal()));
  };
  // 0: songs + tags + tokens, targets in both groups
  add_in(0, 0.5f), add_in(3, 0.5f), add_in(static_cast<std::int32_t>(d.tag_row(1)), 1.0f);
  add_in(static_cast<std::int32_t>(d.token_row(2)), 0.7f);
  audio();
  for (int s : {0, 3, 5}) b.song_idx.push_back(s);
  for (int t : {1, 2}) b.tag_idx.push_back(t);
  b.end_example();
  // 1: title only, song targets only
  add_in(static_cast<std::int32_t>(d.token_row(0)), 1.0f);
  audio();
  for (int s : {6, 1}) b.song_idx.push_back(s);
  b.end_example();
  // 2: a song shared with example 0 (the same input row twice in the batch), tag targets only
  add_in(3, 1.0f), add_in(4, 1.0f);
  audio();
  b.tag_idx.push_back(3);
  b.end_example();
  return b;
}

template <class T>
inline std::vector<T> random_params(const Layout& L, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<T> p(static_cast<std::size_t>(L.total), T(0));
  for (auto& t : L.tensors)
    for (std::int64_t i = 0; i < t.size(); ++i) p[t.offset + i] = static_cast<T>(rng.uniform() - 0.5);
  return p;
}

// Neighbours of the first 7 songs from five fixed playlists (k = 3, gain
// 1.5): every song of tiny_batch's inputs reaches some outputs, songs 0-6.
inline Neighbours tiny_neighbours(const Dims& d) {
  std::vector<Encoded> pl(5);
  pl[0].songs = {0, 1, 3};
  pl[1].songs = {3, 4, 5, 3};
  pl[2].songs = {0, 5, 6, -1};
  pl[3].songs = {1, 2, 4, 6};
  pl[4].songs = {2, 3, 6};
  util::ThreadPool pool(1);
  return build_neighbours(pl, d.n_songs, 3, 1.5, pool);
}

// d with the item-to-item term of tiny_neighbours.
inline Dims with_neighbours(Dims d) {
  d.neighbours = 3;
  return d;
}

inline Mat<double> song_audio(const Dims& d) {
  if (d.audio_dim == 0) return {};
  Rng rng(9);
  Mat<double> s(d.n_songs, d.audio_dim + 1);
  for (std::int64_t i = 0; i < s.rows(); ++i) {
    for (int k = 0; k < d.audio_dim; ++k) s(i, k) = rng.normal();
    s(i, d.audio_dim) = 1;
  }
  return s;
}

}  // namespace melon::test_support

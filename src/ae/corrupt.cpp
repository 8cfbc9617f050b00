#include "melon/ae/corrupt.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace melon::ae {

std::vector<std::size_t> pick(std::size_t n, std::size_t k, Rng& rng) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  for (std::size_t i = 0; i < k && i < n; ++i) std::swap(idx[i], idx[i + rng.below(n - i)]);
  idx.resize(std::min(k, n));
  std::sort(idx.begin(), idx.end());
  return idx;
}

void add_example(Batch& b, const Encoded& e, const Dims& d, const AudioTable& audio, bool corrupt, const Corruption& c,
                 std::uint64_t rng_seed) {
  std::vector<std::size_t> song_pos, tag_pos;
  bool title = true;
  if (!corrupt) {
    song_pos.resize(e.songs.size());
    std::iota(song_pos.begin(), song_pos.end(), 0);
    tag_pos.resize(e.tags.size());
    std::iota(tag_pos.begin(), tag_pos.end(), 0);
  } else {
    Rng rng(rng_seed);
    const double u = rng.uniform();
    const bool show_songs = u < c.songs_only + c.songs_tags;
    const bool show_tags = u >= c.songs_only && u < c.songs_only + c.songs_tags + c.tags_only;
    if (show_songs) song_pos = pick(e.songs.size(), e.songs.size() / 2, rng);
    if (show_tags) tag_pos = pick(e.tags.size(), e.tags.size() / 2, rng);
    title = song_pos.empty() || rng.uniform() < c.keep_title;
  }
  // Inputs: each group L2-normalised, so long playlists do not drown tags and title.
  auto add_group = [&](const std::vector<std::int32_t>& idx, std::int64_t offset) {
    if (idx.empty()) return;
    const float w = 1.0f / std::sqrt(static_cast<float>(idx.size()));
    for (auto i : idx) {
      b.in_idx.push_back(static_cast<std::int32_t>(offset + i));
      b.in_w.push_back(w);
    }
  };
  std::vector<std::int32_t> in_songs, in_tags;
  for (auto k : song_pos)
    if (e.songs[k] >= 0) in_songs.push_back(e.songs[k]);
  for (auto k : tag_pos)
    if (e.tags[k] >= 0) in_tags.push_back(e.tags[k]);
  add_group(in_songs, 0);
  add_group(in_tags, d.n_songs);
  if (title) add_group(e.tokens, d.n_songs + d.n_tags);
  if (d.audio_dim > 0) {
    // Mean audio of the shown songs, including songs outside the vocabulary:
    // the one signal a playlist of rare songs still carries.
    const auto at = b.audio.size();
    b.audio.resize(at + d.audio_dim, 0.0f);
    int n = 0;
    std::vector<double> acc(d.audio_dim, 0.0);
    for (auto k : song_pos) {
      if (!audio.covers(e.song_ids[k])) continue;
      const float* r = audio.row(e.song_ids[k]);
      for (int j = 0; j < d.audio_dim; ++j) acc[j] += r[j];
      ++n;
    }
    if (n > 0)
      for (int j = 0; j < d.audio_dim; ++j) b.audio[at + j] = static_cast<float>(acc[j] / n);
  }
  // Hidden-only targets apply where a group was partly shown; a group shown
  // not at all is wholly hidden anyway.
  auto add_targets = [&](const std::vector<std::int32_t>& items, const std::vector<std::size_t>& shown,
                         std::vector<std::int32_t>& out) {
    const bool only_hidden = corrupt && c.target_hidden;
    std::size_t next = 0;
    for (std::size_t k = 0; k < items.size(); ++k) {
      const bool was_shown = next < shown.size() && shown[next] == k;
      if (was_shown) ++next;
      if (items[k] >= 0 && !(only_hidden && was_shown)) out.push_back(items[k]);
    }
  };
  add_targets(e.songs, song_pos, b.song_idx);
  add_targets(e.tags, tag_pos, b.tag_idx);
  b.end_example();
}

}  // namespace melon::ae

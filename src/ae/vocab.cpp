#include "melon/train/data.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "melon/error.hpp"
#include "melon/h5/h5.hpp"
#include "melon/util/rng.hpp"

namespace melon::train {

namespace {

std::uint64_t fnv(std::uint64_t h, const void* data, std::size_t n) {
  auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}
std::uint64_t fnv_str(std::uint64_t h, const std::string& s) {
  h = fnv(h, s.data(), s.size());
  const char sep = '\x1f';
  return fnv(h, &sep, 1);
}

template <class K>
std::vector<K> by_count(const std::map<K, std::int64_t>& counts, std::int64_t min_count) {
  std::vector<std::pair<K, std::int64_t>> v;
  for (auto& [k, n] : counts)
    if (n >= min_count) v.emplace_back(k, n);
  // Ties by key: the map is ordered, so a stable sort keeps keys ascending.
  std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::vector<K> out;
  out.reserve(v.size());
  for (auto& kv : v) out.push_back(kv.first);
  return out;
}

// Indices of k items of n, chosen uniformly, returned ascending (file order kept).
std::vector<std::size_t> pick(std::size_t n, std::size_t k, Rng& rng) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  for (std::size_t i = 0; i < k && i < n; ++i) std::swap(idx[i], idx[i + rng.below(n - i)]);
  idx.resize(std::min(k, n));
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace

void Vocab::build_index() {
  song_index.clear();
  tag_index.clear();
  token_index.clear();
  for (std::size_t i = 0; i < songs.size(); ++i) song_index.emplace(songs[i], static_cast<std::int32_t>(i));
  for (std::size_t i = 0; i < tags.size(); ++i) tag_index.emplace(tags[i], static_cast<std::int32_t>(i));
  for (std::size_t i = 0; i < tokens.size(); ++i) token_index.emplace(tokens[i], static_cast<std::int32_t>(i));
}

std::int32_t Vocab::song(arena::SongId id) const {
  auto it = song_index.find(id);
  return it == song_index.end() ? -1 : it->second;
}
std::int32_t Vocab::tag(const std::string& t) const {
  auto it = tag_index.find(t);
  return it == tag_index.end() ? -1 : it->second;
}
std::int32_t Vocab::token(const std::string& t) const {
  auto it = token_index.find(t);
  return it == token_index.end() ? -1 : it->second;
}

std::uint64_t Vocab::hash() const {
  std::uint64_t h = 0xCBF29CE484222325ull;
  h = fnv(h, songs.data(), songs.size() * sizeof(songs[0]));
  h = fnv(h, song_counts.data(), song_counts.size() * sizeof(song_counts[0]));
  for (auto& t : tags) h = fnv_str(h, t);
  h = fnv_str(h, "|tokens|");
  for (auto& t : tokens) h = fnv_str(h, t);
  return h;
}

Vocab build_vocab(const std::vector<const arena::Playlist*>& playlists, const VocabOptions& opt) {
  std::map<arena::SongId, std::int64_t> songs;
  std::map<std::string, std::int64_t> tags, tokens;
  for (const auto* p : playlists) {
    for (auto s : p->songs) ++songs[s];
    for (auto& t : p->tags) ++tags[t];
    for (auto& w : text::tokenize(p->title, opt.tokenizer)) ++tokens[w];
  }
  Vocab v;
  v.songs = by_count(songs, std::max(1, opt.min_song_count));
  for (auto s : v.songs) v.song_counts.push_back(songs[s]);
  v.tags = by_count(tags, std::max(1, opt.min_tag_count));
  v.tokens = by_count(tokens, std::max(1, opt.min_token_count));
  v.popular_songs = by_count(songs, 1);
  v.popular_tags = by_count(tags, 1);
  v.build_index();
  return v;
}

AudioTable make_audio(const std::vector<arena::SongId>& ids, const std::vector<float>& scores, int dim,
                      std::vector<double> mean, std::vector<double> scale, const std::string& origin) {
  MELON_CHECK(dim > 0, origin << ": audio scores have no columns");
  MELON_CHECK(scores.size() == ids.size() * static_cast<std::size_t>(dim),
              origin << ": " << ids.size() << " song ids but " << scores.size() << " scores for " << dim
                     << " dimensions");
  AudioTable a;
  a.dim = dim;
  arena::SongId max_id = -1;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    MELON_CHECK(ids[i] >= 0, origin << ": song_ids[" << i << "] = " << ids[i] << " is negative");
    for (int k = 0; k < dim; ++k)
      MELON_CHECK(std::isfinite(scores[i * dim + k]),
                  origin << ": scores[" << i << "][" << k << "] (song " << ids[i] << ") is not finite");
    max_id = std::max(max_id, ids[i]);
  }
  if (mean.empty()) {
    // Standardise so the audio input and the audio map see unit-scale features.
    mean.assign(dim, 0.0);
    scale.assign(dim, 0.0);
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (int k = 0; k < dim; ++k) mean[k] += scores[i * dim + k];
    for (int k = 0; k < dim; ++k) mean[k] /= std::max<std::size_t>(ids.size(), 1);
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (int k = 0; k < dim; ++k) scale[k] += std::pow(scores[i * dim + k] - mean[k], 2);
    for (int k = 0; k < dim; ++k) {
      scale[k] = std::sqrt(scale[k] / std::max<std::size_t>(ids.size(), 1));
      if (!(scale[k] > 1e-12)) scale[k] = 1.0;
    }
  }
  MELON_CHECK(mean.size() == static_cast<std::size_t>(dim) && scale.size() == mean.size(),
              origin << ": audio has " << dim << " dimensions but the model was trained with " << mean.size());
  a.mean = std::move(mean);
  a.scale = std::move(scale);
  a.feat.assign(static_cast<std::size_t>(max_id + 1) * dim, 0.0f);
  a.has.assign(static_cast<std::size_t>(max_id + 1), 0);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    MELON_CHECK(!a.has[ids[i]], origin << ": song id " << ids[i] << " appears twice");
    a.has[ids[i]] = 1;
    for (int k = 0; k < dim; ++k)
      a.feat[static_cast<std::size_t>(ids[i]) * dim + k] =
          static_cast<float>((scores[i * dim + k] - a.mean[k]) / a.scale[k]);
  }
  return a;
}

AudioTable read_audio(const std::string& path, std::vector<double> mean, std::vector<double> scale) {
  auto f = h5::File::open(path, MPI_COMM_NULL);
  auto sd = h5::Dataset::open(f, "scores").dims();
  auto id_dims = h5::Dataset::open(f, "song_ids").dims();
  MELON_CHECK(sd.size() == 2, path << ": dataset 'scores' must be 2-D (songs x components)");
  MELON_CHECK(id_dims.size() == 1 && id_dims[0] == sd[0],
              path << ": 'song_ids' must be 1-D with one entry per row of 'scores' (" << sd[0] << ")");
  auto ids = h5::read_all<std::int32_t>(f, "song_ids");
  auto scores = h5::read_all<float>(f, "scores");
  return make_audio(ids, scores, static_cast<int>(sd[1]), std::move(mean), std::move(scale), path);
}

AudioMap parse_audio_map(const std::string& s) {
  if (s == "fitted") return AudioMap::Fitted;
  if (s == "joint") return AudioMap::Joint;
  MELON_THROW("--audio-map: expected fitted|joint, got '" << s << "'");
}
const char* to_string(AudioMap m) { return m == AudioMap::Fitted ? "fitted" : "joint"; }

model::Mat<float> song_audio_matrix(const Vocab& v, const AudioTable& a, AudioMap map) {
  model::Mat<float> m = model::Mat<float>::Zero(static_cast<std::int64_t>(v.songs.size()), a.dim + 1);
  if (map == AudioMap::Fitted) return m;
  for (std::size_t i = 0; i < v.songs.size(); ++i) {
    if (a.covers(v.songs[i]))
      for (int k = 0; k < a.dim; ++k) m(i, k) = a.row(v.songs[i])[k];
    m(i, a.dim) = 1.0f;
  }
  return m;
}

Encoded encode(const arena::Playlist& p, const Vocab& v, const text::TokenizerOptions& tok) {
  Encoded e;
  e.song_ids = p.songs;
  for (auto s : p.songs) e.songs.push_back(v.song(s));
  for (auto& t : p.tags) e.tags.push_back(v.tag(t));
  for (auto& w : text::tokenize(p.title, tok)) {
    auto k = v.token(w);
    if (k >= 0) e.tokens.push_back(k);
  }
  return e;
}

void add_example(model::Batch& b, const Encoded& e, const model::Dims& d, const AudioTable& audio, bool corrupt,
                 const Corruption& c, std::uint64_t rng_seed) {
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

HeldOut make_held_out(const arena::Playlist& p, std::int64_t position, std::uint64_t seed) {
  Rng rng(mix_seed(seed, 0x4E1D, static_cast<std::uint64_t>(position)));
  const int slot = static_cast<int>(position % 20);
  const bool songs_shown = slot < 16, tags_shown = slot >= 6 && slot < 19;
  HeldOut h;
  h.question = p;
  h.answer.id = p.id;
  auto split_half = [&](auto& shown, auto& answer, bool masked, std::size_t cap) {
    auto all = shown;
    shown.clear();
    answer.clear();
    if (!masked) {
      for (std::size_t i = 0; i < all.size() && i < cap; ++i) answer.push_back(all[i]);
      return;
    }
    auto keep = pick(all.size(), all.size() / 2, rng);
    std::vector<char> is_shown(all.size(), 0);
    for (auto k : keep) is_shown[k] = 1;
    for (std::size_t i = 0; i < all.size(); ++i) (is_shown[i] ? shown : answer).push_back(all[i]);
  };
  split_half(h.question.songs, h.answer.songs, songs_shown, 100);
  split_half(h.question.tags, h.answer.tags, tags_shown, 10);
  return h;
}

}  // namespace melon::train

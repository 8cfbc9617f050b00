#include "melon/generate/playlists.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "melon/error.hpp"

namespace melon::generate {
namespace {

constexpr std::int32_t kLatestUpdate = 20200423;  // the last updt_date of the real train set
constexpr std::int32_t kEarliestUpdate = 20050101;
constexpr double kNeighbourWidth = 1.5;

}  // namespace

// Songs per playlist: a two-lognormal mixture plus a few very short and a
// spike at the 200 cap, fitted to min 1, quartiles 19/30/54, mean 45.9, sd 43.9.
int draw_length(Rng& r) {
  const double u = r.uniform();
  if (u < 0.011) return 200;
  if (u < 0.033) return r.range(1, 12);
  const double x = r.chance(0.73) ? r.lognormal(3.22, 0.57) : r.lognormal(4.3, 0.72);
  return static_cast<int>(std::clamp<double>(std::round(x), 1, 200));
}

// Heavy-tailed: most playlists have a handful of likes, a few tens of thousands.
std::int64_t draw_likes(Rng& r) {
  const double x = r.chance(0.85) ? r.lognormal(1.0, 1.5) : r.lognormal(3.2, 1.7);
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(x) - 1, 0, 50000);
}

// Update dates pile up in 2019-2020 with a long tail back to 2005.
std::int64_t draw_update_day(Rng& r) {
  const double latest = static_cast<double>(ymd_to_days(kLatestUpdate));
  const double earliest = static_cast<double>(ymd_to_days(kEarliestUpdate));
  const double mean_years = r.chance(0.55) ? 1.0 : 4.0;
  const double day = latest - 365.25 * mean_years * -std::log(1.0 - r.uniform());
  return static_cast<std::int64_t>(std::max(day, earliest + r.uniform() * 365.0));
}

bool admit_song(Rng& rng, SamplerStats& stats, std::unordered_set<std::int32_t>& chosen, std::int32_t slot, bool late,
                bool exempt, double after_date, bool relaxed, bool deep) {
  ++stats.attempts;
  // The chance is drawn only for a late song that is not exempt: the order
  // of draws is part of what the seed produces.
  if (!exempt && late && !rng.chance(after_date)) {
    ++stats.date_rejects;
    return false;
  }
  if (!chosen.insert(slot).second) {
    ++stats.dup_rejects;
    return false;
  }
  ++stats.accepted;
  stats.relaxed += relaxed;
  stats.deep += deep;
  return true;
}

std::vector<std::int64_t> playlist_ids(std::uint64_t seed, std::int64_t n_total) {
  const std::int64_t space = n_total + n_total * 3 / 100 + 1;
  std::vector<std::int64_t> all(space);
  for (std::int64_t i = 0; i < space; ++i) all[i] = i;
  Rng r(seed, kIdStream, static_cast<std::uint64_t>(n_total));
  shuffle(all, r);
  all.resize(static_cast<std::size_t>(n_total));
  return all;
}

RangeSampler::RangeSampler(const SongWorld& world, const std::vector<double>& weight)
    : w_(&world), cum_(world.slots.size()) {
  for (const Artist& ar : world.artists) {
    double c = 0;
    for (std::int32_t s = ar.first_slot; s < ar.end_slot; ++s) cum_[s] = (c += weight[s]);
  }
}

double RangeSampler::prefix(std::int32_t artist, std::int32_t slot) const {
  return slot == w_->artists[artist].first_slot ? 0.0 : cum_[slot - 1];
}

double RangeSampler::range_weight(std::int32_t artist, std::int32_t lo, std::int32_t hi) const {
  return hi > lo ? cum_[hi - 1] - prefix(artist, lo) : 0.0;
}

double RangeSampler::artist_weight(std::int32_t artist) const {
  const Artist& ar = w_->artists[artist];
  return ar.end_slot > ar.first_slot ? cum_[ar.end_slot - 1] : 0.0;
}

std::int32_t RangeSampler::draw(Rng& rng, std::int32_t artist, std::int32_t lo, std::int32_t hi) const {
  const double base = prefix(artist, lo), top = cum_[hi - 1];
  if (top <= base) return -1;
  const double x = base + rng.uniform() * (top - base);
  auto it = std::upper_bound(cum_.begin() + lo, cum_.begin() + hi, x);
  if (it == cum_.begin() + hi) --it;
  return static_cast<std::int32_t>(it - cum_.begin());
}

std::string format_timestamp(std::int32_t ymd, int sec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.000", ymd / 10000, (ymd / 100) % 100, ymd % 100,
                sec / 3600, (sec / 60) % 60, sec % 60);
  return buf;
}

PlaylistGenerator::PlaylistGenerator(const SongWorld& world, std::int64_t n_train, std::int64_t n_total,
                                     const PlaylistKnobs& knobs, const VocabKnobs& vocab_knobs)
    : w_(world), k_(knobs), vocab_(world.seed, world, n_train, vocab_knobs) {
  MELON_CHECK(n_total >= 1, "generate: need at least one playlist");
  const int K = static_cast<int>(world.tastes.size());
  const std::int32_t n_slots = static_cast<std::int32_t>(world.slots.size());

  ids_ = playlist_ids(world.seed, n_total);

  // Popularity weights; should every song be a deep cut (tiny catalogues), fall back to uniform.
  std::vector<double> weight(n_slots);
  double total = 0;
  for (std::int32_t s = 0; s < n_slots; ++s) total += (weight[s] = world.slots[s].weight);
  if (total <= 0) std::fill(weight.begin(), weight.end(), 1.0);

  in_artist_ = RangeSampler(world, weight);
  for (std::int32_t s = 0; s < n_slots; ++s)
    popularity_total_ += in_artist_.range_weight(world.slots[s].artist, s, s + 1);
  taste_artists_.resize(K);
  std::vector<double> taste_w(K, 0.0);
  std::vector<std::vector<double>> artist_w(K);
  for (std::int32_t a = 0; a < static_cast<std::int32_t>(world.artists.size()); ++a) {
    const Artist& ar = world.artists[a];
    const double c = in_artist_.artist_weight(a);
    taste_artists_[ar.taste].push_back(a);
    artist_w[ar.taste].push_back(c);
    taste_w[ar.taste] += c;
  }
  taste_pick_ = AliasTable(taste_w);
  taste_prior_ = taste_w;
  double taste_total = 0;
  for (double x : taste_w) taste_total += x;
  for (double& x : taste_prior_) x /= taste_total;
  artist_pick_.resize(K);
  for (int t = 0; t < K; ++t)
    if (taste_w[t] > 0) artist_pick_[t] = AliasTable(artist_w[t]);
  global_ = AliasTable(weight);

  // Second tastes: popular and nearby.
  neighbour_.resize(K);
  for (int t = 0; t < K; ++t) {
    std::vector<double> nw(K, 0.0);
    double sum = 0;
    for (int u = 0; u < K; ++u) {
      if (u == t) continue;
      double d2 = 0;
      for (int d = 0; d < world.shape.dim; ++d) {
        const double x = world.tastes[t].center[d] - world.tastes[u].center[d];
        d2 += x * x;
      }
      sum += (nw[u] = taste_w[u] * std::exp(-d2 / (2 * kNeighbourWidth * kNeighbourWidth)));
    }
    if (sum > 0) neighbour_[t] = AliasTable(nw);
    neighbour_prior_.push_back(std::move(nw));
  }

  date_.resize(n_slots);
  for (std::int32_t s = 0; s < n_slots; ++s) date_[s] = world.date_key(world.id_of_slot[s]);

  std::vector<std::vector<std::int32_t>> deep(K);
  for (std::int32_t s = 0; s < n_slots; ++s)
    if (world.slots[s].flags & kFlagDeep) deep[world.artists[world.slots[s].artist].taste].push_back(s);
  for (int t = 0; t < K; ++t) deep_.emplace_back(std::move(deep[t]), date_);
}

DeepPool::DeepPool(std::vector<std::int32_t> slots, const std::vector<std::int32_t>& date) : slots_(std::move(slots)) {
  std::stable_sort(slots_.begin(), slots_.end(), [&](std::int32_t a, std::int32_t b) { return date[a] < date[b]; });
  for (auto s : slots_) dates_.push_back(date[s]);
  next_free_.resize(slots_.size() + 1);
  for (std::size_t i = 0; i <= slots_.size(); ++i) next_free_[i] = static_cast<std::int32_t>(i);
}

std::int32_t DeepPool::find(std::int32_t i) {
  while (next_free_[i] != i) {
    next_free_[i] = next_free_[next_free_[i]];  // path halving
    i = next_free_[i];
  }
  return i;
}

std::int32_t DeepPool::take(Rng& rng, std::int32_t max_date) {
  const auto eligible = static_cast<std::int32_t>(std::upper_bound(dates_.begin(), dates_.end(), max_date) -
                                                  dates_.begin());
  if (eligible == 0) return -1;
  std::int32_t j = find(static_cast<std::int32_t>(rng.below(static_cast<std::uint32_t>(eligible))));
  if (j >= eligible) j = find(0);
  if (j >= eligible) return -1;
  next_free_[j] = j + 1;
  return slots_[j];
}

// An artist near the focus point (rejection against a Gaussian kernel), then one of its songs.
std::int32_t PlaylistGenerator::draw_from_taste(Rng& rng, int taste, const float* center) const {
  const auto& artists = taste_artists_[taste];
  const auto& pick = artist_pick_[taste];
  if (pick.empty()) return static_cast<std::int32_t>(global_.draw(rng));
  const double inv = 1.0 / (2 * k_.focus * k_.focus);
  std::int32_t a = -1;
  for (int tries = 0; tries < kFocusTries; ++tries) {
    a = artists[pick.draw(rng)];
    double d2 = 0;
    for (int d = 0; d < w_.shape.dim; ++d) {
      const double x = w_.artists[a].pos[d] - center[d];
      d2 += x * x;
    }
    if (rng.uniform() < std::exp(-d2 * inv)) break;
  }
  const Artist& ar = w_.artists[a];
  const std::int32_t s = in_artist_.draw(rng, a, ar.first_slot, ar.end_slot);
  return s >= 0 ? s : static_cast<std::int32_t>(global_.draw(rng));
}

TasteLatent PlaylistGenerator::draw_latent(Rng& rng) const {
  TasteLatent h;
  h.taste[0] = static_cast<int>(taste_pick_.draw(rng));
  if (!neighbour_[h.taste[0]].empty() && rng.chance(k_.mix)) {
    h.taste[1] = static_cast<int>(neighbour_[h.taste[0]].draw(rng));
    h.second_share = rng.uniform(0.15, 0.45);
    h.n_focus = 2;
  }
  for (int f = 0; f < h.n_focus; ++f) {
    const Taste& t = w_.tastes[h.taste[f]];
    for (int d = 0; d < w_.shape.dim; ++d) h.center[f][d] = t.center[d] + static_cast<float>(kCentreSd * rng.normal());
  }
  return h;
}

TasteLatent PlaylistGenerator::latent(std::int64_t index) const {
  Rng rng(w_.seed, kPlaylistStream, static_cast<std::uint64_t>(index));
  return draw_latent(rng);
}

GeneratedPlaylist PlaylistGenerator::next(std::int64_t index, int min_songs, int min_tags) {
  MELON_ASSERT(index > last_index_ && index < static_cast<std::int64_t>(ids_.size()),
               "playlists must be generated in increasing index order");
  last_index_ = index;
  Rng rng(w_.seed, kPlaylistStream, static_cast<std::uint64_t>(index));
  GeneratedPlaylist out;
  arena::Playlist& p = out.playlist;
  p.id = ids_[index];

  // Tastes and focus points.
  const TasteLatent h = draw_latent(rng);
  const int n_focus = h.n_focus;
  const double second_share = h.second_share;
  for (int f = 0; f < n_focus; ++f) out.taste[f] = h.taste[f];

  const std::int64_t day = draw_update_day(rng);
  const std::int32_t ymd = days_to_ymd(day);
  p.updt_date = format_timestamp(ymd, static_cast<int>(rng.below(86400)));
  p.like_cnt = draw_likes(rng);

  // Songs.
  const int length = std::max(draw_length(rng), min_songs);
  const double p_album = kAlbumRun * k_.runs, p_artist = kArtistRun * k_.runs;
  const double p_deep = kDeepShare * k_.sparsity;
  std::unordered_set<std::int32_t> chosen;
  chosen.reserve(static_cast<std::size_t>(length) * 2);
  std::int32_t last = -1;
  // Where the next song comes from is decided once per position, not per draw,
  // so refused draws (too recent, repeats) do not shift the mix.
  enum Kind { kNone, kAlbum, kArtist, kDeepCut, kNoise, kTaste } kind = kNone;
  int focus_of_kind = 0, tries_of_kind = 0;
  const int budget = 8 * length + 32;
  for (int attempt = 0; static_cast<int>(p.songs.size()) < length; ++attempt) {
    // Out of patience (old playlists find few songs that old in their taste):
    // first any popular song of the right age, then, only to reach min_songs, anything.
    const bool any_taste = attempt >= budget;
    const bool relaxed = attempt >= 2 * budget;
    if (relaxed && (static_cast<int>(p.songs.size()) >= min_songs || attempt >= 3 * budget)) break;
    if (kind == kNone || ++tries_of_kind > 4) {
      const double u = rng.uniform();
      kind = (last >= 0 && u < p_album)                          ? kAlbum
             : (last >= 0 && u < p_album + p_artist)             ? kArtist
             : (u < p_album + p_artist + p_deep)                 ? kDeepCut
             : (u < p_album + p_artist + p_deep + k_.song_noise) ? kNoise
                                                                 : kTaste;
      if (tries_of_kind > 4) kind = kTaste;  // that source is exhausted for this playlist
      focus_of_kind = (n_focus == 2 && rng.uniform() < second_share) ? 1 : 0;
      tries_of_kind = 0;
    }
    std::int32_t s = -1;
    bool deep_cut = false;
    switch (kind) {
      case kAlbum: {
        const Album& al = w_.albums[w_.slots[last].album];
        s = in_artist_.draw(rng, al.artist, al.first_slot, al.end_slot);
        break;
      }
      case kArtist: {
        const Artist& ar = w_.artists[w_.slots[last].artist];
        s = in_artist_.draw(rng, w_.slots[last].artist, ar.first_slot, ar.end_slot);
        break;
      }
      case kDeepCut:
        s = deep_[h.taste[focus_of_kind]].take(rng, ymd);
        deep_cut = s >= 0;
        break;
      case kNoise: s = static_cast<std::int32_t>(global_.draw(rng)); break;
      default: break;
    }
    if (s < 0) s = draw_from_taste(rng, h.taste[focus_of_kind], h.center[focus_of_kind]);
    if (any_taste) s = static_cast<std::int32_t>(global_.draw(rng));
    if (relaxed) s = static_cast<std::int32_t>(rng.below(static_cast<std::uint32_t>(w_.slots.size())));
    if (!admit_song(rng, stats_, chosen, s, date_[s] > ymd, relaxed || deep_cut, k_.after_date, any_taste, deep_cut))
      continue;
    p.songs.push_back(w_.id_of_slot[s]);
    last = s;
    kind = kNone;
  }

  // Tags, then a title that reuses them.
  const int n_tags = std::max(vocab_.tag_count(rng), min_tags);
  std::unordered_set<std::string> seen;
  for (int attempt = 0; static_cast<int>(p.tags.size()) < n_tags && attempt < 16 * n_tags + 64; ++attempt) {
    const int f = (n_focus == 2 && rng.uniform() < second_share) ? 1 : 0;
    std::string t = vocab_.tag(rng, h.taste[f]);
    if (seen.insert(t).second) p.tags.push_back(std::move(t));
  }
  p.title = vocab_.title(rng, h.taste[0], p.tags);
  return out;
}

}  // namespace melon::generate

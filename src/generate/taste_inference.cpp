// The taste family's rules read backwards, for melon oracle: how likely one
// song position is to draw each song given a hidden state (expected_draws),
// and which hidden states explain what a question shows (infer_latent).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "melon/generate/playlists.hpp"

namespace melon::generate {
namespace {

constexpr double kShares[] = {0.2, 0.3, 0.4};  // quadrature of the second taste's share, uniform on [0.15, 0.45]
constexpr int kSamplesSeen = 96;               // focus samples of a taste some shown song belongs to
constexpr int kSamplesUnseen = 24;             // ... of any other taste
constexpr int kPairTastes = 6;                 // tastes whose ordered pairs are weighed as mixed playlists
constexpr std::size_t kMaxStates = 48;         // states kept ...
constexpr double kKeptMass = 0.999;            // ... once they hold this much of the weight
constexpr double kFloor = 1e-12;               // a chance never quite zero, so one odd song cannot veto a state

double log_normal_density(const float* x, const float* mean, int dim, double sd) {
  double d2 = 0;
  for (int d = 0; d < dim; ++d) {
    const double v = x[d] - mean[d];
    d2 += v * v;
  }
  return -d2 / (2 * sd * sd) - dim * std::log(sd);
}

// The hypothesis behind a sample: one taste, or a pair with the second's share.
struct Sample {
  int taste[2] = {-1, -1};
  int index[2] = {-1, -1};  // into that taste's focus samples
  double share = 0;
  double log_w = 0;
};

}  // namespace

void PlaylistGenerator::taste_chances(int taste, const float* center, const std::vector<std::int32_t>& slots,
                                      double* out) const {
  const auto& artists = taste_artists_[taste];
  const double inv = 1.0 / (2 * k_.focus * k_.focus);
  double sum_p = 0, accept = 0;
  for (const std::int32_t a : artists) sum_p += in_artist_.artist_weight(a);
  auto kernel = [&](std::int32_t a) {
    double d2 = 0;
    for (int d = 0; d < w_.shape.dim; ++d) {
      const double x = w_.artists[a].pos[d] - center[d];
      d2 += x * x;
    }
    return std::exp(-d2 * inv);
  };
  if (sum_p > 0)
    for (const std::int32_t a : artists) accept += in_artist_.artist_weight(a) / sum_p * kernel(a);
  // draw_from_taste: an artist by popularity kept with the kernel's chance,
  // else another, the last of kFocusTries kept whatever its distance.
  const double miss_all = std::pow(1.0 - accept, kFocusTries - 1);
  const double kept = accept > 0 ? (1.0 - miss_all) / accept : kFocusTries - 1;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const SongSlot& s = w_.slots[slots[i]];
    const double w_artist = in_artist_.artist_weight(s.artist);
    if (w_.artists[s.artist].taste != taste || sum_p <= 0 || w_artist <= 0) {
      out[i] = 0;
      continue;
    }
    const double p = w_artist / sum_p;
    out[i] = (p * kernel(s.artist) * kept + miss_all * p) * in_artist_.range_weight(s.artist, slots[i], slots[i] + 1) /
             w_artist;
  }
}

std::vector<double> PlaylistGenerator::expected_draws(const std::vector<WeightedLatent>& states,
                                                      const std::vector<std::int32_t>& known, std::int32_t ymd) const {
  const std::int32_t n_slots = static_cast<std::int32_t>(w_.slots.size());
  std::vector<double> e(n_slots, 0.0);
  // A position's source, as next() picks it (the first position has no runs;
  // sources that come back empty, rare, fall back to the taste).
  const bool runs = !known.empty();
  const double p_album = runs ? kAlbumRun * k_.runs : 0.0, p_artist = runs ? kArtistRun * k_.runs : 0.0;
  const double p_noise = k_.song_noise;
  const double p_taste = std::max(0.0, 1.0 - p_album - p_artist - kDeepShare * k_.sparsity - p_noise);

  const double total = popularity_total_;
  if (total > 0)
    for (std::int32_t s = 0; s < n_slots; ++s)
      e[s] += p_noise * in_artist_.range_weight(w_.slots[s].artist, s, s + 1) / total;

  std::vector<std::int32_t> slots;
  std::vector<double> chance;
  for (const WeightedLatent& st : states) {
    const TasteLatent& h = st.h;
    for (int f = 0; f < h.n_focus; ++f) {
      const double share = h.share(f) * p_taste;
      slots.clear();
      for (const std::int32_t a : taste_artists_[h.taste[f]])
        for (std::int32_t s = w_.artists[a].first_slot; s < w_.artists[a].end_slot; ++s) slots.push_back(s);
      chance.resize(slots.size());
      taste_chances(h.taste[f], h.center[f], slots, chance.data());
      for (std::size_t i = 0; i < slots.size(); ++i) e[slots[i]] += st.weight * share * chance[i];
    }
  }

  // Runs start from the previous song; any known song stands for it.
  for (const std::int32_t k : known) {
    const SongSlot& ks = w_.slots[k];
    const Album& al = w_.albums[ks.album];
    const Artist& ar = w_.artists[ks.artist];
    const double w_album = in_artist_.range_weight(ks.artist, al.first_slot, al.end_slot);
    const double w_artist = in_artist_.artist_weight(ks.artist);
    for (std::int32_t s = ar.first_slot; s < ar.end_slot; ++s) {
      const double w = in_artist_.range_weight(ks.artist, s, s + 1);
      if (w_artist > 0) e[s] += p_artist / static_cast<double>(known.size()) * w / w_artist;
      if (w_album > 0 && s >= al.first_slot && s < al.end_slot)
        e[s] += p_album / static_cast<double>(known.size()) * w / w_album;
    }
  }
  for (std::int32_t s = 0; s < n_slots; ++s)
    if (date_[s] > ymd) e[s] *= k_.after_date;
  return e;
}

std::vector<PlaylistGenerator::WeightedLatent> PlaylistGenerator::infer_latent(const Shown& shown,
                                                                               std::uint64_t seed) const {
  const int K = static_cast<int>(w_.tastes.size()), dim = w_.shape.dim;
  const auto& known = shown.slots;
  const std::size_t n_known = known.size();

  // What every state shares: a shown song can also come from global
  // popularity or from a run off another shown song (the date rule is the
  // same for every state and drops out).
  std::vector<double> floor_of(n_known, kFloor);
  {
    const double total = popularity_total_;
    const double others = static_cast<double>(std::max<std::size_t>(n_known, 2) - 1);
    for (std::size_t i = 0; i < n_known; ++i) {
      const SongSlot& s = w_.slots[known[i]];
      const double w = in_artist_.range_weight(s.artist, known[i], known[i] + 1);
      if (total > 0) floor_of[i] += k_.song_noise * w / total;
      for (std::size_t j = 0; j < n_known; ++j) {
        if (j == i) continue;
        const SongSlot& o = w_.slots[known[j]];
        if (o.artist != s.artist) continue;
        const Album& al = w_.albums[o.album];
        const double w_artist = in_artist_.artist_weight(o.artist);
        if (w_artist > 0) floor_of[i] += kArtistRun * k_.runs / others * w / w_artist;
        const double w_album = in_artist_.range_weight(o.artist, al.first_slot, al.end_slot);
        if (o.album == s.album && w_album > 0) floor_of[i] += kAlbumRun * k_.runs / others * w / w_album;
      }
    }
  }
  const double p_taste = std::max(0.0,
                                  1.0 - (kAlbumRun + kArtistRun) * k_.runs - kDeepShare * k_.sparsity - k_.song_noise);

  // Tags and title words, scored per taste.
  std::vector<std::unordered_map<std::string, double>> tag_chance(K);
  for (int t = 0; t < K; ++t)
    for (const auto& [word, c] : vocab_.tag_chances(t)) tag_chance[t][word] = c;
  const double tag_floor = 1e-6;  // an open-tail tag (tag_noise over a tail of 10^4 and more words)
  // A title word that some pool or tag list holds says which taste came
  // first: title() writes pool words of it, and own() one of the playlist's
  // tags (at the title-tag rate) or else another pool word. Other words are
  // free-form and say nothing.
  std::vector<double> title_log(K, 0.0);
  {
    const double rate = vocab_.title_tag_rate();
    for (const auto& w : shown.title_words) {
      bool known_word = false;
      for (int t = 0; t < K && !known_word; ++t) known_word = vocab_.pool_chance(t, w) > 0 || tag_chance[t].count(w);
      if (!known_word) continue;
      for (int t = 0; t < K; ++t) {
        const auto it = tag_chance[t].find(w);
        const double as_tag = it == tag_chance[t].end() ? 0.0 : it->second;
        title_log[t] += std::log((1 - rate) * vocab_.pool_chance(t, w) + rate * as_tag + 1e-4);
      }
    }
  }

  // Focus samples per taste: drawn near the shown songs of that taste (a
  // Gaussian fit of their artists' points and the prior), weighed back to the prior.
  std::vector<int> seen(K, 0);
  for (const std::int32_t s : known) ++seen[w_.artists[w_.slots[s].artist].taste];
  std::vector<std::vector<std::array<float, kMaxDim>>> centre(K);
  std::vector<std::vector<double>> log_ratio(K), chances(K);  // chances: [sample * n_known + i]
  Rng rng(seed, kOracleStream, 0);
  for (int t = 0; t < K; ++t) {
    const int m = seen[t] > 0 ? kSamplesSeen : kSamplesUnseen;
    const double prior_prec = 1.0 / (kCentreSd * kCentreSd), song_prec = 1.0 / (k_.focus * k_.focus);
    float mean[kMaxDim];
    double sd = kCentreSd;
    for (int d = 0; d < dim; ++d) mean[d] = w_.tastes[t].center[d];
    if (seen[t] > 0) {
      double sum[kMaxDim] = {};
      for (const std::int32_t s : known) {
        const Artist& a = w_.artists[w_.slots[s].artist];
        if (a.taste != t) continue;
        for (int d = 0; d < dim; ++d) sum[d] += a.pos[d];
      }
      const double prec = prior_prec + song_prec * seen[t];
      for (int d = 0; d < dim; ++d)
        mean[d] = static_cast<float>((prior_prec * w_.tastes[t].center[d] + song_prec * sum[d]) / prec);
      sd = 1.5 / std::sqrt(prec);  // wider than the fit: the kernel is not a Gaussian in the centre
    }
    centre[t].resize(m);
    log_ratio[t].resize(m);
    chances[t].resize(static_cast<std::size_t>(m) * n_known);
    for (int j = 0; j < m; ++j) {
      float* c = centre[t][j].data();
      for (int d = 0; d < dim; ++d) c[d] = static_cast<float>(mean[d] + sd * rng.normal());
      log_ratio[t][j] = log_normal_density(c, w_.tastes[t].center, dim, kCentreSd) -
                        log_normal_density(c, mean, dim, sd);
      taste_chances(t, c, known, chances[t].data() + static_cast<std::size_t>(j) * n_known);
    }
  }

  auto log_lik = [&](const Sample& s) {
    double ll = title_log[s.taste[0]];
    const double* c0 = chances[s.taste[0]].data() + static_cast<std::size_t>(s.index[0]) * n_known;
    const double* c1 = s.taste[1] >= 0 ? chances[s.taste[1]].data() + static_cast<std::size_t>(s.index[1]) * n_known
                                       : nullptr;
    for (std::size_t i = 0; i < n_known; ++i) {
      const double taste_part = c1 ? (1 - s.share) * c0[i] + s.share * c1[i] : c0[i];
      ll += std::log(p_taste * taste_part + floor_of[i]);
    }
    for (const auto& tag : shown.tags) {
      auto chance_in = [&](int t) {
        const auto it = tag_chance[t].find(tag);
        return it == tag_chance[t].end() ? 0.0 : it->second;
      };
      const double c = s.taste[1] >= 0 ? (1 - s.share) * chance_in(s.taste[0]) + s.share * chance_in(s.taste[1])
                                       : chance_in(s.taste[0]);
      ll += std::log(c + tag_floor);
    }
    return ll;
  };
  // draw_latent mixes in a second taste only where a neighbour exists.
  auto mix_of = [&](int t) { return neighbour_[t].empty() ? 0.0 : k_.mix; };

  // One taste.
  std::vector<Sample> samples;
  std::vector<double> evidence(K, -std::numeric_limits<double>::infinity());
  for (int t = 0; t < K; ++t) {
    if (taste_prior_[t] <= 0) continue;
    const int m = static_cast<int>(centre[t].size());
    const double log_prior = std::log(taste_prior_[t] * (1 - mix_of(t)) + 1e-300) - std::log(m);
    for (int j = 0; j < m; ++j) {
      Sample s;
      s.taste[0] = t;
      s.index[0] = j;
      s.log_w = log_prior + log_ratio[t][j] + log_lik(s);
      evidence[t] = std::max(evidence[t], s.log_w);
      samples.push_back(s);
    }
  }
  // Two tastes: ordered pairs of the tastes the evidence names most.
  std::vector<int> order(K);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return evidence[a] > evidence[b]; });
  const int top = std::min(K, kPairTastes);
  for (int a = 0; a < top; ++a)
    for (int b = 0; b < top; ++b) {
      const int t = order[a], u = order[b];
      if (t == u || taste_prior_[t] <= 0) continue;
      double nsum = 0;
      for (double x : neighbour_prior_[t]) nsum += x;
      if (nsum <= 0 || neighbour_prior_[t][u] <= 0) continue;
      const int m = static_cast<int>(std::min(centre[t].size(), centre[u].size()));
      const double log_prior = std::log(taste_prior_[t] * k_.mix * neighbour_prior_[t][u] / nsum) - std::log(m) -
                               std::log(std::size(kShares));
      for (int j = 0; j < m; ++j)
        for (const double share : kShares) {
          Sample s;
          s.taste[0] = t;
          s.taste[1] = u;
          s.index[0] = j;
          s.index[1] = j;
          s.share = share;
          s.log_w = log_prior + log_ratio[t][j] + log_ratio[u][j] + log_lik(s);
          samples.push_back(s);
        }
    }

  // The heaviest states, normalised.
  std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.log_w > b.log_w; });
  const double top_w = samples.front().log_w;
  double total = 0;
  for (const Sample& s : samples) total += std::exp(s.log_w - top_w);
  std::vector<WeightedLatent> out;
  double kept = 0;
  for (const Sample& s : samples) {
    if (out.size() >= kMaxStates || kept >= kKeptMass) break;
    WeightedLatent st;
    st.weight = std::exp(s.log_w - top_w) / total;
    kept += st.weight;
    st.h.n_focus = s.taste[1] >= 0 ? 2 : 1;
    st.h.second_share = s.share;
    for (int f = 0; f < st.h.n_focus; ++f) {
      st.h.taste[f] = s.taste[f];
      std::copy_n(centre[s.taste[f]][s.index[f]].data(), dim, st.h.center[f]);
    }
    out.push_back(st);
  }
  for (auto& st : out) st.weight /= kept;
  return out;
}

}  // namespace melon::generate

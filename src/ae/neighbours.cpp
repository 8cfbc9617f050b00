#include "melon/ae/neighbours.hpp"

#include <algorithm>
#include <cmath>

#include "melon/error.hpp"

namespace melon::ae {

Neighbours build_neighbours(const std::vector<Encoded>& playlists, std::int64_t n_songs, int k, double gain,
                            util::ThreadPool& pool) {
  MELON_CHECK(k >= 0, "neighbours: k must be >= 0, got " << k);
  MELON_CHECK(gain > 0 && std::isfinite(gain), "neighbours: the gain must be positive, got " << gain);
  Neighbours nb;
  nb.k = k;
  nb.gain = gain;
  nb.ptr.assign(static_cast<std::size_t>(n_songs + 1), 0);
  if (k == 0) return nb;
  // Each playlist's distinct vocabulary songs, and the playlists of each song.
  std::vector<std::vector<std::int32_t>> lists(playlists.size());
  std::vector<std::int64_t> count(static_cast<std::size_t>(n_songs), 0);
  for (std::size_t p = 0; p < playlists.size(); ++p) {
    auto& l = lists[p];
    for (auto s : playlists[p].songs)
      if (s >= 0) l.push_back(s);
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
    for (auto s : l) ++count[static_cast<std::size_t>(s)];
  }
  std::vector<std::int64_t> in_ptr(static_cast<std::size_t>(n_songs + 1), 0);
  for (std::int64_t s = 0; s < n_songs; ++s) in_ptr[s + 1] = in_ptr[s] + count[s];
  std::vector<std::int32_t> in_list(static_cast<std::size_t>(in_ptr.back()));
  {
    auto at = in_ptr;
    for (std::size_t p = 0; p < lists.size(); ++p)
      for (auto s : lists[p]) in_list[static_cast<std::size_t>(at[s]++)] = static_cast<std::int32_t>(p);
  }
  // Per source: co-occurrence counts, cosine, the k largest (ties: lower index).
  std::vector<std::vector<std::pair<float, std::int32_t>>> best(static_cast<std::size_t>(n_songs));
  util::Chunks ch{n_songs, 256};
  pool.run(ch.count(), [&](std::int64_t c) {
    std::vector<std::int64_t> co(static_cast<std::size_t>(n_songs), 0);
    std::vector<std::int32_t> touched;
    // Every song a source meets, reused across sources: only the k kept go
    // into `best` (holding all of them would be every co-occurring pair).
    std::vector<std::pair<float, std::int32_t>> b;
    for (auto s = ch.begin(c); s < ch.begin(c) + ch.len(c); ++s) {
      touched.clear();
      b.clear();
      for (auto e = in_ptr[s]; e < in_ptr[s + 1]; ++e)
        for (auto j : lists[static_cast<std::size_t>(in_list[e])])
          if (j != s && co[j]++ == 0) touched.push_back(j);
      for (auto j : touched) {
        const double cos = static_cast<double>(co[j]) / std::sqrt(static_cast<double>(count[s] * count[j]));
        b.emplace_back(static_cast<float>(cos), j);
        co[j] = 0;
      }
      const auto better = [](const auto& x, const auto& y) {
        return x.first > y.first || (x.first == y.first && x.second < y.second);
      };
      if (static_cast<std::int64_t>(b.size()) > k) {
        std::nth_element(b.begin(), b.begin() + k, b.end(), better);
        b.resize(static_cast<std::size_t>(k));  // keeps its capacity for the next source
      }
      std::sort(b.begin(), b.end(), better);
      best[static_cast<std::size_t>(s)].assign(b.begin(), b.end());
    }
  });
  double sum = 0;
  for (std::int64_t s = 0; s < n_songs; ++s) {
    const auto& b = best[static_cast<std::size_t>(s)];
    nb.ptr[s + 1] = nb.ptr[s] + static_cast<std::int64_t>(b.size());
    for (auto& [w, j] : b) {
      nb.idx.push_back(j);
      nb.w.push_back(w);
      sum += w;
    }
  }
  nb.tau = nb.w.empty() ? 1.0 : sum / static_cast<double>(nb.w.size());
  nb.count.assign(count.begin(), count.end());
  return nb;
}

namespace {

// f = gain · log(1 + acc / tau) for each song reached; scratch back to zeros.
void finish_features(const Neighbours& nb, std::vector<float>& scratch,
                     std::vector<std::pair<std::int32_t, float>>& out) {
  const double inv_tau = 1.0 / nb.tau;
  for (auto& [col, f] : out) {
    auto& acc = scratch[static_cast<std::size_t>(col)];
    f = static_cast<float>(nb.gain * nb.scale * std::log1p(static_cast<double>(acc) * inv_tau));
    acc = 0;
  }
}

}  // namespace

void neighbour_features(const Neighbours& nb, const std::int32_t* shown, std::int64_t n_shown, std::int64_t s0,
                        std::int64_t s1, std::vector<float>& scratch,
                        std::vector<std::pair<std::int32_t, float>>& out) {
  out.clear();
  for (std::int64_t k = 0; k < n_shown; ++k) {
    const auto s = shown[k];
    for (auto e = nb.ptr[s]; e < nb.ptr[s + 1]; ++e) {
      const auto j = nb.idx[e];
      if (j < s0 || j >= s1) continue;
      auto& acc = scratch[static_cast<std::size_t>(j - s0)];
      if (acc == 0) out.emplace_back(static_cast<std::int32_t>(j - s0), 0.0f);
      acc += nb.w[e];
    }
  }
  finish_features(nb, scratch, out);
}

void neighbour_features_own_out(const Neighbours& nb, const std::int32_t* shown, std::int64_t n_shown,
                                const std::vector<std::int32_t>& own, std::int64_t s0, std::int64_t s1,
                                std::vector<float>& scratch, std::vector<std::pair<std::int32_t, float>>& out) {
  MELON_ASSERT(nb.count.size() + 1 == nb.ptr.size(), "neighbours without their songs' playlist counts");
  out.clear();
  for (std::int64_t k = 0; k < n_shown; ++k) {
    const auto s = shown[k];
    const double ns = nb.count[static_cast<std::size_t>(s)];
    if (ns <= 1) continue;  // in this playlist only: nothing of it is left
    for (auto e = nb.ptr[s]; e < nb.ptr[s + 1]; ++e) {
      const auto j = nb.idx[e];
      if (j < s0 || j >= s1) continue;
      const double nj = nb.count[static_cast<std::size_t>(j)];
      // The count back from its cosine (exact after rounding: w is a float of
      // a ratio of counts far below 2^24).
      double co = std::nearbyint(static_cast<double>(nb.w[e]) * std::sqrt(ns * nj));
      double nj_rest = nj;
      if (std::binary_search(own.begin(), own.end(), j)) co -= 1, nj_rest -= 1;
      if (co <= 0 || nj_rest <= 0) continue;
      auto& acc = scratch[static_cast<std::size_t>(j - s0)];
      if (acc == 0) out.emplace_back(static_cast<std::int32_t>(j - s0), 0.0f);
      acc += static_cast<float>(co / std::sqrt((ns - 1) * nj_rest));
    }
  }
  finish_features(nb, scratch, out);
}

}  // namespace melon::ae

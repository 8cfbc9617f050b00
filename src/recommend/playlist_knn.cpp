// playlist-knn: the K training playlists most like the question, by cosine
// over idf-weighted items (a rare shared song says more than a hit), vote for
// their items with sim^power (power > 1 trusts the closest neighbours most).
#include <algorithm>
#include <cmath>

#include "melon/error.hpp"
#include "reference_models.hpp"

namespace melon::recommend {
namespace {

class PlaylistKnn : public Reference {
 public:
  PlaylistKnn(const Corpus& c, const ReferenceOptions& opt) : k_(opt.neighbours), power_(opt.power) {
    const double n = static_cast<double>(c.n_playlists());
    idf_.resize(c.n_items());
    for (std::size_t i = 0; i < idf_.size(); ++i) {
      const auto cnt = c.count(static_cast<std::int32_t>(i));
      idf_[i] = cnt > 0 ? std::log(1.0 + n / static_cast<double>(cnt)) : 0.0;
    }
    // Norms over songs and tags only: a long title would otherwise penalise
    // a playlist in every song question, where tokens take no part.
    norm_.resize(c.n_playlists());
    for (std::size_t p = 0; p < norm_.size(); ++p) {
      double s = 0;
      for (auto k = c.offsets[p]; k < c.tokens_at[p]; ++k) s += idf_[c.items[k]] * idf_[c.items[k]];
      norm_[p] = std::sqrt(s);
    }
  }

  void score(const Corpus& c, const Query& q, Workspace& ws) const override {
    double qnorm = 0;
    for (auto& [item, w] : q) {
      const double x = w * idf_[item];
      qnorm += x * x;
      for (auto k = c.item_offsets[item]; k < c.item_offsets[item + 1]; ++k)
        ws.add_playlist(c.playlists[k], x * idf_[item]);
    }
    if (ws.playlists_touched.empty()) return;
    qnorm = std::sqrt(qnorm);
    std::vector<std::pair<double, std::int32_t>> sims;
    sims.reserve(ws.playlists_touched.size());
    for (auto p : ws.playlists_touched) {
      const double d = qnorm * std::max(norm_[p], 1e-12);
      sims.emplace_back(ws.playlist[p] / d, p);
    }
    const auto k = std::min<std::size_t>(static_cast<std::size_t>(k_), sims.size());
    std::partial_sort(sims.begin(), sims.begin() + static_cast<std::ptrdiff_t>(k), sims.end(),
                      [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    for (std::size_t j = 0; j < k; ++j) {
      const double v = std::pow(sims[j].first, power_);
      const auto p = sims[j].second;
      for (auto e = c.offsets[p]; e < c.tokens_at[p]; ++e) ws.add_item(c.items[e], v);
    }
  }

 private:
  std::int64_t k_;
  double power_;
  std::vector<double> idf_, norm_;
};

}  // namespace

std::unique_ptr<Reference> make_playlist_knn(const Corpus& c, const ReferenceOptions& opt) {
  MELON_CHECK(opt.neighbours > 0, "playlist-knn: --neighbours must be positive (got " << opt.neighbours << ")");
  MELON_CHECK(std::isfinite(opt.power) && opt.power > 0,
              "playlist-knn: --power must be positive (got " << opt.power << ")");
  return std::make_unique<PlaylistKnn>(c, opt);
}

}  // namespace melon::recommend

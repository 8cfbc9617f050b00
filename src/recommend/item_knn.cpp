// item-knn: score(i) = sum over question items q of w_q co(q, i) / (cnt(q)^alpha cnt(i)^beta),
// co(q, i) = playlists holding both. The damping is what the strong Arena
// solutions tuned: alpha keeps a popular question item from drowning the
// rare, telling ones; beta keeps popular candidates from winning by count.
#include <algorithm>
#include <cmath>

#include "melon/error.hpp"
#include "reference_models.hpp"

namespace melon::recommend {
namespace {

class ItemKnn : public Reference {
 public:
  // pow() per touched item would dominate a question's cost: damp once.
  ItemKnn(const Corpus& c, const ReferenceOptions& opt) : in_(c.n_items()), out_(c.n_items()) {
    for (std::size_t i = 0; i < in_.size(); ++i) {
      const auto n = static_cast<double>(std::max<std::int64_t>(c.count(static_cast<std::int32_t>(i)), 1));
      in_[i] = std::pow(n, -opt.alpha);
      out_[i] = std::pow(n, -opt.beta);
    }
  }

  // sum_q w_q co(q, i) / cnt(q)^alpha = sum over playlists p of [i in p] f(p),
  // f(p) = sum_{q in p} w_q / cnt(q)^alpha. Summing f per playlist first walks
  // each playlist once instead of once per question item it shares, and never
  // materialises the co-occurrence matrix (sum of len^2 pairs over training).
  void score(const Corpus& c, const Query& q, Workspace& ws) const override {
    for (auto& [item, w] : q) {
      const double f = w * in_[item];
      for (auto k = c.item_offsets[item]; k < c.item_offsets[item + 1]; ++k) ws.add_playlist(c.playlists[k], f);
    }
    // Title tokens are inputs only: the walk stops where a playlist's tokens begin.
    for (auto p : ws.playlists_touched) {
      const double f = ws.playlist[p];
      for (auto k = c.offsets[p]; k < c.tokens_at[p]; ++k) ws.add_item(c.items[k], f);
    }
    for (auto i : ws.items_touched) ws.item[i] *= out_[i];
  }

 private:
  std::vector<double> in_, out_;  // cnt^-alpha, cnt^-beta by item
};

}  // namespace

std::unique_ptr<Reference> make_item_knn(const Corpus& c, const ReferenceOptions& opt) {
  MELON_CHECK(std::isfinite(opt.alpha) && std::isfinite(opt.beta), "item-knn: --alpha and --beta must be finite");
  return std::make_unique<ItemKnn>(c, opt);
}

}  // namespace melon::recommend

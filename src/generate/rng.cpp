#include "melon/generate/rng.hpp"

#include "melon/error.hpp"

namespace melon::generate {

AliasTable::AliasTable(const std::vector<double>& weights) {
  const std::size_t n = weights.size();
  MELON_ASSERT(n > 0 && n < (1ULL << 32), "alias table of " << n << " entries");
  double total = 0;
  for (double w : weights) {
    MELON_ASSERT(w >= 0 && std::isfinite(w), "alias weight " << w);
    total += w;
  }
  MELON_ASSERT(total > 0, "alias table with zero total weight");
  prob_.assign(n, 1.0f);
  alias_.resize(n);
  std::vector<double> scaled(n);
  std::vector<std::uint32_t> small, large;
  for (std::size_t i = 0; i < n; ++i) {
    alias_[i] = static_cast<std::uint32_t>(i);
    scaled[i] = weights[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    const std::uint32_t s = small.back(), l = large.back();
    small.pop_back();
    prob_[s] = static_cast<float>(scaled[s]);
    alias_[s] = l;
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Leftovers are 1 up to rounding error: they keep themselves.
}

}  // namespace melon::generate

#include "melon/train/adam.hpp"

#include <algorithm>
#include <cmath>

namespace melon::train {

AdamStep::AdamStep(const AdamOptions& o, std::int64_t t) {
  const double bc1 = 1 - std::pow(o.beta1, static_cast<double>(t));
  const double bc2 = 1 - std::pow(o.beta2, static_cast<double>(t));
  step_size = static_cast<float>(o.lr / bc1);
  beta1 = static_cast<float>(o.beta1);
  beta2 = static_cast<float>(o.beta2);
  one_minus_b1 = static_cast<float>(1 - o.beta1);
  one_minus_b2 = static_cast<float>(1 - o.beta2);
  inv_sqrt_bc2 = static_cast<float>(1 / std::sqrt(bc2));
  eps = static_cast<float>(o.eps);
  keep = static_cast<float>(1 - o.lr * o.weight_decay);
}

namespace {
constexpr std::int64_t kChunk = 1 << 16;

inline void update(const AdamStep& s, float* __restrict p, float* __restrict m, float* __restrict v,
                   const float* __restrict g, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    m[i] = s.beta1 * m[i] + s.one_minus_b1 * g[i];
    v[i] = s.beta2 * v[i] + s.one_minus_b2 * g[i] * g[i];
    p[i] = p[i] * s.keep - s.step_size * m[i] / (std::sqrt(v[i]) * s.inv_sqrt_bc2 + s.eps);
  }
}
}  // namespace

void adam_dense(const AdamStep& s, float* p, float* m, float* v, const float* g, std::int64_t n,
                util::ThreadPool& pool) {
  util::Chunks ch{n, kChunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    const auto o = ch.begin(c);
    update(s, p + o, m + o, v + o, g + o, ch.len(c));
  });
}

void adam_rows(const AdamStep& s, float* p, float* m, float* v, std::int64_t n_rows, std::int64_t cols,
               const std::vector<std::int32_t>& rows, const float* row_grad, util::ThreadPool& pool) {
  const std::vector<float> zero(static_cast<std::size_t>(cols), 0.0f);
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, kChunk / std::max<std::int64_t>(cols, 1));
  util::Chunks ch{n_rows, rows_per_chunk};
  pool.run(ch.count(), [&](std::int64_t c) {
    const auto r0 = ch.begin(c), r1 = r0 + ch.len(c);
    auto it = std::lower_bound(rows.begin(), rows.end(), r0);
    for (auto r = r0; r < r1; ++r) {
      const float* g = zero.data();
      if (it != rows.end() && *it == r) {
        g = row_grad + (it - rows.begin()) * cols;
        ++it;
      }
      const auto o = r * cols;
      update(s, p + o, m + o, v + o, g, cols);
    }
  });
}

}  // namespace melon::train

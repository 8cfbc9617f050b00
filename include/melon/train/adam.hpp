#pragma once
// Adam (Kingma & Ba), as torch.optim.Adam computes it, over flat float arrays.
// Every rank applies it to the same reduced gradient, so weights stay
// identical without ever being broadcast.
#include <cstdint>
#include <vector>

#include "melon/util/thread_pool.hpp"

namespace melon::train {

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0;  // decoupled (AdamW): p -= lr * weight_decay * p each step
};

// Step number t (1-based) sets the bias corrections.
struct AdamStep {
  float step_size, beta1, beta2, one_minus_b1, one_minus_b2, inv_sqrt_bc2, eps, keep;
  AdamStep(const AdamOptions& o, std::int64_t t);
};

// p, m, v, g: n elements; a dense update.
void adam_dense(const AdamStep& s, float* p, float* m, float* v, const float* g, std::int64_t n,
                util::ThreadPool& pool);

// A block of n_rows x cols parameters whose gradient is zero except on `rows`
// (ascending) with values row_grad (rows.size() x cols). Every row's moments
// decay as in the dense update, so this equals adam_dense on the scattered
// gradient bit for bit.
void adam_rows(const AdamStep& s, float* p, float* m, float* v, std::int64_t n_rows, std::int64_t cols,
               const std::vector<std::int32_t>& rows, const float* row_grad, util::ThreadPool& pool);

}  // namespace melon::train

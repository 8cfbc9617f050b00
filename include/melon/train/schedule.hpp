#pragma once
// The learning-rate schedule: linear from lr down to lr * lr_final over the
// planned steps (epochs x steps per epoch), then flat. lr_final = 1 keeps it
// constant. Why a decay: TrainConfig::lr_final (config.hpp).
#include <algorithm>
#include <cstdint>

namespace melon::train {

// The learning rate of step `step` (0-based).
inline double scheduled_lr(double lr, double lr_final, std::int64_t step, std::int64_t planned_steps) {
  const double planned = static_cast<double>(std::max<std::int64_t>(1, planned_steps));
  return lr * (1.0 - (1.0 - lr_final) * std::min(1.0, static_cast<double>(step) / planned));
}

}  // namespace melon::train

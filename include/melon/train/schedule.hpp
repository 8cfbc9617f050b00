#pragma once
// The training length and learning-rate schedule, in steps.
//
// Fixed length (--epochs N): the budget is N epochs; the rate falls linearly
// from lr to lr * lr_final over it, then stays flat (no warm-up unless asked).
//
// Self-sizing (--epochs auto, the default): the budget follows the data:
// ten epochs, but at least min_steps (a small set is otherwise left
// untrained: 20 steps an epoch gave 100 steps) and at most max_steps_budget
// (a very large one stops in bounded time). The rate warms up linearly over
// the first warm-up steps, then falls linearly to lr * lr_final at the
// budget. Training ends at the budget, or earlier once the held-out score has
// not improved for `patience` steps (the best weights are best.h5 either way).
//
// Every quantity is a function of the settings and the steps per epoch, so a
// resumed run follows the same schedule bit for bit.
#include <algorithm>
#include <cstdint>

namespace melon::train {

struct TrainConfig;

struct Schedule {
  bool self_sizing = false;
  std::int64_t budget = 1;    // steps
  std::int64_t warmup = 0;    // steps of linear warm-up
  std::int64_t patience = 0;  // self-sizing: steps without a better held-out score before stopping
  double lr = 0, lr_final = 1;
};

Schedule make_schedule(const TrainConfig& c, std::int64_t steps_per_epoch);

// The learning rate of step `step` (0-based).
double lr_at(const Schedule& s, std::int64_t step);

// Self-sizing: whether training ends after an evaluation at `step` whose best
// held-out score so far came at `best_step` (-1: none yet).
bool stop_early(const Schedule& s, std::int64_t step, std::int64_t best_step);

}  // namespace melon::train

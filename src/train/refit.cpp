#include "melon/train/refit.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "melon/ae/checkpoint.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::train {
namespace {

// The best held-out score is measured at an epoch's end.
std::int64_t best_epochs(const TrainResult& first) {
  return (first.best_step + first.steps_per_epoch - 1) / first.steps_per_epoch;
}

}  // namespace

std::string no_refit_reason(const TrainConfig& cfg, const TrainResult& first) {
  if (cfg.refit == Refit::Off) return "--refit off";
  if (cfg.val_size == 0 || first.held_out <= 0) return "no held-out playlists (--val-size 0)";
  if (cfg.checkpoint_dir.empty()) return "no checkpoint folder";
  if (!first.completed) return "the run has not reached its end";
  if (first.best_step <= 0) return "no held-out score was kept";
  const double share = static_cast<double>(first.held_out) / static_cast<double>(first.held_out + first.examples);
  if (cfg.refit == Refit::Auto && share < kRefitMinShare) {
    std::ostringstream o;
    o.precision(2);
    o << "the " << first.held_out << " held-out playlists are " << std::fixed << share * 100
      << "% of the data (--refit auto refits from " << kRefitMinShare * 100 << "%)";
    return o.str();
  }
  return "";
}

TrainConfig refit_config(const TrainConfig& cfg, const TrainInputs& in, const TrainResult& first) {
  MELON_ASSERT(no_refit_reason(cfg, first).empty(), "refit_config: " << no_refit_reason(cfg, first));
  TrainConfig c = cfg;
  const auto spe0 = first.steps_per_epoch;
  const auto examples = static_cast<std::int64_t>(in.train.size() + in.questions.size());
  const std::int64_t spe = std::max<std::int64_t>(1, (examples + cfg.batch - 1) / cfg.batch);
  c.val_size = 0;
  c.refit = Refit::Off;
  c.checkpoint_dir = ae::refit_dir(cfg.checkpoint_dir);
  c.resume = Resume::Auto;
  c.test_kill_at_step = 0;
  // A fixed budget of the first run's epochs, the warm-up scaled to the new
  // epoch length.
  c.epochs = static_cast<int>((first.budget + spe0 - 1) / spe0);
  c.warmup = std::llround(static_cast<double>(first.warmup) * static_cast<double>(spe) / static_cast<double>(spe0));
  c.max_steps = best_epochs(first) * spe;
  return c;
}

TrainResult run_refit(const TrainConfig& cfg, const TrainInputs& in, const TrainResult& first, MPI_Comm comm) {
  const auto c = refit_config(cfg, in, first);
  const bool speak = mpi::rank(comm) == 0 && !cfg.quiet;
  if (speak) {
    log::info("refit: training again on all " + std::to_string(in.train.size()) +
              " training playlists (the held-out slice included) for the best run's " +
              std::to_string(best_epochs(first)) + " epochs: " + std::to_string(c.max_steps) + " steps of a " +
              std::to_string(c.epochs) + "-epoch schedule, in " + c.checkpoint_dir);
  }
  auto res = run_training(c, in, comm);
  if (res.stopped_by_signal || res.step < c.max_steps) return res;
  mpi::on_root(comm, [&] {
    std::string path;
    auto refit = ae::read_latest(c.checkpoint_dir, false, &path);
    MELON_CHECK(refit && refit->step == c.max_steps,
                c.checkpoint_dir << ": the refit's last checkpoint (step " << c.max_steps << ") does not read back");
    // The choices the held-out slice made for the best epoch carry over: the
    // refit has no held-out playlists to make them on.
    const auto best = ae::read_checkpoint(ae::best_path(cfg.checkpoint_dir), false);
    refit->cold_songs = best.cold_songs;
    refit->cold_shift = best.cold_shift;
    refit->nbr_scale = best.nbr_scale;
    refit->tag_mix = best.tag_mix;
    refit->held_out.clear();
    refit->val_score = -1;
    ae::write_refit(cfg.checkpoint_dir, *refit);
    if (speak) log::info("refit: " + ae::refit_path(cfg.checkpoint_dir) + " (from " + path + "); answers use it");
  });
  return res;
}

}  // namespace melon::train

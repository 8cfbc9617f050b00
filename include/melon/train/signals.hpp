#pragma once
// SIGTERM (a scheduler's stop, e.g. Slurm before the time limit) and SIGUSR1
// (a user's "checkpoint and stop") only set a flag; the training loop reads it
// at step boundaries and the ranks agree on it by allreduce, so all of them
// checkpoint the same step and exit cleanly. Nothing else runs in the handler.
namespace melon::train {

// Installs the handlers for the object's lifetime and restores the previous ones after.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
};

bool stop_requested();  // set by a handled signal since the last clear
int stop_signal();      // which one (0: none)
void clear_stop();

}  // namespace melon::train

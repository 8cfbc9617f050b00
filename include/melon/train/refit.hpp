#pragma once
// The refit: once a run that held training playlists out has reached its own
// end, the model is trained again from scratch on every training playlist,
// the held-out slice included, for as many epochs as the run's best held-out
// score took, on the same schedule counted in epochs. The held-out slice
// chose when to stop; the answers then come from a model that saw it too. On
// small data that slice is a third of the playlists (1,600 of 4,800:
// train/held_out.hpp's --val-size auto).
//
// Its checkpoints go to DIR/refit/ (it resumes like any run) and its weights,
// with best.h5's cold-song, item-to-item and tag-mix choices, to DIR/refit.h5
// (ae/checkpoint.hpp). The reranker learns on best.h5 (its questions come
// from the held-out slice) and answers with refit.h5, as it refits the
// references.
#include <mpi.h>

#include <string>

#include "melon/train/config.hpp"
#include "melon/train/trainer.hpp"

namespace melon::train {

// Why `first` gets no refit ("" when it does): refit off, no held-out slice,
// no checkpoint folder, no best epoch, or a run that has not reached its end.
std::string no_refit_reason(const TrainConfig& cfg, const TrainResult& first);

// The refit's settings: every playlist (val_size 0), DIR/refit, the budget
// and warm-up of `first` in epochs, stopping after its best epoch.
TrainConfig refit_config(const TrainConfig& cfg, const TrainInputs& in, const TrainResult& first);

// Runs (or resumes) the refit and, when it reaches its last step, writes
// refit.h5. Requires no_refit_reason(cfg, first) to be empty.
TrainResult run_refit(const TrainConfig& cfg, const TrainInputs& in, const TrainResult& first, MPI_Comm comm);

}  // namespace melon::train

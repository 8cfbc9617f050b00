#pragma once
// Answers questions with a trained autoencoder: 100 songs and 10 tags each,
// the top of its candidates (candidates.hpp), a shortfall filled from its
// popularity lists under the same rules (arena/rules.hpp). `melon predict`
// writes these, and training scores its held-out questions with them.
#include <mpi.h>

#include <vector>

#include "melon/ae/candidates.hpp"
#include "melon/ae/model.hpp"
#include "melon/arena/types.hpp"

namespace melon::ae {

// Questions are split across the ranks of comm. Answers in question order: on
// rank 0 of comm when gather (others get none), else this rank's block of the
// questions.
std::vector<arena::Result> predict(const Model& m, const std::vector<arena::Playlist>& questions,
                                   const PredictOptions& opt, util::ThreadPool& pool, MPI_Comm comm, bool gather);

}  // namespace melon::ae

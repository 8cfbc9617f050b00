#pragma once
// Answers computed on many ranks, collected on one.
#include <mpi.h>

#include <vector>

#include "melon/arena/types.hpp"

namespace melon::arena {

// Every rank's answers on rank 0, in rank order (so in question order when each
// rank holds its mpi::block_range); other ranks get an empty vector. Collective.
std::vector<Result> gather_results(const std::vector<Result>& mine, MPI_Comm comm);

}  // namespace melon::arena

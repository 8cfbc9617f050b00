#pragma once
// Which songs a rank owns. A shard is a contiguous run of the (sorted) song
// list; shards are balanced by the bytes each song costs to read, not by song
// count, so a rank holding short or missing songs is not left idle while
// another reads. A rank with no songs is legal.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::pca {

// --songs: a file with one song id per line (blank lines and '#' comments
// allowed), or an inclusive range "A-B" when no file of that name exists.
// Returned sorted ascending without duplicates (their count in *duplicates).
std::vector<arena::SongId> parse_song_list(const std::string& spec, std::int64_t* duplicates = nullptr);

// Splits items with non-negative costs into `parts` contiguous ranges [begin, end)
// of (nearly) equal total cost: item i goes to the part holding the midpoint of
// its cost interval. All-zero costs fall back to equal counts.
std::vector<mpi::Range> partition_by_cost(const std::vector<std::int64_t>& costs, int parts);

// Evaluates cost(i) for every item, each rank doing an equal slice, and gives
// every rank every cost (one stat() per file, spread over the job).
std::vector<std::int64_t> costs_everywhere(MPI_Comm comm, std::int64_t n,
                                           const std::function<std::int64_t(std::int64_t)>& cost);

}  // namespace melon::pca

#include "melon/arena/gather.hpp"

#include <string>

#include "melon/arena/io.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::arena {

// Answers travel between ranks as the JSON we write anyway, and come back
// through the same strict reader as any results file.
std::vector<Result> gather_results(const std::vector<Result>& mine, MPI_Comm comm) {
  if (mpi::size(comm) == 1) return mine;
  std::string bytes;
  for (const auto& r : mine) bytes += (bytes.empty() ? "" : ", ") + to_json(r);
  // Each rank's part is a comma-separated run of objects, ended by a record
  // separator (none for a rank without answers); root joins the runs.
  const auto parts = mpi::gather_bytes(comm, bytes.empty() ? std::string() : bytes + "\x1e");
  if (mpi::rank(comm) != 0) return {};
  std::string json = "[";
  std::size_t pos = 0;
  bool first = true;
  while (pos < parts.size()) {
    const auto end = parts.find('\x1e', pos);
    if (!first) json += ", ";
    first = false;
    json += parts.substr(pos, end - pos);
    pos = end + 1;
  }
  json += "]";
  return parse_results(json, "answers gathered from ranks");
}

}  // namespace melon::arena

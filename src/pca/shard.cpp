#include "melon/pca/shard.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>

#include "melon/error.hpp"

namespace melon::pca {
namespace {

bool parse_id(const std::string& text, std::int64_t& out) {
  if (text.empty()) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

void check_id(std::int64_t v, const std::string& where) {
  MELON_CHECK(v >= 0 && v <= std::numeric_limits<arena::SongId>::max(),
              where << ": song id " << v << " is out of range (0.." << std::numeric_limits<arena::SongId>::max()
                    << ")");
}

}  // namespace

std::vector<arena::SongId> parse_song_list(const std::string& spec, std::int64_t* duplicates) {
  std::vector<arena::SongId> ids;
  struct stat st {};
  const bool is_file = ::stat(spec.c_str(), &st) == 0;
  auto dash = spec.find('-');
  if (!is_file && dash != std::string::npos && dash > 0) {
    std::int64_t a = 0, b = 0;
    MELON_CHECK(parse_id(spec.substr(0, dash), a) && parse_id(spec.substr(dash + 1), b),
                "--songs " << spec << ": neither a file nor a range like 0-9999");
    check_id(a, "--songs " + spec);
    check_id(b, "--songs " + spec);
    MELON_CHECK(a <= b, "--songs " << spec << ": empty range (start after end)");
    ids.reserve(static_cast<std::size_t>(b - a + 1));
    for (std::int64_t i = a; i <= b; ++i) ids.push_back(static_cast<arena::SongId>(i));
    if (duplicates) *duplicates = 0;
    return ids;
  }
  std::ifstream in(spec);
  MELON_CHECK(is_file && in, "--songs " << spec << ": cannot open the file (" << std::strerror(errno)
                                        << "), and it is not a range like 0-9999");
  std::string line;
  std::int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::string t = trim(line);
    if (t.empty()) continue;
    std::int64_t v = 0;
    MELON_CHECK(parse_id(t, v), spec << ":" << lineno << ": expected one song id, got '" << t << "'");
    check_id(v, spec + ":" + std::to_string(lineno));
    ids.push_back(static_cast<arena::SongId>(v));
  }
  MELON_CHECK(!in.bad(), spec << ": read failed");
  std::sort(ids.begin(), ids.end());
  auto before = ids.size();
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (duplicates) *duplicates = static_cast<std::int64_t>(before - ids.size());
  return ids;
}

std::vector<mpi::Range> partition_by_cost(const std::vector<std::int64_t>& costs, int parts) {
  MELON_ASSERT(parts >= 1, "parts = " << parts);
  const auto n = static_cast<std::int64_t>(costs.size());
  std::vector<mpi::Range> out(static_cast<std::size_t>(parts));
  long double total = 0;
  for (auto c : costs) {
    MELON_ASSERT(c >= 0, "negative cost " << c);
    total += c;
  }
  if (total == 0) {
    for (int r = 0; r < parts; ++r) out[r] = mpi::block_range(n, r, parts);
    return out;
  }
  // Item i belongs to part floor(midpoint_i * parts / total): monotone in i, so parts are contiguous.
  std::vector<std::int64_t> first(static_cast<std::size_t>(parts) + 1, n);
  long double before = 0;
  int next = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    long double mid = before + costs[i] / 2.0L;
    before += costs[i];
    int part = static_cast<int>(std::min<long double>(parts - 1, mid * parts / total));
    while (next <= part) first[next++] = i;
  }
  for (int r = 0; r < parts; ++r) out[r] = {first[r], first[r + 1]};
  return out;
}

std::vector<std::int64_t> costs_everywhere(MPI_Comm comm, std::int64_t n,
                                           const std::function<std::int64_t(std::int64_t)>& cost) {
  const int p = mpi::size(comm), r = mpi::rank(comm);
  auto mine = mpi::block_range(n, r, p);
  std::string bytes(static_cast<std::size_t>(mine.end - mine.begin) * sizeof(std::int64_t), '\0');
  mpi::collective(comm, [&] {
    for (std::int64_t i = mine.begin; i < mine.end; ++i) {
      std::int64_t c = cost(i);
      std::memcpy(bytes.data() + (i - mine.begin) * sizeof c, &c, sizeof c);
    }
  });
  auto all = mpi::allgather_bytes(comm, bytes);
  std::vector<std::int64_t> out(static_cast<std::size_t>(n));
  std::size_t at = 0;
  for (auto& part : all) {
    if (!part.empty()) std::memcpy(out.data() + at, part.data(), part.size());
    at += part.size() / sizeof(std::int64_t);
  }
  MELON_ASSERT(at == out.size(), "gathered " << at << " costs for " << n << " items");
  return out;
}

}  // namespace melon::pca

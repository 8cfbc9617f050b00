#include "melon/arena/rules.hpp"

#include <unordered_set>

namespace melon::arena {

namespace {

template <class T>
void fill_impl(std::vector<T>& out, const std::vector<T>& ranked, const std::vector<T>& exclude, std::size_t want) {
  std::unordered_set<T> skip(exclude.begin(), exclude.end());
  skip.insert(out.begin(), out.end());
  for (const auto& x : ranked) {
    if (out.size() >= want) break;
    if (skip.insert(x).second) out.push_back(x);
  }
}

}  // namespace

std::vector<std::int32_t> song_dates(const SongMeta& meta) {
  std::vector<std::int32_t> d(meta.size());
  for (std::size_t i = 0; i < meta.size(); ++i) d[i] = date_key(meta.songs[i].issue_date);
  return d;
}

void fill_from(std::vector<SongId>& out, const std::vector<SongId>& ranked, const std::vector<SongId>& exclude,
               std::size_t want) {
  fill_impl(out, ranked, exclude, want);
}
void fill_from(std::vector<std::string>& out, const std::vector<std::string>& ranked,
               const std::vector<std::string>& exclude, std::size_t want) {
  fill_impl(out, ranked, exclude, want);
}

}  // namespace melon::arena

#pragma once
// The answer rules every recommender shares, in one place:
//   - 100 songs and 10 tags, never a song or tag the question shows
//     (fill_from: the last-resort filler);
//   - never a song released after the playlist's updt_date, when song_meta
//     gives both dates (real solutions gained from dropping them, arena.md).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::arena {

// date_key(issue_date) by song id.
std::vector<std::int32_t> song_dates(const SongMeta& meta);

// True unless both dates are known (non-zero) and the song came out after the
// playlist was last updated.
inline bool released_by(std::int32_t song_date, std::int32_t playlist_date) {
  return song_date == 0 || playlist_date == 0 || song_date <= playlist_date;
}

// The same rule for song s, with dates by song id (empty: no date filter;
// songs past the end count as undated).
inline bool released_by(const std::vector<std::int32_t>& dates, SongId s, std::int32_t playlist_date) {
  if (dates.empty() || s < 0 || static_cast<std::size_t>(s) >= dates.size()) return true;
  return released_by(dates[static_cast<std::size_t>(s)], playlist_date);
}

// Appends items from `ranked` to `out` until it holds `want`, skipping items in
// `exclude` or already in `out`. The last-resort filler every recommender uses.
void fill_from(std::vector<SongId>& out, const std::vector<SongId>& ranked, const std::vector<SongId>& exclude,
               std::size_t want);
void fill_from(std::vector<std::string>& out, const std::vector<std::string>& ranked,
               const std::vector<std::string>& exclude, std::size_t want);

}  // namespace melon::arena

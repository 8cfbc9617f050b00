#pragma once
// The answer rules every recommender shares, in one place:
//   - never a song or tag the question shows (fill_from in baseline.hpp);
//   - never a song released after the playlist's updt_date, when song_meta
//     gives both dates (real solutions gained from dropping them, arena.md).
#include <cstdint>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::recommend {

// date_key(issue_date) by song id (defined in predict.cpp).
std::vector<std::int32_t> song_dates(const arena::SongMeta& meta);

// True unless both dates are known (non-zero) and the song came out after the
// playlist was last updated.
inline bool released_by(std::int32_t song_date, std::int32_t playlist_date) {
  return song_date == 0 || playlist_date == 0 || song_date <= playlist_date;
}

// The same rule for song s, with dates by song id (empty: no date filter;
// songs past the end count as undated).
inline bool released_by(const std::vector<std::int32_t>& dates, arena::SongId s, std::int32_t playlist_date) {
  if (dates.empty() || s < 0 || static_cast<std::size_t>(s) >= dates.size()) return true;
  return released_by(dates[static_cast<std::size_t>(s)], playlist_date);
}

}  // namespace melon::recommend

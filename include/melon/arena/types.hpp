#pragma once
// In-memory types for the Arena files, as released (see shared arena.md).
// Readers fill these after validation; everything downstream uses only these.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace melon::arena {

using SongId = std::int32_t;

struct Playlist {
  std::int64_t id = 0;
  std::string title;              // plylst_title; may be empty in questions
  std::vector<SongId> songs;      // in file order
  std::vector<std::string> tags;  // in file order
  std::int64_t like_cnt = 0;
  std::string updt_date;  // "YYYY-MM-DD hh:mm:ss.mmm" as released
};

struct Song {
  SongId id = 0;
  std::string name;                        // song_name
  std::vector<std::string> genres;         // song_gn_gnr_basket (major genres, GNxx00)
  std::vector<std::string> detail_genres;  // song_gn_dtl_gnr_basket
  std::string issue_date;                  // raw, e.g. "20140512"; may be "00000000" or "19860000"
  std::int64_t album_id = -1;              // -1 when null in the file
  std::optional<std::string> album_name;   // null for a few real songs
  std::vector<std::int64_t> artist_ids;    // artist_id_basket
  std::vector<std::string> artist_names;   // artist_name_basket
};

// song_meta indexed by id: songs[i].id == i (the reader enforces dense ids 0..n-1).
struct SongMeta {
  std::vector<Song> songs;
  std::size_t size() const { return songs.size(); }
};

// genre_gn_all.json: code -> name.
using GenreMap = std::map<std::string, std::string>;

// One entry of results.json (and of an answer file, which has the same shape).
struct Result {
  std::int64_t id = 0;
  std::vector<SongId> songs;
  std::vector<std::string> tags;
};

// YYYYMMDD as an integer for date comparisons. Returns 0 when the text is not a
// usable date prefix (real song_meta has "00000000"; "19860000" gives 19860000:
// unknown month/day are kept as 00 so the year still orders correctly).
std::int32_t date_key(const std::string& text);

}  // namespace melon::arena

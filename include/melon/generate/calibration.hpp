#pragma once
// Generated-vs-real figures for a synthetic dataset, accumulated while the
// files stream out (nothing here holds whole playlists). Real figures come
// from arena.md; those that grow with the dataset are also shown scaled to
// the generated size, so a small dataset can be judged against them.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/generate/world.hpp"

namespace melon::generate {

struct CalibrationRow {
  std::string key;    // machine-readable name in calibration.json
  std::string label;  // what the table prints
  double generated = 0;
  double real = 0;         // the real-data figure (arena.md); NaN when there is none
  double real_scaled = 0;  // real figure scaled to this dataset's size (== real for shape figures)
  int digits = 0;          // decimals to print
};

class Calibration {
 public:
  explicit Calibration(std::int32_t n_songs);
  void add_song(const SongWorld& w, arena::SongId id);
  void add_train(const SongWorld& w, const arena::Playlist& p);
  void add_question(int set, const arena::Playlist& q);  // set 0 = val, 1 = test
  std::vector<CalibrationRow> rows() const;

  // Plain-text table, one row per figure.
  static std::string table(const std::vector<CalibrationRow>& rows);
  // {"rows": {key: {label, generated, real, real_scaled}}, plus `extra` fields}; extra is a JSON object text.
  static std::string json(const std::vector<CalibrationRow>& rows, const std::string& extra);

 private:
  std::int32_t n_songs_;
  std::vector<std::int32_t> song_uses_;  // train playlists holding each song
  std::vector<std::uint16_t> lengths_;
  std::vector<std::uint8_t> tag_counts_;
  std::unordered_map<std::string, std::int32_t> tag_uses_;
  std::vector<std::uint64_t> title_hashes_;
  std::vector<std::int64_t> likes_;
  double majors_per_playlist_ = 0;
  std::int64_t entries_ = 0, after_date_ = 0;
  std::int64_t titles_with_tag_ = 0;  // titles holding one of the playlist's tags as a word
  std::int64_t songs_by_majors_[4] = {};
  std::int64_t quirky_dates_ = 0, null_album_names_ = 0, gn9000_ = 0, songs_ = 0;
  std::int64_t types_[2][4] = {};
};

}  // namespace melon::generate

#pragma once
// The fixed genre code table of the synthetic catalogue: 30 major genres
// GN0100..GN3000 and 224 detailed genres GNxxyy (yy = 01 is "세부장르전체", as
// in the real file), 254 codes in all. GN9000 exists only in song_meta, never
// in genre_gn_all.json, as in the real release. Independent of the seed.
#include <string>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::generate {

constexpr int kMajorGenres = 30;
constexpr int kDetailGenres = 224;
constexpr int kGenre9000 = 99;  // sentinel major index for GN9000

struct GenreTable {
  std::vector<std::string> major_code;  // "GN0100" .. "GN3000"
  std::vector<std::string> major_name;
  std::vector<std::vector<std::string>> detail_code;  // [major] -> "GNxx01", "GNxx02", ...
  std::vector<std::vector<std::string>> detail_name;
  std::vector<double> popularity;     // how often a taste is built on each major
  std::vector<std::string> tag_word;  // the tag people write for the genre ("발라드", "힙합")
};

const GenreTable& genre_table();

// code -> name for genre_gn_all.json: exactly the 254 codes above.
arena::GenreMap genre_map();

}  // namespace melon::generate

// song_meta.json records from the catalogue. Names are rebuilt from the seed
// each time instead of stored, which keeps the catalogue small at full size.
#include <cstdio>

#include "melon/generate/genres.hpp"
#include "melon/generate/text.hpp"
#include "melon/generate/world.hpp"

namespace melon::generate {
namespace {

std::string issue_date_text(const Album& al) {
  char buf[16];
  const int y = al.date / 10000, m = (al.date / 100) % 100, d = al.date % 100;
  switch (al.quirk) {
    case kDateZero: return "00000000";
    case kDateYearOnly: std::snprintf(buf, sizeof buf, "%04d0000", y); break;
    case kDateNoDay: std::snprintf(buf, sizeof buf, "%04d%02d00", y, m); break;
    case kDateMonth51: std::snprintf(buf, sizeof buf, "%04d51%02d", y, d); break;
    default: std::snprintf(buf, sizeof buf, "%04d%02d%02d", y, m, d);
  }
  return buf;
}

std::string artist_name(const SongWorld& w, std::int32_t artist) {
  Rng r(w.seed, kNameStream, (2ULL << 40) | static_cast<std::uint64_t>(artist));
  return text::artist_name(r);
}

}  // namespace

arena::Song song_record(const SongWorld& w, arena::SongId id) {
  const GenreTable& gt = genre_table();
  const std::int32_t slot = w.slot_of_id[id];
  const SongSlot& s = w.slots[slot];
  const Artist& ar = w.artists[s.artist];
  const Album& al = w.albums[s.album];
  arena::Song out;
  out.id = id;
  Rng r(w.seed, kNameStream, static_cast<std::uint64_t>(slot));
  out.name = text::song_name(r);

  int maj[3];
  const int n = w.majors(id, maj);
  if (maj[0] == kGenre9000) {
    out.genres.push_back("GN9000");  // no detail genre: as unlisted as the major itself
  } else {
    for (int k = 0; k < n; ++k) {
      const auto& details = gt.detail_code[maj[k]];
      out.genres.push_back(gt.major_code[maj[k]]);
      const int det = k < 2 ? ar.detail[k] : 1 + static_cast<int>(mix(w.seed, slot, k) % (details.size() - 1));
      out.detail_genres.push_back(details[det]);
    }
    if (s.flags & kFlagCatchAll) out.detail_genres.push_back(gt.detail_code[maj[0]][0]);
  }
  out.issue_date = issue_date_text(al);
  out.album_id = w.album_id(s.album);
  if (!al.null_name) {
    Rng ra(w.seed, kNameStream, (1ULL << 40) | static_cast<std::uint64_t>(s.album));
    out.album_name = text::album_name(ra);
  }
  out.artist_ids.push_back(w.artist_id(s.artist));
  out.artist_names.push_back(artist_name(w, s.artist));
  if (s.feat >= 0) {
    out.artist_ids.push_back(w.artist_id(s.feat));
    out.artist_names.push_back(artist_name(w, s.feat));
  }
  return out;
}

}  // namespace melon::generate

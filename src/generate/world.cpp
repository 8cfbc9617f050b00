#include "melon/generate/world.hpp"

#include <algorithm>
#include <cmath>

#include "melon/error.hpp"
#include "melon/generate/genres.hpp"

namespace melon::generate {
namespace {

// The latest release in the catalogue: a week past the last playlist update,
// so a few playlists hold songs "from the future", as in the real data.
constexpr std::int32_t kLatestRelease = 20200430;
constexpr std::int32_t kEarliestRelease = 19550101;

// Shares taken from the real song_meta (arena.md): 13.1% of songs carry two
// major genres, a handful three; a few hundred are GN9000.
constexpr double kTwoMajorShare = 0.131;
constexpr double kThreeMajorShare = 0.002;
constexpr double kGenre9000Share = 0.0004;
// Deep cuts are the songs that real playlists use exactly once: a Poisson
// popularity model cannot put 42% of the catalogue at exactly one use (its
// P(1) is at most 1/e), so they are drawn without replacement instead.
constexpr double kDeepSongShare = 0.47;
constexpr double kFeatShare = 0.07;
constexpr double kTemperExponent = 0.25;
constexpr double kQuirkAlbumShare = 0.004;  // ~0.4% of songs: issue_date not a date
constexpr double kNullAlbumNameShare = 0.0004;

std::int32_t clamp_date(std::int64_t days) {
  const std::int64_t lo = ymd_to_days(kEarliestRelease), hi = ymd_to_days(kLatestRelease);
  return days_to_ymd(std::clamp(days, lo, hi));
}

}  // namespace

// Howard Hinnant's civil-calendar algorithms.
std::int32_t days_to_ymd(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return static_cast<std::int32_t>(y * 10000 + m * 100 + d);
}

std::int64_t ymd_to_days(std::int32_t ymd) {
  std::int64_t y = ymd / 10000;
  const std::int64_t m = (ymd / 100) % 100, d = ymd % 100;
  if (m <= 2) --y;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int SongWorld::majors(arena::SongId id, int out[3]) const {
  const SongSlot& s = song(id);
  if (s.flags & kFlag9000) {
    out[0] = kGenre9000;
    return 1;
  }
  const Artist& a = artists[s.artist];
  out[0] = a.major[0];
  if (!(s.flags & (kFlagTwoMajors | kFlagThreeMajors))) return 1;
  out[1] = a.major[1];
  if (!(s.flags & kFlagThreeMajors)) return 2;
  // A third genre: the taste's next genre not yet listed, else a fixed fallback.
  const Taste& t = tastes[a.taste];
  for (int g = 0; g < t.n_genres; ++g)
    if (t.genre[g] != out[0] && t.genre[g] != out[1]) {
      out[2] = t.genre[g];
      return 3;
    }
  for (int g = 0; g < kMajorGenres; ++g)
    if (g != out[0] && g != out[1]) {
      out[2] = g;
      return 3;
    }
  return 2;
}

std::int32_t SongWorld::date_key(arena::SongId id) const {
  const Album& al = album_of(id);
  switch (al.quirk) {
    case kDateOk: return al.date;
    case kDateZero: return 0;
    default: return (al.date / 10000) * 10000;
  }
}

void SongWorld::song_pos(arena::SongId id, float* out) const {
  const std::int32_t slot = slot_of_id[id];
  const Artist& a = artists[slots[slot].artist];
  Rng r(seed, kSongStream, static_cast<std::uint64_t>(slot) | (1ULL << 40));
  for (int d = 0; d < shape.dim; ++d) out[d] = a.pos[d] + static_cast<float>(0.15 * r.normal());
}

// Sparse, increasing ids like the real ones (which are not dense 0..n-1).
std::int64_t SongWorld::artist_id(std::int32_t artist) const {
  return 1 + static_cast<std::int64_t>(artist) * 4 + static_cast<std::int64_t>(mix(seed, 0xa1, artist) % 4);
}
std::int64_t SongWorld::album_id(std::int32_t album) const {
  return 1000 + static_cast<std::int64_t>(album) * 9 + static_cast<std::int64_t>(mix(seed, 0xa2, album) % 9);
}

SongWorld build_world(std::uint64_t seed, std::int32_t n_songs, const WorldShape& shape) {
  MELON_CHECK(n_songs >= 1, "generate: --songs must be >= 1, got " << n_songs);
  MELON_CHECK(shape.tastes >= 1 && shape.tastes <= 100000,
              "generate: --tastes must be in 1..100000, got " << shape.tastes);
  MELON_CHECK(shape.dim >= 1 && shape.dim <= kMaxDim, "generate: taste dimension must be in 1.." << kMaxDim);
  const GenreTable& gt = genre_table();
  SongWorld w;
  w.seed = seed;
  w.n_songs = n_songs;
  w.shape = shape;

  // Tastes: points in a D-dimensional space, each built on 1-3 major genres.
  AliasTable genre_pick(gt.popularity);
  {
    Rng r(seed, kTasteStream, 0);
    for (int t = 0; t < shape.tastes; ++t) {
      Taste tt;
      for (int d = 0; d < shape.dim; ++d) tt.center[d] = static_cast<float>(r.normal());
      tt.genre[0] = static_cast<std::uint8_t>(genre_pick.draw(r));
      tt.genre_w[0] = 1.0f;
      tt.n_genres = 1;
      const double p_more[2] = {0.65, 0.3};
      for (int k = 0; k < 2 && r.chance(p_more[k]); ++k) {
        std::uint8_t g;
        int guard = 0;
        do g = static_cast<std::uint8_t>(genre_pick.draw(r));
        while ((g == tt.genre[0] || (tt.n_genres > 1 && g == tt.genre[1])) && ++guard < 100);
        if (guard >= 100) break;
        tt.genre[tt.n_genres] = g;
        tt.genre_w[tt.n_genres] = static_cast<float>(r.uniform(0.25, 0.6));
        ++tt.n_genres;
      }
      float s = 0;
      for (int g = 0; g < tt.n_genres; ++g) s += tt.genre_w[g];
      for (int g = 0; g < tt.n_genres; ++g) tt.genre_w[g] /= s;
      tt.size = r.lognormal(0, 0.45);
      w.tastes.push_back(tt);
    }
  }
  std::vector<double> taste_sizes;
  for (auto& t : w.tastes) taste_sizes.push_back(t.size);
  AliasTable taste_pick(taste_sizes);

  const std::int64_t latest = ymd_to_days(kLatestRelease);
  // A small catalogue packs fewer songs into each taste, so the same weight
  // spread would make its hits far more dominant than real ones; flattening
  // the weights as the catalogue shrinks keeps shares (top song, songs used
  // once) near the real ones. 1 at full size.
  const double temper = std::clamp(std::pow(static_cast<double>(n_songs) / kRealSongs, kTemperExponent), 0.3, 1.0);
  std::vector<std::vector<std::int32_t>> taste_artists(shape.tastes);
  w.slots.reserve(n_songs);
  w.albums.reserve(n_songs / 3 + 16);
  w.artists.reserve(n_songs / 5 + 16);
  std::int32_t slot = 0;
  for (std::int32_t a = 0; slot < n_songs; ++a) {
    Rng r(seed, kArtistStream, static_cast<std::uint64_t>(a));
    Artist ar;
    ar.taste = static_cast<std::int32_t>(taste_pick.draw(r));
    const Taste& t = w.tastes[ar.taste];
    for (int d = 0; d < shape.dim; ++d) ar.pos[d] = t.center[d] + static_cast<float>(0.5 * r.normal());
    // Genres follow the taste, imperfectly: some artists sit outside its genres.
    auto taste_genre = [&]() {
      double u = r.uniform();
      for (int g = 0; g < t.n_genres; ++g) {
        if (u < t.genre_w[g]) return t.genre[g];
        u -= t.genre_w[g];
      }
      return t.genre[t.n_genres - 1];
    };
    ar.major[0] = r.chance(0.94) ? taste_genre() : static_cast<std::uint8_t>(genre_pick.draw(r));
    int guard = 0;
    do ar.major[1] = (t.n_genres > 1 && r.chance(0.8)) ? taste_genre() : static_cast<std::uint8_t>(genre_pick.draw(r));
    while (ar.major[1] == ar.major[0] && ++guard < 50);
    if (ar.major[1] == ar.major[0]) ar.major[1] = static_cast<std::uint8_t>((ar.major[0] + 1) % kMajorGenres);
    for (int k = 0; k < 2; ++k) {
      const int n_det = static_cast<int>(gt.detail_code[ar.major[k]].size());
      ar.detail[k] = static_cast<std::uint8_t>(1 + r.below(static_cast<std::uint32_t>(n_det - 1)));
    }
    ar.pop = static_cast<float>(r.lognormal(0, 0.8));
    // Careers: debut skewed recent, albums spread over a career span.
    const double debut = static_cast<double>(latest) - 365.25 * (0.1 - 9.0 * std::log(1.0 - r.uniform()));
    const double span = std::min(static_cast<double>(latest) - debut, -365.25 * 8.0 * std::log(1.0 - r.uniform()));
    int n_albums = 1;
    while (n_albums < 40 && r.chance(0.45)) ++n_albums;
    if (r.chance(0.05)) n_albums += r.range(3, 15);
    ar.first_slot = slot;
    ar.first_album = static_cast<std::int32_t>(w.albums.size());
    std::vector<double> dates;
    for (int k = 0; k < n_albums; ++k) dates.push_back(debut + span * r.uniform());
    std::sort(dates.begin(), dates.end());
    const std::int32_t artist_index = static_cast<std::int32_t>(w.artists.size());
    for (int k = 0; k < n_albums && slot < n_songs; ++k) {
      const std::int32_t b = static_cast<std::int32_t>(w.albums.size());
      Rng rb(seed, kAlbumStream, static_cast<std::uint64_t>(b));
      Album al;
      al.artist = artist_index;
      const double u = rb.uniform();
      int size = u < 0.55 ? (rb.chance(0.7) ? 1 : 2) : u < 0.83 ? rb.range(3, 5) : rb.range(6, 14);
      size = std::min<std::int64_t>(size, n_songs - slot);
      al.first_slot = slot;
      al.end_slot = slot + size;
      al.date = clamp_date(static_cast<std::int64_t>(dates[k]));
      if (rb.chance(kQuirkAlbumShare)) {
        const double q = rb.uniform();
        al.quirk = q < 0.4 ? kDateZero : q < 0.85 ? kDateYearOnly : q < 0.95 ? kDateNoDay : kDateMonth51;
      }
      al.null_name = rb.chance(kNullAlbumNameShare);
      const double age_years = (static_cast<double>(latest) - dates[k]) / 365.25;
      const double recency = std::exp(-age_years / 20.0);
      for (int i = 0; i < size; ++i, ++slot) {
        Rng rs(seed, kSongStream, static_cast<std::uint64_t>(slot));
        SongSlot s;
        s.album = b;
        s.artist = artist_index;
        double wt = ar.pop * rs.lognormal(0, 0.8) * recency * (i == 0 ? 1.8 : 1.0);
        if (rs.chance(0.0015)) wt *= rs.lognormal(2.1, 0.7);  // breakout hits
        wt = std::pow(wt, temper);
        const double g = rs.uniform();
        if (g < kThreeMajorShare) s.flags |= kFlagThreeMajors;
        else if (g < kThreeMajorShare + kTwoMajorShare) s.flags |= kFlagTwoMajors;
        if (rs.chance(kGenre9000Share)) s.flags = kFlag9000;
        if (rs.chance(0.5)) s.flags |= kFlagCatchAll;
        if (rs.chance(kDeepSongShare)) {
          s.flags |= kFlagDeep;
          wt = 0;
        }
        s.weight = static_cast<float>(wt);
        auto& peers = taste_artists[ar.taste];
        if (!peers.empty() && rs.chance(kFeatShare)) s.feat = peers[rs.below(static_cast<std::uint32_t>(peers.size()))];
        w.slots.push_back(s);
      }
      w.albums.push_back(al);
    }
    ar.end_slot = slot;
    ar.end_album = static_cast<std::int32_t>(w.albums.size());
    taste_artists[ar.taste].push_back(artist_index);
    w.artists.push_back(ar);
  }

  w.id_of_slot.resize(n_songs);
  for (std::int32_t i = 0; i < n_songs; ++i) w.id_of_slot[i] = i;
  Rng rp(seed, kPermStream, 0);
  shuffle(w.id_of_slot, rp);
  w.slot_of_id.resize(n_songs);
  for (std::int32_t i = 0; i < n_songs; ++i) w.slot_of_id[w.id_of_slot[i]] = i;
  return w;
}

}  // namespace melon::generate

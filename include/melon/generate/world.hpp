#pragma once
// The latent song catalogue behind a synthetic dataset: tastes in a small
// vector space, artists placed around their taste, albums, songs with
// popularity weights, genres and release dates. A pure function of
// (seed, n_songs, shape): the playlist count never enters, so spectrograms
// computed from it (SyntheticMel) agree with any dataset of the same catalogue.
#include <cstdint>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/generate/rng.hpp"

namespace melon::generate {

constexpr int kMaxDim = 16;
constexpr std::int32_t kRealSongs = 707989;

// Knobs that change the catalogue (and so the spectrograms).
struct WorldShape {
  int tastes = 48;  // latent tastes; each is tied to 1-3 major genres
  int dim = 8;      // dimension of the taste space (<= kMaxDim)
};

struct Taste {
  float center[kMaxDim] = {};
  int n_genres = 1;
  std::uint8_t genre[3] = {};  // major genre indices
  float genre_w[3] = {};       // normalised weights
  double size = 1;             // relative share of artists
};

struct Artist {
  float pos[kMaxDim] = {};
  std::int32_t taste = 0;
  std::uint8_t major[2] = {};   // primary, secondary major genre
  std::uint8_t detail[2] = {};  // detail index within each major (>= 1: not the xx01 catch-all)
  float pop = 1;
  std::int32_t first_slot = 0, end_slot = 0;
  std::int32_t first_album = 0, end_album = 0;
};

enum DateQuirk : std::uint8_t { kDateOk = 0, kDateZero, kDateYearOnly, kDateNoDay, kDateMonth51 };

struct Album {
  std::int32_t artist = 0;
  std::int32_t first_slot = 0, end_slot = 0;
  std::int32_t date = 0;  // yyyymmdd (valid calendar date)
  std::uint8_t quirk = kDateOk;
  bool null_name = false;
};

// Per-song flags.
enum SongFlag : std::uint8_t {
  kFlagTwoMajors = 1,    // song_gn_gnr_basket has the artist's secondary major too
  kFlagThreeMajors = 2,  // ... and a third
  kFlag9000 = 4,         // basket is ["GN9000"] (absent from genre_gn_all.json)
  kFlagDeep = 8,         // a deep cut: never drawn by popularity, used at most once on purpose
  kFlagCatchAll = 16,    // detail basket also lists GNxx01
};

// Songs live in "slots": creation order, contiguous per album and per artist.
// Song ids are a random permutation of slots, so ids carry no structure.
struct SongSlot {
  std::int32_t album = 0;
  std::int32_t artist = 0;
  std::int32_t feat = -1;  // second artist in artist_id_basket, or -1
  float weight = 0;        // popularity weight (0 for deep cuts)
  std::uint8_t flags = 0;
};

struct SongWorld {
  std::uint64_t seed = 0;
  std::int32_t n_songs = 0;
  WorldShape shape;
  std::vector<Taste> tastes;
  std::vector<Artist> artists;
  std::vector<Album> albums;
  std::vector<SongSlot> slots;
  std::vector<std::int32_t> id_of_slot, slot_of_id;

  const SongSlot& song(arena::SongId id) const { return slots[slot_of_id[id]]; }
  const Artist& artist_of(arena::SongId id) const { return artists[song(id).artist]; }
  const Album& album_of(arena::SongId id) const { return albums[song(id).album]; }

  // Major genre indices of a song (kGenre9000 sentinel for GN9000); returns the count.
  int majors(arena::SongId id, int out[3]) const;
  // A date key comparable with playlist dates: yyyymmdd, quirky dates read as
  // the start of their year (0 when there is no year at all).
  std::int32_t date_key(arena::SongId id) const;
  // The song's point in taste space: its artist's point plus a little noise.
  void song_pos(arena::SongId id, float* out) const;

  std::int64_t artist_id(std::int32_t artist) const;
  std::int64_t album_id(std::int32_t album) const;
};

SongWorld build_world(std::uint64_t seed, std::int32_t n_songs, const WorldShape& shape = {});

// The song_meta.json record of one song (names are derived from the seed on demand).
arena::Song song_record(const SongWorld& w, arena::SongId id);

// Calendar helpers shared by the generator: days since 1970-01-01 <-> yyyymmdd.
std::int32_t days_to_ymd(std::int64_t days);
std::int64_t ymd_to_days(std::int32_t ymd);

}  // namespace melon::generate

#pragma once
// Playlists drawn from the catalogue, and what the generator families share
// (the family interface, ids, length/date/like drawers, deep-cut pools).
// The taste family (PlaylistGenerator): a playlist picks one taste (sometimes a
// second, nearby one) and a focus point around it; songs come from artists
// near that point, weighted by popularity, with album and artist runs, a few
// off-taste popular songs, and deep cuts that are used exactly once. Tags and
// the title follow the taste (see vocab.hpp); dates and like counts are drawn
// to match the real shapes.
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/generate/rng.hpp"
#include "melon/generate/vocab.hpp"
#include "melon/generate/world.hpp"

namespace melon::generate {

struct PlaylistKnobs {
  double mix = 0.4;           // share of playlists that mix a second taste
  double song_noise = 0.02;   // share of songs drawn by global popularity, ignoring taste
  double sparsity = 1.0;      // multiplier on deep cuts (songs used exactly once)
  double runs = 1.0;          // multiplier on album/artist run probabilities
  double after_date = 0.005;  // chance to keep a song released after the playlist's update date
  double focus = 0.6;         // kernel width around the playlist's focus point (taste-space units)
};

// The hidden state a taste-family playlist is drawn from: its taste(s) and
// the focus point of each in taste space. No reader of the files sees it;
// melon oracle answers from it to bound what any method can score.
struct TasteLatent {
  int n_focus = 1;
  int taste[2] = {-1, -1};
  float center[2][kMaxDim] = {};
  double second_share = 0;  // chance that a song or tag comes from the second taste
  // The share of focus f in the playlist's songs and tags.
  double share(int f) const { return n_focus == 1 ? 1.0 : f == 0 ? 1.0 - second_share : second_share; }
};

struct GeneratedPlaylist {
  arena::Playlist playlist;
  int taste[2] = {-1, -1};  // the latent tastes it was drawn from (second is -1 when unmixed)
};

// Counters of what the song sampler did (for tuning and tests).
struct SamplerStats {
  std::int64_t attempts = 0, accepted = 0;
  std::int64_t deep = 0;          // deep cuts handed out
  std::int64_t date_rejects = 0;  // songs refused as released after the playlist's date
  std::int64_t dup_rejects = 0;   // songs already in the playlist
  std::int64_t relaxed = 0;       // songs taken after the attempt budget ran out
};

// A generator family: how playlists arise (songs, tags, title, date, likes).
// Both families share the catalogue, the playlist ids and everything written
// around the playlists (questions, calibration, spectrograms).
class PlaylistSource {
 public:
  virtual ~PlaylistSource() = default;
  // Playlist number `index` (0..n_total-1: train first, then val, then test).
  // Calls must come in increasing index order: deep cuts are handed out once,
  // first come first served. min_songs/min_tags are raised floors, used for
  // questions that must leave something to hide.
  virtual GeneratedPlaylist next(std::int64_t index, int min_songs, int min_tags) = 0;
  virtual const SamplerStats& stats() const = 0;
};

// Playlist ids: a random subset of [0, ~1.03 n_total) as the real ids (0..~153k) are.
std::vector<std::int64_t> playlist_ids(std::uint64_t seed, std::int64_t n_total);

// The real shapes of the per-playlist draws both families share.
int draw_length(Rng& rng);               // songs: quartiles 19/30/54, mean 45.9, max 200
std::int64_t draw_likes(Rng& rng);       // like_cnt: heavy-tailed
std::int64_t draw_update_day(Rng& rng);  // days since 1970: piled up in 2019-2020, back to 2005

// The rules every sampled song passes, counted in stats: a song released
// after the playlist's date (late) is kept only with chance after_date unless
// exempt (a relaxed draw, or a deep cut, already picked by date), and no song
// twice. relaxed and deep say what kind of draw it was, for the counts.
bool admit_song(Rng& rng, SamplerStats& stats, std::unordered_set<std::int32_t>& chosen, std::int32_t slot, bool late,
                bool exempt, double after_date, bool relaxed, bool deep);

// One song of an artist, or of a slot range inside it (an album), by popularity.
class RangeSampler {
 public:
  RangeSampler() = default;
  RangeSampler(const SongWorld& world, const std::vector<double>& weight);
  // A slot in [lo, hi) of `artist`; -1 when they all weigh nothing.
  std::int32_t draw(Rng& rng, std::int32_t artist, std::int32_t lo, std::int32_t hi) const;
  double artist_weight(std::int32_t artist) const;
  // The popularity weight of the slots [lo, hi) of `artist`.
  double range_weight(std::int32_t artist, std::int32_t lo, std::int32_t hi) const;

 private:
  double prefix(std::int32_t artist, std::int32_t slot) const;
  const SongWorld* w_ = nullptr;
  std::vector<double> cum_;  // per slot: artist-local inclusive prefix of weights
};

// Deep cuts of one group, by release date; each is handed out once, to a
// playlist dated after its release (a "next free" union-find skips taken ones).
class DeepPool {
 public:
  DeepPool(std::vector<std::int32_t> slots, const std::vector<std::int32_t>& date);
  std::int32_t take(Rng& rng, std::int32_t max_date);  // -1 when none is left
 private:
  std::int32_t find(std::int32_t i);
  std::vector<std::int32_t> slots_, dates_, next_free_;
};

// The taste family (`--model taste`, the default).
class PlaylistGenerator final : public PlaylistSource {
 public:
  // n_total playlists are numbered 0..n_total-1 (train first, then val, then test);
  // n_train sizes the vocabulary.
  PlaylistGenerator(const SongWorld& world, std::int64_t n_train, std::int64_t n_total, const PlaylistKnobs& knobs,
                    const VocabKnobs& vocab_knobs);

  GeneratedPlaylist next(std::int64_t index, int min_songs, int min_tags) override;

  std::int64_t playlist_id(std::int64_t index) const { return ids_[index]; }
  const Vocab& vocab() const { return vocab_; }
  const SamplerStats& stats() const override { return stats_; }

  // Playlist `index`'s hidden state, drawn exactly as next() draws it.
  TasteLatent latent(std::int64_t index) const;

  // Inference from the generator's own rules (taste_inference.cpp), for melon
  // oracle. What a question shows of a playlist: song slots, tags, title words.
  struct Shown {
    std::vector<std::int32_t> slots;
    std::vector<std::string> tags;
    std::vector<std::string> title_words;
  };
  struct WeightedLatent {
    TasteLatent h;
    double weight = 1;
  };
  // Hidden states that explain `shown`, with posterior weights summing to 1:
  // importance samples of each taste's focus point (and of the pairs of
  // tastes the evidence names), the few that carry nearly all the weight.
  // The same `seed` gives the same states.
  std::vector<WeightedLatent> infer_latent(const Shown& shown, std::uint64_t seed) const;
  // For every slot, the expected number of times one song position of a
  // playlist dated `ymd` (yyyymmdd) draws it, averaged over `states`, given
  // the slots already known to be in it (album and artist runs start from
  // them). Deep cuts, handed out once each, are left at 0.
  std::vector<double> expected_draws(const std::vector<WeightedLatent>& states,
                                     const std::vector<std::int32_t>& known_slots, std::int32_t ymd) const;

 private:
  // Where a song position's song comes from (next() draws one per position).
  static constexpr double kAlbumRun = 0.15;   // the previous song's album
  static constexpr double kArtistRun = 0.12;  // ... or its artist
  // Deep cuts, of song positions: with the catalogue's deep share, 48.6% of used songs are used once.
  static constexpr double kDeepShare = 0.048;
  static constexpr int kFocusTries = 6;      // artists drawn for a taste position before the last is kept anyway
  static constexpr double kCentreSd = 0.35;  // a focus point's spread around its taste's centre, per dimension

  TasteLatent draw_latent(Rng& rng) const;
  std::int32_t draw_from_taste(Rng& rng, int taste, const float* center) const;
  // The chance of one song position drawing `slot` from taste `taste` with focus `center`, for each slot given.
  void taste_chances(int taste, const float* center, const std::vector<std::int32_t>& slots, double* out) const;

  const SongWorld& w_;
  PlaylistKnobs k_;
  Vocab vocab_;
  std::vector<std::int64_t> ids_;
  AliasTable taste_pick_;
  std::vector<double> taste_prior_;                   // taste_pick_'s chances
  std::vector<std::vector<double>> neighbour_prior_;  // neighbour_'s weights, [taste][second taste]
  double popularity_total_ = 0;                       // in_artist_'s weights over every slot
  std::vector<AliasTable> neighbour_;                 // [taste] -> second taste
  std::vector<std::vector<std::int32_t>> taste_artists_;
  std::vector<AliasTable> artist_pick_;  // [taste] -> index into taste_artists_
  RangeSampler in_artist_;
  AliasTable global_;               // all slots by weight
  std::vector<DeepPool> deep_;      // [taste]
  std::vector<std::int32_t> date_;  // per slot: SongWorld::date_key, cached
  SamplerStats stats_;
  std::int64_t last_index_ = -1;
};

// "YYYY-MM-DD hh:mm:ss.000"
std::string format_timestamp(std::int32_t ymd, int seconds_of_day);

}  // namespace melon::generate

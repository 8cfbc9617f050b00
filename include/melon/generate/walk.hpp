#pragma once
// The walk family (`melon generate --model walk`): playlists arise as random
// walks on a fixed song graph instead of draws around a latent taste. The
// graph is built once from the seed: every song with any popularity links to
// a few songs of its own major genre, of related genres and of the whole
// catalogue, each target drawn by popularity (preferential attachment, so the
// in-degree follows the catalogue's long tail). A playlist starts at a song
// drawn by popularity and walks: along an edge, within the album or artist of
// the last song, back to its first song (restart), or away to any popular
// song (teleport); deep cuts come from the current artist, else its genre.
// Consecutive songs are graph neighbours, so a playlist drifts: songs far
// apart in it share less than neighbours do, unlike the taste family's.
// Tags and titles come from the songs' genres (walk_vocab.hpp); dates, like
// counts and lengths use the shared drawers (playlists.hpp).
#include <cstdint>
#include <span>
#include <vector>

#include "melon/generate/playlists.hpp"
#include "melon/generate/rng.hpp"
#include "melon/generate/vocab.hpp"
#include "melon/generate/walk_vocab.hpp"
#include "melon/generate/world.hpp"

namespace melon::generate {

struct WalkKnobs {
  double restart = 0.1;  // chance a step starts again from the playlist's first song
};

class WalkGenerator final : public PlaylistSource {
 public:
  // PlaylistKnobs' song_noise (teleports), sparsity, runs and after_date apply
  // here too; mix and focus belong to the taste family.
  WalkGenerator(const SongWorld& world, std::int64_t n_train, std::int64_t n_total, const PlaylistKnobs& knobs,
                const WalkKnobs& walk, const VocabKnobs& vocab_knobs);

  GeneratedPlaylist next(std::int64_t index, int min_songs, int min_tags) override;
  const SamplerStats& stats() const override { return stats_; }

  // The out-edges of a song slot (empty for deep cuts, which nothing links to).
  std::span<const std::int32_t> edges(std::int32_t slot) const;

 private:
  std::int32_t deep_cut(Rng& rng, std::int32_t near_slot, std::int32_t max_date);

  // One major genre's songs with any popularity, by release date.
  struct GenreSongs {
    std::vector<std::int32_t> slots, dates;
    std::vector<double> cum;  // running sum of the edge weights
    // A song released in [from_date, to_date], by edge weight; -1 when there is none.
    std::int32_t draw(Rng& rng, std::int32_t from_date, std::int32_t to_date) const;
  };

  const SongWorld& w_;
  PlaylistKnobs k_;
  WalkKnobs walk_;
  WalkVocab vocab_;
  std::vector<std::int64_t> ids_;
  std::vector<std::int32_t> edges_;  // kEdges per slot, -1 for slots without edges
  RangeSampler in_artist_;
  AliasTable global_;                    // all slots by weight
  std::vector<std::int32_t> date_;       // per slot: SongWorld::date_key, cached
  std::vector<GenreSongs> genre_songs_;  // [major genre]
  std::vector<DeepPool> genre_deep_;     // [major genre]: the fallback when an artist has none left
  std::vector<std::uint8_t> taken_;      // per slot: deep cut already handed out (by either route)
  SamplerStats stats_;
  std::int64_t last_index_ = -1;
};

}  // namespace melon::generate

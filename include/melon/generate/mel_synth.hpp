#pragma once
// Procedural mel-spectrograms: exactly the values `melon generate` writes to
// arena_mel/, computed on demand, so the PCA can run at full scale without
// 255 GB of files (`melon pca --mel-source synthetic:SEED[:NSONGS]`).
// A song's spectrogram depends only on (seed, n_songs, id): never on how many
// playlists were generated, which rank asks, or in what order.
#include <cstdint>
#include <memory>
#include <string>

#include "melon/arena/types.hpp"
#include "melon/mel/npy.hpp"

namespace melon::generate {

struct SongWorld;  // the generator's latent song catalogue (genres, artists, taste positions)
struct WorldShape;
struct MelModel;  // per-genre spectral shapes and the taste-to-spectrum map (private detail)

class SyntheticMel {
 public:
  SyntheticMel(std::uint64_t seed, std::int32_t n_songs);
  // For catalogues generated with a non-default --tastes (spec "synthetic:SEED:NSONGS:TASTES").
  SyntheticMel(std::uint64_t seed, std::int32_t n_songs, const WorldShape& shape);
  ~SyntheticMel();
  SyntheticMel(SyntheticMel&&) noexcept;
  SyntheticMel& operator=(SyntheticMel&&) noexcept;

  std::int32_t n_songs() const;
  // False for the few songs the generator leaves without a file (as in the real tree).
  bool has(arena::SongId id) const;
  // The (48, T) spectrogram the generator would write for `id` (T = 1876 for most songs).
  // Throws melon::Error when !has(id) (those songs have no file).
  mel::Mel make(arena::SongId id) const;
  // The same into `out`, reusing its buffer: a reader that makes song after
  // song (the PCA's synthetic source, the generator) allocates once, not per song.
  void make(arena::SongId id, mel::Mel& out) const;
  // The catalogue the spectrograms are built from.
  const SongWorld& world() const;

 private:
  std::unique_ptr<SongWorld> world_;
  std::unique_ptr<MelModel> model_;
};

// Parses "synthetic:SEED", "synthetic:SEED:NSONGS" (NSONGS defaults to 707989)
// or "synthetic:SEED:NSONGS:TASTES" (TASTES defaults to 48, as `melon generate`).
SyntheticMel parse_mel_source(const std::string& spec);

}  // namespace melon::generate

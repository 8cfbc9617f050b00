#pragma once
// Counter-based randomness for the generator. Every random decision is drawn
// from a stream keyed by (seed, purpose, index), never from one shared
// sequence, so any item (a song, a playlist, a spectrogram) can be rebuilt
// alone, in any order, on any rank, and come out bit for bit the same.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "melon/util/rng.hpp"

namespace melon::generate {

// Mixes a key tuple into one 64-bit stream seed.
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  return splitmix64_of(a ^ splitmix64_of(b + 0x632be59bd9b4e019ULL));
}
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) { return mix(mix(a, b), c); }

// Purposes, so streams for different jobs never coincide.
enum Stream : std::uint64_t {
  kTasteStream = 1,
  kArtistStream,
  kAlbumStream,
  kSongStream,
  kPermStream,
  kPlaylistStream,
  kQuestionStream,
  kIdStream,
  kTagStream,
  kTitleStream,
  kNameStream,
  kMelStream,
  kMelGenreStream,
  kMelArtistStream,
  kMelBasisStream,
  kTypeStream,
  kVocabStream,
  kWalkGraphStream,  // the walk family's song graph and genre affinities
  kWalkVocabStream,  // ... its tag pools and open tail
  kWalkPlaylistStream,
  kOracleStream,  // melon oracle's importance samples (never in a dataset)
};

// melon's one engine (util/rng.hpp) as the generator keys it. Two things
// differ from a plain melon::Rng, both kept so generated datasets stay the
// same files: the seed goes through one more SplitMix64 step (Rng(s) here is
// melon::Rng(s + gamma)), and below() is the one-draw multiply-shift
// (below32) rather than the rejection-sampled melon::Rng::below.
class Rng : public melon::Rng {
 public:
  explicit Rng(std::uint64_t seed) : melon::Rng(seed + kSplitmixGamma) {}
  Rng(std::uint64_t seed, std::uint64_t purpose, std::uint64_t index) : Rng(mix(seed, purpose, index)) {}
  std::uint32_t below(std::uint32_t n) { return below32(n); }
  int range(int lo, int hi) {
    return lo + static_cast<int>(below(static_cast<std::uint32_t>(hi - lo + 1)));
  }  // inclusive
};

// Walker/Vose alias table: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights);
  bool empty() const { return prob_.empty(); }
  std::size_t size() const { return prob_.size(); }
  std::uint32_t draw(Rng& rng) const {
    const std::uint32_t i = rng.below(static_cast<std::uint32_t>(prob_.size()));
    return rng.uniform() < prob_[i] ? i : alias_[i];
  }

 private:
  std::vector<float> prob_;
  std::vector<std::uint32_t> alias_;
};

// Fisher-Yates shuffle driven by our Rng (std::shuffle's output is implementation-defined).
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    std::size_t j = rng.below(static_cast<std::uint32_t>(i));
    std::swap(v[i - 1], v[j]);
  }
}

// Zipf weights 1 / (i + 1)^s for ranks 0..n-1 (the tag pools' popularity).
inline std::vector<double> zipf(std::size_t n, double s) {
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), s);
  return w;
}

// One element, uniformly (the generator's one-draw below()).
inline const std::string& pick(const std::vector<std::string>& v, Rng& rng) {
  return v[rng.below(static_cast<std::uint32_t>(v.size()))];
}

}  // namespace melon::generate

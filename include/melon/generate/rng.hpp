#pragma once
// Counter-based randomness for the generator. Every random decision is drawn
// from a stream keyed by (seed, purpose, index), never from one shared
// sequence, so any item (a song, a playlist, a spectrogram) can be rebuilt
// alone, in any order, on any rank, and come out bit for bit the same.
#include <cmath>
#include <cstdint>
#include <vector>

namespace melon::generate {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Mixes a key tuple into one 64-bit stream seed.
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) { return splitmix64(a ^ splitmix64(b + 0x632be59bd9b4e019ULL)); }
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
};

// xoshiro256**: fast, good quality; seeded through splitmix64 as its authors advise.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      w = splitmix64(seed);
    }
  }
  Rng(std::uint64_t seed, std::uint64_t purpose, std::uint64_t index) : Rng(mix(seed, purpose, index)) {}

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  // [0, n) without modulo bias worth caring about (Lemire's multiply-shift).
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  int range(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::uint32_t>(hi - lo + 1))); }  // inclusive
  bool chance(double p) { return uniform() < p; }
  // Standard normal (Box-Muller, one value per call: simplicity over speed, not on hot paths).
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mu, double sigma) { return mu + sigma * normal(); }
  double lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
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

}  // namespace melon::generate

#pragma once
// Portable deterministic randomness, one family for all of melon: the same
// seed gives the same stream on every platform and standard library
// (std::shuffle and the std:: distributions are implementation-defined, so we
// never use them for anything we persist). The generator keys its streams by
// (seed, purpose, index) on top of this engine (generate/rng.hpp).
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace melon {

constexpr std::uint64_t kSplitmixGamma = 0x9E3779B97F4A7C15ull;

// SplitMix64's output for state x + gamma (a pure function of x).
inline std::uint64_t splitmix64_of(std::uint64_t x) {
  std::uint64_t z = x + kSplitmixGamma;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// The SplitMix64 generator: advances x and returns the next value.
inline std::uint64_t splitmix64(std::uint64_t& x) {
  const std::uint64_t z = splitmix64_of(x);
  x += kSplitmixGamma;
  return z;
}

// Mixes several keys into one seed (e.g. (seed, song id, purpose)).
inline std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0) {
  std::uint64_t s = a;
  std::uint64_t h = splitmix64(s);
  s = h ^ b;
  h = splitmix64(s);
  s = h ^ c;
  return splitmix64(s);
}

// xoshiro256** (Blackman & Vigna): fast, small state, good quality.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 1) {
    for (auto& w : s_) w = splitmix64(seed);
  }
  std::uint64_t next() {
    const std::uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  // Uniform in [0, n), unbiased (Lemire's method).
  std::uint64_t below(std::uint64_t n) {
    if (n <= 1) return 0;
    __uint128_t m = static_cast<__uint128_t>(next()) * n;
    auto lo = static_cast<std::uint64_t>(m);
    if (lo < n) {
      const std::uint64_t t = -n % n;
      while (lo < t) {
        m = static_cast<__uint128_t>(next()) * n;
        lo = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }
  // Uniform in [0, n) by one multiply-shift, no rejection: bias below 2^-32,
  // one draw per call (the generator's streams use it).
  std::uint32_t below32(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<__uint128_t>(next()) * n) >> 64);
  }
  double uniform() { return (next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  bool chance(double p) { return uniform() < p; }
  double normal() {
    // Box-Muller; one value per call keeps the stream position simple.
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mu, double sigma) { return mu + sigma * normal(); }
  double lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
  std::array<std::uint64_t, 4> state() const { return {s_[0], s_[1], s_[2], s_[3]}; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace melon

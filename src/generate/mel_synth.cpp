// Procedural log-mel spectrograms. A song's (48, T) array is
//   envelope[b] + beat[b]*pulse[t] + broad[b]*sections[t] + voice[b]*activity[t] + noise
// where the envelope mixes a genre shape, an artist shape, a linear image of
// the song's taste position and a song shape; tempo and beat strength follow
// the genre and taste. So audio predicts genre/artist/taste neighbourhood only
// partly: songs of one artist share a timbre, while noise and per-song terms
// blur it. Everything costs a few operations per value: one 64-bit draw feeds
// four noise samples, and transcendental calls are per song, not per value.
#include "melon/generate/mel_synth.hpp"

#include <cmath>
#include <limits>

#include "melon/error.hpp"
#include "melon/generate/genres.hpp"
#include "melon/generate/rng.hpp"
#include "melon/generate/world.hpp"

namespace melon::generate {

namespace {
constexpr int kB = mel::kBands;
constexpr int kShapeTerms = 5;                 // cosine terms of a smooth band curve
constexpr int kGenreSlots = kMajorGenres + 1;  // + GN9000
constexpr int kPulseTable = 64;
// Per 10,000 songs: files missing, shorter clips, -inf values.
constexpr std::uint64_t kMissingPer10k = 20, kShortPer10k = 50, kInfPer10k = 10;
}  // namespace

struct MelModel {
  float cosines[kShapeTerms][kB];  // cos(pi k (b + 0.5) / 48), k = 1..5
  float base[kB];                  // generic log-mel tilt: bass-heavy
  float genre_shape[kGenreSlots][kB];
  float genre_bpm[kGenreSlots];
  float genre_beat[kGenreSlots];  // beat strength
  float genre_noise[kGenreSlots];
  float beat_shape[kB];          // kick low, hats high
  float taste_map[kMaxDim][kB];  // taste position -> envelope
  float pulse[kPulseTable];      // decay of one beat over its period
};

namespace {

struct Traits {
  bool missing, has_inf;
  int frames;
  std::uint64_t h;
};

Traits traits(std::uint64_t seed, arena::SongId id) {
  const std::uint64_t h = mix(seed, kMelStream, static_cast<std::uint64_t>(id));
  Traits t;
  t.h = h;
  t.missing = (h % 10000) < kMissingPer10k;
  const std::uint64_t h2 = splitmix64_of(h);
  t.frames = (h2 % 10000) < kShortPer10k ? 300 + static_cast<int>((h2 >> 20) % (mel::kFrames - 300)) : mel::kFrames;
  t.has_inf = (splitmix64_of(h2) % 10000) < kInfPer10k;
  return t;
}

// A smooth random curve over the bands, amplitude ~ `amp`.
void smooth_curve(const MelModel& m, Rng& r, double amp, float* out) {
  double a[kShapeTerms];
  for (int k = 0; k < kShapeTerms; ++k) a[k] = r.normal() * amp / (k + 1);
  for (int b = 0; b < kB; ++b) {
    double v = 0;
    for (int k = 0; k < kShapeTerms; ++k) v += a[k] * m.cosines[k][b];
    out[b] = static_cast<float>(v);
  }
}

std::unique_ptr<MelModel> build_model(std::uint64_t seed, int dim) {
  auto m = std::make_unique<MelModel>();
  for (int k = 0; k < kShapeTerms; ++k)
    for (int b = 0; b < kB; ++b) m->cosines[k][b] = static_cast<float>(std::cos(M_PI * (k + 1) * (b + 0.5) / kB));
  for (int b = 0; b < kB; ++b) {
    const double x = b / (kB - 1.0);
    m->base[b] = static_cast<float>(-1.5 - 5.0 * std::pow(x, 1.2));
    m->beat_shape[b] = static_cast<float>(std::exp(-b / 6.0) + 0.35 * x * x);
  }
  for (int g = 0; g < kGenreSlots; ++g) {
    Rng r(seed, kMelGenreStream, static_cast<std::uint64_t>(g));
    smooth_curve(*m, r, 1.4, m->genre_shape[g]);
    m->genre_bpm[g] = static_cast<float>(r.uniform(72, 150));
    m->genre_beat[g] = static_cast<float>(r.uniform(0.2, 1.6));
    m->genre_noise[g] = static_cast<float>(r.uniform(0.2, 0.45));
  }
  for (int d = 0; d < dim; ++d) {
    Rng r(seed, kMelBasisStream, static_cast<std::uint64_t>(d));
    smooth_curve(*m, r, 0.5, m->taste_map[d]);
  }
  for (int i = 0; i < kPulseTable; ++i) m->pulse[i] = static_cast<float>(std::exp(-5.0 * i / kPulseTable));
  return m;
}

// Unit-variance noise from a 32-bit integer hash of the value's position
// (Wellons' lowbias32): no sequential state, so the loop vectorises. Each
// value is the sum of the hash's two 16-bit halves, a triangular law:
// bell-shaped enough for texture, and cheap.
inline float hash_noise(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  constexpr float kScale = 2.4494897f / 65535.0f;  // sqrt(6): the sum's variance is 1/6
  return static_cast<float>(static_cast<std::int32_t>((x & 0xffffU) + (x >> 16)) - 65535) * kScale;
}

}  // namespace

SyntheticMel::SyntheticMel(std::uint64_t seed, std::int32_t n_songs) : SyntheticMel(seed, n_songs, WorldShape{}) {}

SyntheticMel::SyntheticMel(std::uint64_t seed, std::int32_t n_songs, const WorldShape& shape)
    : world_(std::make_unique<SongWorld>(build_world(seed, n_songs, shape))), model_(build_model(seed, shape.dim)) {}

SyntheticMel::~SyntheticMel() = default;
SyntheticMel::SyntheticMel(SyntheticMel&&) noexcept = default;
SyntheticMel& SyntheticMel::operator=(SyntheticMel&&) noexcept = default;

std::int32_t SyntheticMel::n_songs() const { return world_->n_songs; }
const SongWorld& SyntheticMel::world() const { return *world_; }

bool SyntheticMel::has(arena::SongId id) const {
  return id >= 0 && id < world_->n_songs && !traits(world_->seed, id).missing;
}

mel::Mel SyntheticMel::make(arena::SongId id) const {
  mel::Mel out;
  make(id, out);
  return out;
}

void SyntheticMel::make(arena::SongId id, mel::Mel& out) const {
  const SongWorld& w = *world_;
  const MelModel& m = *model_;
  MELON_CHECK(id >= 0 && id < w.n_songs, "synthetic mel: song id " << id << " outside 0.." << w.n_songs - 1);
  const Traits tr = traits(w.seed, id);
  MELON_CHECK(!tr.missing, "synthetic mel: song " << id << " has no spectrogram (missing, as a few real songs)");
  const int T = tr.frames;
  const SongSlot& s = w.song(id);

  int maj[3];
  const int n_maj = w.majors(id, maj);
  const int g0 = maj[0] == kGenre9000 ? kMajorGenres : maj[0];
  const int g1 = n_maj > 1 ? maj[1] : g0;
  float pos[kMaxDim];
  w.song_pos(id, pos);

  // Envelope: genre + artist + taste position + song.
  float env[kB], artist_curve[kB], song_curve[kB];
  Rng ra(w.seed, kMelArtistStream, static_cast<std::uint64_t>(s.artist));
  smooth_curve(m, ra, 0.7, artist_curve);
  const float artist_tempo = static_cast<float>(ra.normal(0, 6));
  const float artist_register = static_cast<float>(ra.normal(0, 3));
  Rng rs(tr.h);
  smooth_curve(m, rs, 0.35, song_curve);
  for (int b = 0; b < kB; ++b) {
    float v = m.base[b] + 0.7f * m.genre_shape[g0][b] + 0.3f * m.genre_shape[g1][b] + artist_curve[b] + song_curve[b];
    for (int d = 0; d < w.shape.dim; ++d) v += m.taste_map[d][b] * pos[d];
    env[b] = v;
  }

  // Beat: tempo from genre, taste and artist; a pulse decaying over each period.
  const float bpm = std::fmax(50.0f,
                              m.genre_bpm[g0] + 8.0f * pos[0] + artist_tempo + static_cast<float>(rs.normal(0, 4)));
  const float period = 3750.0f / bpm;  // frames per beat at 16 kHz, hop 256
  const float beat_amp = m.genre_beat[g0] * static_cast<float>(rs.uniform(0.6, 1.3));
  float beat_band[kB], voice_band[kB];
  const float centre = 14.0f + 6.0f * std::tanh(pos[1 % w.shape.dim]) + artist_register;
  for (int b = 0; b < kB; ++b) {
    beat_band[b] = beat_amp * m.beat_shape[b];
    const float x = (b - centre) / 7.0f;
    voice_band[b] = 1.2f * std::exp(-0.5f * x * x);
  }
  // Sections: loudness knots every 150 frames, linearly interpolated.
  constexpr int kKnot = 150;
  const int n_knots = T / kKnot + 2;
  std::vector<float> knots(n_knots);
  for (auto& k : knots) k = static_cast<float>(rs.normal(0, 0.5));
  const float noise_amp = m.genre_noise[g0];
  const float rho = static_cast<float>(rs.uniform(0.8, 0.95));

  // Per-frame time signals.
  std::vector<float> pulse(T), section(T), activity(T);
  float phase = static_cast<float>(rs.uniform());
  const float step = 1.0f / period;
  float act = 0;
  for (int t = 0; t < T; ++t) {
    pulse[t] = m.pulse[static_cast<int>(phase * kPulseTable) & (kPulseTable - 1)];
    phase += step;
    if (phase >= 1.0f) phase -= 1.0f;
    const int k = t / kKnot;
    const float f = static_cast<float>(t % kKnot) / kKnot;
    section[t] = knots[k] + (knots[k + 1] - knots[k]) * f;
    const std::uint64_t x = rs.next();
    act = rho * act + static_cast<float>(static_cast<std::int64_t>(x >> 40) - (1LL << 23)) * (0.6f / (1 << 23));
    activity[t] = act;
  }

  out.bands = kB;
  out.frames = T;
  out.data.resize(static_cast<std::size_t>(kB) * T);  // every value is written below
  const std::uint32_t noise_key = static_cast<std::uint32_t>(splitmix64_of(tr.h ^ 0x5eed));
  for (int b = 0; b < kB; ++b) {
    float* row = out.data.data() + static_cast<std::size_t>(b) * T;
    const float e = env[b], bb = beat_band[b], vb = voice_band[b];
    const std::uint32_t key = noise_key + static_cast<std::uint32_t>(b) * 0x9e3779b9U;
    for (int t = 0; t < T; ++t)
      row[t] = e + bb * pulse[t] + section[t] + vb * activity[t] +
               noise_amp * hash_noise((static_cast<std::uint32_t>(t) * 0x9e3779b1U) ^ key);
  }

  // A few real files hold -inf (log of zero energy): digital silence or dead top bands.
  if (tr.has_inf) {
    const float ninf = -std::numeric_limits<float>::infinity();
    if (tr.h & (1ULL << 50)) {
      const int silent = 1 + static_cast<int>((tr.h >> 32) % 60);
      for (int b = 0; b < kB; ++b)
        for (int t = 0; t < silent && t < T; ++t) out.data[static_cast<std::size_t>(b) * T + t] = ninf;
    } else {
      const int dead = 1 + static_cast<int>((tr.h >> 32) % 6);
      for (int b = kB - dead; b < kB; ++b)
        for (int t = 0; t < T; ++t) out.data[static_cast<std::size_t>(b) * T + t] = ninf;
    }
  }
}

SyntheticMel parse_mel_source(const std::string& spec) {
  const std::string prefix = "synthetic:";
  MELON_CHECK(spec.rfind(prefix, 0) == 0, "mel source '" << spec << "': expected synthetic:SEED[:NSONGS[:TASTES]]");
  std::vector<std::string> parts;
  std::string rest = spec.substr(prefix.size());
  std::size_t at = 0;
  while (true) {
    const std::size_t colon = rest.find(':', at);
    parts.push_back(rest.substr(at, colon == std::string::npos ? std::string::npos : colon - at));
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  MELON_CHECK(parts.size() >= 1 && parts.size() <= 3,
              "mel source '" << spec << "': expected synthetic:SEED[:NSONGS[:TASTES]]");
  auto number = [&](const std::string& s, const char* what) -> std::uint64_t {
    MELON_CHECK(!s.empty() && s.size() <= 19 && s.find_first_not_of("0123456789") == std::string::npos,
                "mel source '" << spec << "': " << what << " '" << s << "' is not a non-negative integer");
    return std::stoull(s);
  };
  const std::uint64_t seed = number(parts[0], "SEED");
  std::uint64_t n = kRealSongs;
  WorldShape shape;
  if (parts.size() >= 2) n = number(parts[1], "NSONGS");
  MELON_CHECK(n >= 1 && n <= 100000000, "mel source '" << spec << "': NSONGS must be in 1..100000000");
  if (parts.size() >= 3) {
    const std::uint64_t t = number(parts[2], "TASTES");
    MELON_CHECK(t >= 1 && t <= 100000, "mel source '" << spec << "': TASTES must be in 1..100000");
    shape.tastes = static_cast<int>(t);
  }
  return SyntheticMel(seed, static_cast<std::int32_t>(n), shape);
}

}  // namespace melon::generate

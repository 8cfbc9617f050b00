// GCC 12's AVX-512 gather intrinsic trips -Wmaybe-uninitialized on its own
// undefined source operand (GCC bug 105593): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "melon/pca/features.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "melon/error.hpp"

namespace melon::pca {
namespace {

// sign(x) * log(1 + |x|) in float, branch-free so the loop vectorises: libm's
// log1pf costs ~14 ns a value, as much as making the whole song. log(u) for
// u = 1 + |x| is Cephes' logf (range reduction to [sqrt(1/2), sqrt(2)) and a
// degree-9 polynomial, ~1 ulp); log(u) * |x| / (u - 1) restores log1p's
// accuracy for small |x| (Goldberg's trick). Within 2 ulps of log1p.
inline float signed_log1p(float x) {
  const float ax = std::fabs(x);
  const float u = 1.0f + ax;
  std::int32_t bits = std::bit_cast<std::int32_t>(u);
  float e = static_cast<float>(((bits >> 23) & 0xff) - 127);
  float m = std::bit_cast<float>((bits & 0x7fffff) | 0x3f800000);  // [1, 2)
  const bool big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e = big ? e + 1.0f : e;
  const float f = m - 1.0f, z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  y += e * -2.12194440e-4f;
  y += -0.5f * z;
  float logu = f + y + e * 0.693359375f;
  const float d = u - 1.0f;
  const float r = d == 0.0f ? ax : logu * (ax / (d == 0.0f ? 1.0f : d));
  return std::copysign(r, x);
}

// Copies n values, replacing NaN and +-inf by `repl`; returns how many.
// fabs(x) <= FLT_MAX is false exactly for those (NaN compares false), and
// unlike std::isfinite it vectorises; not inlined so that __restrict holds
// (inlined, the loop stayed scalar and branchy: 13% of a raw-frames PCA).
[[gnu::noinline]] std::int64_t copy_finite(const float* __restrict in, float* __restrict out, int n, float repl) {
  std::int64_t bad = 0;
  for (int t = 0; t < n; ++t) {
    const float x = in[t];
    const bool ok = std::fabs(x) <= std::numeric_limits<float>::max();
    out[t] = ok ? x : repl;
    bad += ok ? 0 : 1;
  }
  return bad;
}

// dst[j] = mean of band[j*w, min(F, j*w + w)) for the W windows, each window
// summed left to right in float from 0. One window's sum is a chain of
// dependent adds, so window after window ran at the adder's latency (pooling
// was a third of a pooled PCA's first pass); sixteen windows side by side
// (one AVX-512 lane each, their values gathered at stride w) are sixteen
// independent chains adding in the same order, hence the same bits.
// kReplace also replaces non-finite values as they are read (the raw-file
// path, with no scratch copy) and counts them.
template <bool kReplace>
[[gnu::noinline]] std::int64_t pool_windows(const float* __restrict band, int F, int w, float repl,
                                            float* __restrict dst) {
  std::int64_t bad = 0;
  auto take = [&](float x) {
    if constexpr (kReplace) {
      const bool ok = std::fabs(x) <= std::numeric_limits<float>::max();
      bad += ok ? 0 : 1;
      return ok ? x : repl;
    } else {
      return x;
    }
  };
  const int W = (F + w - 1) / w;
  int j0 = 0;
#if defined(__AVX512F__)
  const int full = F / w;
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32(w));
  const __m512 big = _mm512_set1_ps(std::numeric_limits<float>::max()), rv = _mm512_set1_ps(repl);
  const __m512 width = _mm512_set1_ps(static_cast<float>(w));
  for (; j0 + 16 <= full; j0 += 16) {
    const float* b = band + static_cast<std::size_t>(j0) * w;
    // Two groups ahead: a gather waits on every line it touches (~15% faster from L3).
    if (j0 + 48 <= full)
      for (int c = 0; c < 16 * w; c += 16) _mm_prefetch(reinterpret_cast<const char*>(b + 32 * w + c), _MM_HINT_T0);
    __m512 acc = _mm512_setzero_ps();
    for (int t = 0; t < w; ++t) {
      __m512 x = _mm512_i32gather_ps(idx, b + t, 4);
      if constexpr (kReplace) {
        const __mmask16 ok = _mm512_cmp_ps_mask(_mm512_abs_ps(x), big, _CMP_LE_OQ);
        bad += 16 - __builtin_popcount(static_cast<unsigned>(ok));
        x = _mm512_mask_blend_ps(ok, rv, x);
      }
      acc = _mm512_add_ps(acc, x);
    }
    _mm512_storeu_ps(dst + j0, _mm512_div_ps(acc, width));
  }
#endif
  for (int j = j0; j < W; ++j) {
    const int t0 = j * w, t1 = std::min(F, t0 + w);
    float acc = 0;
    for (int t = t0; t < t1; ++t) acc += take(band[t]);
    dst[j] = acc / static_cast<float>(t1 - t0);
  }
  return bad;
}

}  // namespace

void validate(const FeatureSpec& s) {
  MELON_CHECK(s.pool >= 1, "feature pooling window must be >= 1 frame, got " << s.pool);
  MELON_CHECK(s.frames >= 1 && s.frames <= (1 << 16), "feature length must be 1..65536 frames, got " << s.frames);
  MELON_CHECK(s.pool <= s.frames, "feature pooling window " << s.pool << " exceeds the length " << s.frames);
  MELON_CHECK(std::isfinite(s.nonfinite_value), "the replacement for non-finite values must be finite");
}

int feature_windows(const FeatureSpec& s) { return (s.frames + s.pool - 1) / s.pool; }

int feature_dim(const FeatureSpec& s) { return mel::kBands * feature_windows(s); }

std::string describe(const FeatureSpec& s) {
  std::ostringstream os;
  os << "bands=" << mel::kBands << " frames=" << s.frames << " pool=" << s.pool << " windows=" << feature_windows(s)
     << " dim=" << feature_dim(s) << " log=" << (s.log ? "sign(x)*log1p(|x|)" : "off") << " nonfinite->"
     << s.nonfinite_value << " pad=band-mean truncate=first-frames";
  return os.str();
}

FeatureInfo make_features(const mel::Mel& m, const FeatureSpec& s, float* out, const std::string& what) {
  MELON_CHECK(m.bands == mel::kBands, what << ": spectrogram has " << m.bands << " bands, expected " << mel::kBands);
  MELON_CHECK(m.frames >= 1, what << ": spectrogram has no frames");
  MELON_CHECK(m.data.size() == static_cast<std::size_t>(m.bands) * static_cast<std::size_t>(m.frames),
              what << ": spectrogram data has " << m.data.size() << " values, shape (" << m.bands << ", " << m.frames
                   << ") needs " << static_cast<std::size_t>(m.bands) * m.frames);
  FeatureInfo info;
  const int T = m.frames, F = s.frames, w = s.pool, W = feature_windows(s);
  const int used = std::min(T, F);
  info.padded = T < F;
  info.truncated = T > F;
  // Pooled, no log, no padding: windows straight from the file's values.
  const bool direct = w > 1 && !s.log && used == F;
  std::vector<float> scratch(w == 1 || direct ? 0 : static_cast<std::size_t>(F));
  for (int b = 0; b < mel::kBands; ++b) {
    const float* src = m.data.data() + static_cast<std::size_t>(b) * T;
    float* dst = out + static_cast<std::size_t>(b) * W;
    if (direct) {
      info.nonfinite += pool_windows<true>(src, F, w, s.nonfinite_value, dst);
      continue;
    }
    float* band = w == 1 ? dst : scratch.data();  // pool 1: build the row in place
    info.nonfinite += copy_finite(src, band, used, s.nonfinite_value);
    if (s.log)
      for (int t = 0; t < used; ++t) band[t] = signed_log1p(band[t]);
    if (used < F) {
      double sum = 0;
      for (int t = 0; t < used; ++t) sum += band[t];
      const float pad = static_cast<float>(sum / used);
      for (int t = used; t < F; ++t) band[t] = pad;
    }
    if (w > 1) pool_windows<false>(band, F, w, 0.0f, dst);
  }
  return info;
}

}  // namespace melon::pca

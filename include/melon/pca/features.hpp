#pragma once
// Spectrogram -> PCA feature row.
//
// For a (48, T) spectrogram, in this order:
//  1. Non-finite values (the files hold -inf where the energy was zero) are
//     replaced by `nonfinite_value` (0, as the dataset paper's code does) and
//     counted.
//  2. Optional log compression, sign(x) * log(1 + |x|): defined for the
//     negative values an already log-scaled file holds, ~x near 0, and it
//     squashes loud outliers that would otherwise dominate the variance.
//  3. Fixed length `frames` (1876 = 30 s): longer clips are cut to their first
//     `frames` frames; shorter ones are padded with each band's mean over the
//     frames present. Mean padding adds no variance of its own; zero padding
//     would make "song is short" a leading principal component.
//  4. Time pooling: mean over consecutive windows of `pool` frames (the last
//     window may be shorter and averages what it has); each window is summed
//     left to right in float, then divided by its frame count, so a pooled
//     row is a function of the pool-1 row alone, the same bits on any path.
// The row is band-major: row[b * W + j] = pooled window j of band b, W =
// ceil(frames / pool), D = 48 * W. With pool 1 and log off the row is exactly
// the flattened (48, 1876) array (non-finite values replaced).
#include <cstdint>
#include <string>

#include "melon/mel/npy.hpp"

namespace melon::pca {

struct FeatureSpec {
  int frames = mel::kFrames;
  int pool = 1;
  bool log = false;
  float nonfinite_value = 0.0f;
};

// Throws melon::Error for a spec that cannot work (pool < 1, frames < 1).
void validate(const FeatureSpec& spec);
int feature_windows(const FeatureSpec& spec);   // W
int feature_dim(const FeatureSpec& spec);       // D = 48 * W
std::string describe(const FeatureSpec& spec);  // one line for logs and attributes

struct FeatureInfo {
  std::int64_t nonfinite = 0;  // values replaced in this song
  bool padded = false, truncated = false;
};

// Fills out[0, feature_dim(spec)). Throws melon::Error (naming `what`, e.g. the
// file) when the spectrogram has the wrong band count, no frames or a data size
// that does not match its shape.
FeatureInfo make_features(const mel::Mel& m, const FeatureSpec& spec, float* out, const std::string& what = "");

}  // namespace melon::pca

#include "melon/ae/audio.hpp"

#include <algorithm>
#include <cmath>

#include "melon/error.hpp"
#include "melon/pca/output.hpp"

namespace melon::ae {

AudioTable make_audio(const std::vector<arena::SongId>& ids, const std::vector<float>& scores, int dim,
                      std::vector<double> mean, std::vector<double> scale, const std::string& origin) {
  MELON_CHECK(dim > 0, origin << ": audio scores have no columns");
  MELON_CHECK(scores.size() == ids.size() * static_cast<std::size_t>(dim),
              origin << ": " << ids.size() << " song ids but " << scores.size() << " scores for " << dim
                     << " dimensions");
  AudioTable a;
  a.dim = dim;
  arena::SongId max_id = -1;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    MELON_CHECK(ids[i] >= 0, origin << ": song_ids[" << i << "] = " << ids[i] << " is negative");
    for (int k = 0; k < dim; ++k)
      MELON_CHECK(std::isfinite(scores[i * dim + k]),
                  origin << ": scores[" << i << "][" << k << "] (song " << ids[i] << ") is not finite");
    max_id = std::max(max_id, ids[i]);
  }
  if (mean.empty()) {
    // Standardise so the audio input and the audio map see unit-scale features.
    mean.assign(dim, 0.0);
    scale.assign(dim, 0.0);
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (int k = 0; k < dim; ++k) mean[k] += scores[i * dim + k];
    for (int k = 0; k < dim; ++k) mean[k] /= std::max<std::size_t>(ids.size(), 1);
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (int k = 0; k < dim; ++k) scale[k] += std::pow(scores[i * dim + k] - mean[k], 2);
    for (int k = 0; k < dim; ++k) {
      scale[k] = std::sqrt(scale[k] / std::max<std::size_t>(ids.size(), 1));
      if (!(scale[k] > 1e-12)) scale[k] = 1.0;
    }
  }
  MELON_CHECK(mean.size() == static_cast<std::size_t>(dim) && scale.size() == mean.size(),
              origin << ": audio has " << dim << " dimensions but the model was trained with " << mean.size());
  a.mean = std::move(mean);
  a.scale = std::move(scale);
  a.feat.assign(static_cast<std::size_t>(max_id + 1) * dim, 0.0f);
  a.has.assign(static_cast<std::size_t>(max_id + 1), 0);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    MELON_CHECK(!a.has[ids[i]], origin << ": song id " << ids[i] << " appears twice");
    a.has[ids[i]] = 1;
    for (int k = 0; k < dim; ++k)
      a.feat[static_cast<std::size_t>(ids[i]) * dim + k] = static_cast<float>((scores[i * dim + k] - a.mean[k]) /
                                                                              a.scale[k]);
  }
  return a;
}

AudioTable read_audio(const std::string& path, std::vector<double> mean, std::vector<double> scale) {
  auto s = pca::read_scores(path);
  return make_audio(s.ids, s.scores, s.dim, std::move(mean), std::move(scale), path);
}

AudioMap parse_audio_map(const std::string& s) {
  if (s == "fitted") return AudioMap::Fitted;
  if (s == "joint") return AudioMap::Joint;
  MELON_THROW("--audio-map: expected fitted|joint, got '" << s << "'");
}
const char* to_string(AudioMap m) { return m == AudioMap::Fitted ? "fitted" : "joint"; }

Mat<float> song_audio_matrix(const Vocab& v, const AudioTable& a, AudioMap map) {
  Mat<float> m = Mat<float>::Zero(static_cast<std::int64_t>(v.songs.size()), a.dim + 1);
  if (map == AudioMap::Fitted) return m;
  for (std::size_t i = 0; i < v.songs.size(); ++i) {
    if (a.covers(v.songs[i]))
      for (int k = 0; k < a.dim; ++k) m(i, k) = a.row(v.songs[i])[k];
    m(i, a.dim) = 1.0f;
  }
  return m;
}

}  // namespace melon::ae

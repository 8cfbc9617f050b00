// Eigen's AVX-512 helpers trip GCC 12's uninitialised-variable false positives at -O1.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "melon/ae/model.hpp"

#include <algorithm>

#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::ae {

namespace {

// Least squares (ridge, in double) from a vocabulary song's audio ⊕ 1 to its
// output row: the map a song without a row of its own is scored through.
void fit_cold_map(Model& m) {
  const int a = m.audio.dim;
  const auto& t = m.layout.get("song_out");
  Eigen::MatrixXd xtx = Eigen::MatrixXd::Zero(a + 1, a + 1), xty = Eigen::MatrixXd::Zero(a + 1, t.cols);
  Eigen::VectorXd x(a + 1);
  for (std::size_t i = 0; i < m.vocab.songs.size(); ++i) {
    if (!m.audio.covers(m.vocab.songs[i])) continue;
    const float* r = m.audio.row(m.vocab.songs[i]);
    for (int k = 0; k < a; ++k) x[k] = r[k];
    x[a] = 1.0;
    xtx.noalias() += x * x.transpose();
    const float* o = m.params.data() + t.offset + static_cast<std::int64_t>(i) * t.cols;
    xty.noalias() += x * Eigen::Map<const Eigen::VectorXf>(o, t.cols).cast<double>().transpose();
  }
  xtx.diagonal().array() += 1.0;  // ridge: well-posed even with few songs or constant features
  m.cold_map = xtx.ldlt().solve(xty).cast<float>();
}

}  // namespace

void prepare_cold(Model& m) {
  m.cold_ids.clear();
  m.cold_audio.resize(0, 0);
  m.cold_map.resize(0, 0);
  if (m.audio.empty()) return;
  if (m.audio_map == AudioMap::Fitted) fit_cold_map(m);
  for (arena::SongId s = 0; static_cast<std::size_t>(s) < m.audio.has.size(); ++s)
    if (m.audio.has[s] && m.vocab.song(s) < 0) m.cold_ids.push_back(s);
  const int a = m.audio.dim;
  m.cold_audio.resize(static_cast<std::int64_t>(m.cold_ids.size()), a + 1);
  for (std::size_t i = 0; i < m.cold_ids.size(); ++i) {
    const float* r = m.audio.row(m.cold_ids[i]);
    for (int k = 0; k < a; ++k) m.cold_audio(i, k) = r[k];
    m.cold_audio(i, a) = 1.0f;
  }
  // A song outside the vocabulary is rarer than any song in it: give it the
  // bias the model learned for the rarest vocabulary songs.
  const auto& t = m.layout.get("song_bias");
  const auto& counts = m.vocab.song_counts;
  if (counts.empty()) return;
  const auto min_count = *std::min_element(counts.begin(), counts.end());
  double sum = 0;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < counts.size(); ++i)
    if (counts[i] == min_count) sum += m.params[t.offset + i], ++n;
  m.cold_bias = static_cast<float>(sum / std::max<std::int64_t>(n, 1) + m.cold_shift);
}

Model load_model(const std::string& dir, const std::string& pca, Weights weights) {
  std::string path;
  std::vector<std::string> problems;
  auto c = read_for_predict(dir, weights, &path, &problems);
  if (!c && !problems.empty()) {
    std::string all;
    for (auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    MELON_THROW(dir << ": no usable checkpoint: none passes the integrity check (" << all << ")");
  }
  MELON_CHECK(c, dir << ": no usable checkpoint (best.h5, ckpt-*.h5) found; run melon train first");
  Model m;
  m.layout = c->layout;
  m.params = std::move(c->params);
  m.vocab = std::move(c->vocab);
  m.neighbours = std::move(c->neighbours);
  m.neighbours.scale = c->nbr_scale;  // as chosen on the held-out playlists
  m.song_tags = std::move(c->song_tags);
  m.tag_mix = c->tag_mix;
  m.tokenizer = c->tokenizer;
  m.cold_enabled = c->cold_songs;
  m.cold_shift = c->cold_shift;
  m.held_out = std::move(c->held_out);
  if (!c->audio_mean.empty()) {
    const auto src = pca.empty() ? c->pca_path : pca;
    MELON_CHECK(!src.empty(), path << ": the model was trained with audio: pass --pca");
    m.audio = read_audio(src, c->audio_mean, c->audio_scale);
    m.audio_map = c->audio_map;
    m.audio_input = c->audio_input;
    m.song_audio = song_audio_matrix(m.vocab, m.audio, m.audio_map);
  } else if (!pca.empty()) {
    log::warn("--pca " + pca + " ignored: the model in " + path + " was trained without audio");
  }
  prepare_cold(m);
  if (mpi::rank(mpi::world()) == 0)
    log::info("model " + path + ": step " + std::to_string(c->step) + ", epoch " + std::to_string(c->epoch + 1) +
              (c->val_score >= 0 ? " (held-out score " + std::to_string(c->val_score) + ")" : std::string()) + ", " +
              std::to_string(m.vocab.songs.size()) + " songs, " + std::to_string(m.vocab.tags.size()) + " tags, " +
              std::to_string(m.vocab.tokens.size()) + " title tokens, " + std::to_string(m.cold_ids.size()) +
              " cold songs scored by audio (" +
              (m.cold_enabled ? "on, bias shift " + std::to_string(m.cold_shift) : std::string("off")) + ")");
  return m;
}

}  // namespace melon::ae

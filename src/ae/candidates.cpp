// Eigen's AVX-512 helpers trip GCC 12's uninitialised-variable false positives at -O1.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "melon/recommend/predict.hpp"
#include "melon/recommend/rules.hpp"

#include <algorithm>
#include <queue>
#include <unordered_set>

#include "melon/arena/io.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/recommend/baseline.hpp"
#include "melon/train/checkpoint.hpp"
#include "melon/util/log.hpp"

namespace melon::recommend {

namespace {

// Least squares (ridge, in double) from a vocabulary song's audio ⊕ 1 to its
// output row: the map a song without a row of its own is scored through.
void fit_cold_map(AeModel& m) {
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

void prepare_cold(AeModel& m) {
  m.cold_ids.clear();
  m.cold_audio.resize(0, 0);
  m.cold_map.resize(0, 0);
  if (m.audio.empty()) return;
  if (m.audio_map == train::AudioMap::Fitted) fit_cold_map(m);
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

AeModel load_model(const std::string& dir, const std::string& pca, train::Weights weights) {
  std::string path;
  auto c = train::read_for_predict(dir, weights, &path);
  MELON_CHECK(c, dir << ": no usable checkpoint (ckpt-*.h5) found; run melon train first");
  AeModel m;
  m.layout = c->layout;
  m.params = std::move(c->params);
  m.vocab = std::move(c->vocab);
  m.tokenizer = c->tokenizer;
  m.cold_enabled = c->cold_songs;
  m.cold_shift = c->cold_shift;
  m.held_out = std::move(c->held_out);
  if (!c->audio_mean.empty()) {
    const auto src = pca.empty() ? c->pca_path : pca;
    MELON_CHECK(!src.empty(), path << ": the model was trained with audio: pass --pca");
    m.audio = train::read_audio(src, c->audio_mean, c->audio_scale);
    m.audio_map = c->audio_map;
    m.audio_input = c->audio_input;
    m.song_audio = train::song_audio_matrix(m.vocab, m.audio, m.audio_map);
  } else if (!pca.empty()) {
    log::warn("--pca " + pca + " ignored: the model in " + path + " was trained without audio");
  }
  prepare_cold(m);
  if (mpi::rank() == 0)
    log::info("model " + path + ": step " + std::to_string(c->step) + ", epoch " + std::to_string(c->epoch + 1) +
              (c->val_score >= 0 ? " (held-out score " + std::to_string(c->val_score) + ")" : std::string()) + ", " +
              std::to_string(m.vocab.songs.size()) +
              " songs, " + std::to_string(m.vocab.tags.size()) + " tags, " + std::to_string(m.vocab.tokens.size()) +
              " title tokens, " + std::to_string(m.cold_ids.size()) + " cold songs scored by audio (" +
              (m.cold_enabled ? "on, bias shift " + std::to_string(m.cold_shift) : std::string("off")) + ")");
  return m;
}

std::vector<std::int32_t> song_dates(const arena::SongMeta& meta) {
  std::vector<std::int32_t> d(meta.size());
  for (std::size_t i = 0; i < meta.size(); ++i) d[i] = arena::date_key(meta.songs[i].issue_date);
  return d;
}

namespace {

// Best first: higher score, then smaller id (a total order: reproducible).
template <class Id>
struct Scored {
  float score;
  Id id;
  bool operator<(const Scored& o) const { return score != o.score ? score > o.score : id < o.id; }
};

// Keeps the k best candidates offered.
template <class Id>
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) {}
  bool wants(float s) const { return heap_.size() < k_ || s > heap_.top().score || s == heap_.top().score; }
  void offer(float s, Id id) {
    Scored<Id> c{s, id};
    if (heap_.size() < k_) {
      heap_.push(c);
    } else if (c < heap_.top()) {
      heap_.pop();
      heap_.push(c);
    }
  }
  std::vector<Scored<Id>> take() {
    std::vector<Scored<Id>> v;
    while (!heap_.empty()) v.push_back(heap_.top()), heap_.pop();
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  std::size_t k_;
  std::priority_queue<Scored<Id>> heap_;  // top = the worst kept
};

std::vector<arena::Result> gather(const std::vector<arena::Result>& mine, MPI_Comm comm) {
  if (mpi::size(comm) == 1) return mine;
  std::string bytes;
  for (auto& r : mine) bytes += (bytes.empty() ? "" : ", ") + arena::to_json(r);
  if (!bytes.empty()) bytes += "\x1e";
  auto all = mpi::gather_bytes(comm, bytes);
  if (mpi::rank(comm) != 0) return {};
  std::string json = "[";
  std::size_t pos = 0;
  bool first = true;
  while (pos < all.size()) {
    auto end = all.find('\x1e', pos);
    json += (first ? "" : ", ") + all.substr(pos, end - pos);
    first = false;
    pos = end + 1;
  }
  json += "]";
  return arena::parse_results(json, "answers gathered from ranks");
}

}  // namespace

std::vector<Candidates> ae_candidates(const AeModel& m, const std::vector<arena::Playlist>& questions,
                                      const PredictOptions& opt, std::size_t n_songs, std::size_t n_tags,
                                      model::Pool& pool, MPI_Comm comm) {
  const auto& d = m.layout.dims;
  const auto mine = mpi::block_range(static_cast<std::int64_t>(questions.size()), mpi::rank(comm), mpi::size(comm));
  std::vector<Candidates> out(static_cast<std::size_t>(mine.end - mine.begin));
  model::Batch b;
  model::Workspace<float> ws;
  model::Mat<float> cold, gcold;
  const bool use_cold = opt.cold_songs && m.cold_enabled && !m.cold_ids.empty() && d.audio_dim > 0;
  const std::int64_t batch = std::max<std::int64_t>(1, opt.batch);
  for (auto q0 = mine.begin; q0 < mine.end; q0 += batch) {
    const auto q1 = std::min(mine.end, q0 + batch);
    b.clear();
    for (auto i = q0; i < q1; ++i)
      train::add_example(b, train::encode(questions[i], m.vocab, m.tokenizer), d, m.input_audio(), false, {}, 0);
    model::forward<float>(m.layout, m.params.data(), m.song_audio, b, ws, pool);
    if (use_cold) {
      const bool fitted = m.audio_map == train::AudioMap::Fitted;
      if (fitted) gcold.noalias() = ws.h.back() * m.cold_map.transpose();
      const auto& g = fitted ? gcold : ws.g;
      cold.resize(b.size, static_cast<std::int64_t>(m.cold_ids.size()));
      model::Chunks ch{cold.cols(), model::kVocabChunk};
      pool.run(ch.count(), [&](std::int64_t c) {
        cold.middleCols(ch.begin(c), ch.len(c)).noalias() =
            g * m.cold_audio.middleRows(ch.begin(c), ch.len(c)).transpose();
      });
    }
    pool.run(q1 - q0, [&](std::int64_t k) {
      const auto& q = questions[q0 + k];
      Candidates r;
      r.id = q.id;
      const std::unordered_set<arena::SongId> seen(q.songs.begin(), q.songs.end());
      const std::int32_t qdate = arena::date_key(q.updt_date);
      auto allowed = [&](arena::SongId s) { return !seen.count(s) && released_by(opt.song_dates, s, qdate); };
      TopK<arena::SongId> songs(n_songs);
      auto zs = ws.zs.row(k);
      for (std::int64_t j = 0; j < zs.size(); ++j)
        if (songs.wants(zs[j]) && allowed(m.vocab.songs[j])) songs.offer(zs[j], m.vocab.songs[j]);
      if (use_cold)
        for (std::int64_t j = 0; j < cold.cols(); ++j) {
          const float s = cold(k, j) + m.cold_bias;
          if (songs.wants(s) && allowed(m.cold_ids[j])) songs.offer(s, m.cold_ids[j]);
        }
      for (auto& c : songs.take()) r.songs.emplace_back(c.id, c.score);
      const std::unordered_set<std::string> seen_tags(q.tags.begin(), q.tags.end());
      TopK<std::int32_t> tags(n_tags);
      auto zt = ws.zt.row(k);
      for (std::int64_t j = 0; j < zt.size(); ++j)
        if (tags.wants(zt[j]) && !seen_tags.count(m.vocab.tags[j])) tags.offer(zt[j], static_cast<std::int32_t>(j));
      for (auto& c : tags.take()) r.tags.emplace_back(m.vocab.tags[c.id], c.score);
      out[q0 - mine.begin + k] = std::move(r);
    });
  }
  return out;
}

std::vector<arena::Result> predict(const AeModel& m, const std::vector<arena::Playlist>& questions,
                                   const PredictOptions& opt, model::Pool& pool, MPI_Comm comm, bool gather_all) {
  auto cands = ae_candidates(m, questions, opt, 100, 10, pool, comm);
  const auto mine = mpi::block_range(static_cast<std::int64_t>(questions.size()), mpi::rank(comm), mpi::size(comm));
  std::vector<arena::Result> out(cands.size());
  for (std::size_t k = 0; k < cands.size(); ++k) {
    const auto& q = questions[static_cast<std::size_t>(mine.begin) + k];
    arena::Result r;
    r.id = q.id;
    for (auto& [s, v] : cands[k].songs) r.songs.push_back(s);
    for (auto& [t, v] : cands[k].tags) r.tags.push_back(t);
    // Fill: popularity under the same rules, then (tiny catalogues) without the date rule.
    const std::unordered_set<arena::SongId> seen(q.songs.begin(), q.songs.end());
    const std::int32_t qdate = arena::date_key(q.updt_date);
    std::unordered_set<arena::SongId> have(r.songs.begin(), r.songs.end());
    for (auto s : m.vocab.popular_songs) {
      if (r.songs.size() >= 100) break;
      if (!have.count(s) && !seen.count(s) && released_by(opt.song_dates, s, qdate)) r.songs.push_back(s), have.insert(s);
    }
    fill_from(r.songs, m.vocab.popular_songs, q.songs, 100);
    fill_from(r.tags, m.vocab.popular_tags, q.tags, 10);
    MELON_CHECK(r.songs.size() == 100 && r.tags.size() == 10,
                "question id " << q.id << ": the model's catalogue is too small to fill 100 songs and 10 tags (got "
                               << r.songs.size() << " and " << r.tags.size() << ")");
    out[k] = std::move(r);
  }
  return gather_all ? gather(out, comm) : out;
}

}  // namespace melon::recommend

// Eigen's AVX-512 helpers trip GCC 12's uninitialised-variable false positives at -O1.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "melon/ae/candidates.hpp"

#include <algorithm>
#include <cmath>
#include <queue>
#include <unordered_set>

#include "melon/ae/corrupt.hpp"
#include "melon/ae/encode.hpp"
#include "melon/arena/rules.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::ae {

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

// The tags of one answer: the head's best (`head`, best first, with their
// logits) alone, or mixed with the tags read through the question's shown
// songs and the answer's first songs. With `lists`, both lists go there too.
void answer_tags(const Model& m, const arena::Playlist& q, std::vector<Scored<std::int32_t>> head, arena::Candidates& r,
                 std::size_t n_tags, TagLists* lists) {
  const auto head_alone = [&] {
    for (std::size_t i = 0; i < head.size() && i < n_tags; ++i)
      r.tags.emplace_back(m.vocab.tags[head[i].id], head[i].score);
  };
  if (m.tag_mix >= 1 && !lists) return head_alone();
  MELON_ASSERT(!m.song_tags.empty(), "tags mixed with song-read ones, but the model has no song-tag table");
  std::vector<std::pair<std::int32_t, float>> speak;
  for (auto s : q.songs)
    if (const auto v = m.vocab.song(s); v >= 0) speak.emplace_back(v, 1.0f);
  for (std::size_t i = 0; i < r.songs.size() && i < static_cast<std::size_t>(kSongTagsAnswerSongs); ++i)
    if (const auto v = m.vocab.song(r.songs[i].first); v >= 0)
      speak.emplace_back(v, static_cast<float>(1 / std::sqrt(1.0 + static_cast<double>(i))));
  std::vector<std::int32_t> skip;
  for (auto& t : q.tags)
    if (const auto v = m.vocab.tag(t); v >= 0) skip.push_back(v);
  std::sort(skip.begin(), skip.end());
  std::vector<float> scratch(m.vocab.tags.size(), 0.0f);
  const auto n_list = std::max(n_tags, kTagListLength);
  const auto read = song_tag_scores(m.song_tags, speak, skip, n_list, scratch);
  std::vector<std::int32_t> head_ids, song_ids;
  for (auto& c : head) head_ids.push_back(c.id);
  for (auto& [v, t] : read) song_ids.push_back(t);
  if (m.tag_mix >= 1) head_alone();
  else
    for (auto& [v, t] : fuse_tags(head_ids, song_ids, m.tag_mix, n_tags)) r.tags.emplace_back(m.vocab.tags[t], v);
  if (lists) *lists = TagLists{std::move(head_ids), std::move(song_ids)};
}

std::vector<arena::Candidates> answer(const Model& m, const std::vector<arena::Playlist>& questions,
                                      const PredictOptions& opt, std::size_t n_songs, std::size_t n_tags,
                                      util::ThreadPool& pool, MPI_Comm comm, std::vector<TagLists>* lists) {
  const auto& d = m.layout.dims;
  const auto mine = mpi::block_range(static_cast<std::int64_t>(questions.size()), mpi::rank(comm), mpi::size(comm));
  std::vector<arena::Candidates> out(static_cast<std::size_t>(mine.end - mine.begin));
  if (lists) lists->assign(out.size(), {});
  const bool mixed = m.tag_mix < 1 || lists;
  Batch b;
  Workspace<float> ws;
  Mat<float> cold, gcold;
  const bool use_cold = opt.cold_songs && m.cold_enabled && !m.cold_ids.empty() && d.audio_dim > 0;
  const std::int64_t batch = std::max<std::int64_t>(1, opt.batch);
  // Rank 0's share stands for all (the shares are equal in size); a share
  // of a few thousand questions takes seconds and needs no progress line
  // (the held-out scoring inside training would print one every epoch).
  log::Progress progress("autoencoder candidates (rank 0's share)", mine.end - mine.begin, "questions", 10.0,
                         mpi::rank(comm) == 0 && mine.end - mine.begin >= 4000);
  for (auto q0 = mine.begin; q0 < mine.end; q0 += batch) {
    const auto q1 = std::min(mine.end, q0 + batch);
    b.clear();
    for (auto i = q0; i < q1; ++i)
      add_example(b, encode(questions[i], m.vocab, m.tokenizer), d, m.input_audio(), false, {}, 0);
    forward<float>(m.layout, m.params.data(), m.song_audio, b, ws, pool, m.nbr());
    if (use_cold) {
      const bool fitted = m.audio_map == AudioMap::Fitted;
      if (fitted) gcold.noalias() = ws.h.back() * m.cold_map.transpose();
      const auto& g = fitted ? gcold : ws.g;
      cold.resize(b.size, static_cast<std::int64_t>(m.cold_ids.size()));
      util::Chunks ch{cold.cols(), kVocabChunk};
      pool.run(ch.count(), [&](std::int64_t c) {
        cold.middleCols(ch.begin(c), ch.len(c)).noalias() = g *
                                                            m.cold_audio.middleRows(ch.begin(c), ch.len(c)).transpose();
      });
    }
    pool.run(q1 - q0, [&](std::int64_t k) {
      const auto& q = questions[q0 + k];
      arena::Candidates r;
      r.id = q.id;
      const std::unordered_set<arena::SongId> seen(q.songs.begin(), q.songs.end());
      const std::int32_t qdate = arena::date_key(q.updt_date);
      auto allowed = [&](arena::SongId s) { return !seen.count(s) && arena::released_by(opt.song_dates, s, qdate); };
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
      TopK<std::int32_t> tags(mixed ? std::max(n_tags, kTagListLength) : n_tags);
      auto zt = ws.zt.row(k);
      for (std::int64_t j = 0; j < zt.size(); ++j)
        if (tags.wants(zt[j]) && !seen_tags.count(m.vocab.tags[j])) tags.offer(zt[j], static_cast<std::int32_t>(j));
      const auto at = static_cast<std::size_t>(q0 - mine.begin + k);
      answer_tags(m, q, tags.take(), r, n_tags, lists ? &(*lists)[at] : nullptr);
      out[at] = std::move(r);
    });
    progress.update(q1 - mine.begin);
  }
  progress.finish();
  return out;
}

}  // namespace

std::vector<arena::Candidates> candidates(const Model& m, const std::vector<arena::Playlist>& questions,
                                          const PredictOptions& opt, std::size_t n_songs, std::size_t n_tags,
                                          util::ThreadPool& pool, MPI_Comm comm) {
  return answer(m, questions, opt, n_songs, n_tags, pool, comm, nullptr);
}

std::vector<TagLists> tag_lists(const Model& m, const std::vector<arena::Playlist>& questions,
                                const PredictOptions& opt, util::ThreadPool& pool, MPI_Comm comm) {
  std::vector<TagLists> lists;
  answer(m, questions, opt, static_cast<std::size_t>(kSongTagsAnswerSongs), kTagListLength, pool, comm, &lists);
  return lists;
}

}  // namespace melon::ae

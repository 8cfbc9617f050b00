#include "melon/ae/cold_choice.hpp"

#include <iterator>
#include <string>
#include <utility>

#include "melon/ae/candidates.hpp"
#include "melon/ae/predict.hpp"
#include "melon/ae/song_tags.hpp"
#include "melon/eval/metric.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::ae {

namespace {

// The held-out nDCG of m's answers: {songs, tags}. Collective over comm.
std::pair<double, double> held_out_ndcg(const Model& m, const std::vector<arena::Playlist>& questions,
                                        const std::vector<arena::Result>& answers,
                                        const std::vector<std::int32_t>& song_dates, util::ThreadPool& pool,
                                        MPI_Comm comm) {
  const auto r = mpi::block_range(static_cast<std::int64_t>(questions.size()), mpi::rank(comm), mpi::size(comm));
  PredictOptions po;
  po.song_dates = song_dates;
  auto mine = predict(m, questions, po, pool, comm, false);
  double sums[2] = {0, 0};
  for (auto i = r.begin; i < r.end; ++i) {
    sums[0] += eval::ndcg(mine[i - r.begin].songs, answers[i].songs);
    sums[1] += eval::ndcg(mine[i - r.begin].tags, answers[i].tags);
  }
  mpi::allreduce_sum(comm, sums, 2);
  const auto n = static_cast<double>(questions.size());
  return {sums[0] / n, sums[1] / n};
}

}  // namespace

ColdChoice choose_cold(Model& m, const std::vector<arena::Playlist>& questions,
                       const std::vector<arena::Result>& answers, const std::vector<std::int32_t>& song_dates,
                       util::ThreadPool& pool, MPI_Comm comm) {
  ColdChoice best;
  best.nbr_scale = m.neighbours.scale;
  const bool audio = m.layout.dims.audio_dim > 0;
  std::vector<std::pair<bool, double>> grid{{audio ? false : true, 0.0}};
  if (audio)
    for (double s : {-4.0, -2.0, 0.0}) grid.emplace_back(true, s);
  for (auto [on, shift] : grid) {
    m.cold_enabled = on;
    m.cold_shift = shift;
    prepare_cold(m);
    const auto [song, tag] = held_out_ndcg(m, questions, answers, song_dates, pool, comm);
    const double score = 0.85 * song + 0.15 * tag;
    if (score > best.score) {
      best.song = song, best.tag = tag, best.score = score;
      best.cold_songs = on, best.cold_shift = shift;
    }
  }
  return best;
}

ColdChoice choose_nbr_scale(Model& m, const ColdChoice& at, const std::vector<arena::Playlist>& questions,
                            const std::vector<arena::Result>& answers, const std::vector<std::int32_t>& song_dates,
                            util::ThreadPool& pool, MPI_Comm comm) {
  ColdChoice best = at;
  if (m.neighbours.empty()) return best;
  const double trained = m.neighbours.scale;
  m.cold_enabled = at.cold_songs;
  m.cold_shift = at.cold_shift;
  prepare_cold(m);
  for (double step : {2.0, 0.5}) {
    for (double k = step; k <= kNbrScaleMax && k >= 1 / kNbrScaleMax; k *= step) {
      m.neighbours.scale = trained * k;
      const auto [song, tag] = held_out_ndcg(m, questions, answers, song_dates, pool, comm);
      const double score = 0.85 * song + 0.15 * tag;
      if (!(score > best.score)) break;
      best.song = song, best.tag = tag, best.score = score, best.nbr_scale = trained * k;
    }
    if (best.nbr_scale != trained) break;  // doubling helped: no need to look below
  }
  m.neighbours.scale = best.nbr_scale;
  return best;
}

ColdChoice choose_tag_mix(Model& m, const ColdChoice& at, const std::vector<arena::Playlist>& questions,
                          const std::vector<arena::Result>& answers, const std::vector<std::int32_t>& song_dates,
                          util::ThreadPool& pool, MPI_Comm comm) {
  ColdChoice best = at;
  best.tag_mix = 1;
  m.tag_mix = 1;
  if (m.song_tags.empty()) return best;
  PredictOptions po;
  po.song_dates = song_dates;
  const auto lists = tag_lists(m, questions, po, pool, comm);
  const auto r = mpi::block_range(static_cast<std::int64_t>(questions.size()), mpi::rank(comm), mpi::size(comm));
  constexpr std::size_t n = std::size(kTagMixes);
  double sums[n] = {};
  std::vector<std::string> names;
  for (auto i = r.begin; i < r.end; ++i) {
    const auto& l = lists[static_cast<std::size_t>(i - r.begin)];
    for (std::size_t k = 0; k < n; ++k) {
      names.clear();
      for (auto& [v, t] : fuse_tags(l.head, l.songs, kTagMixes[k], 10)) names.push_back(m.vocab.tags[t]);
      sums[k] += eval::ndcg(names, answers[i].tags);
    }
  }
  mpi::allreduce_sum(comm, sums, n);
  // Compared as the fused lists score them; the head alone keeps the figure
  // its answers had (at.tag, with the popularity fill).
  std::size_t pick = 0;
  for (std::size_t k = 1; k < n; ++k)
    if (sums[k] > sums[pick]) pick = k;
  if (pick > 0) {
    best.tag = sums[pick] / static_cast<double>(questions.size());
    best.score = 0.85 * at.song + 0.15 * best.tag;
    best.tag_mix = kTagMixes[pick];
  }
  m.tag_mix = best.tag_mix;
  return best;
}

}  // namespace melon::ae

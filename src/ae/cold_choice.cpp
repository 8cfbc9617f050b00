#include "melon/ae/cold_choice.hpp"

#include <utility>

#include "melon/ae/predict.hpp"
#include "melon/eval/metric.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::ae {

ColdChoice choose_cold(Model& m, const std::vector<arena::Playlist>& questions,
                       const std::vector<arena::Result>& answers, const std::vector<std::int32_t>& song_dates,
                       util::ThreadPool& pool, MPI_Comm comm) {
  ColdChoice best;
  const bool audio = m.layout.dims.audio_dim > 0;
  std::vector<std::pair<bool, double>> grid{{audio ? false : true, 0.0}};
  if (audio)
    for (double s : {-4.0, -2.0, 0.0}) grid.emplace_back(true, s);
  const auto r = mpi::block_range(static_cast<std::int64_t>(questions.size()), mpi::rank(comm), mpi::size(comm));
  for (auto [on, shift] : grid) {
    m.cold_enabled = on;
    m.cold_shift = shift;
    prepare_cold(m);
    PredictOptions po;
    po.song_dates = song_dates;
    auto mine = predict(m, questions, po, pool, comm, false);
    double sums[2] = {0, 0};
    for (auto i = r.begin; i < r.end; ++i) {
      sums[0] += eval::ndcg(mine[i - r.begin].songs, answers[i].songs);
      sums[1] += eval::ndcg(mine[i - r.begin].tags, answers[i].tags);
    }
    mpi::allreduce_sum(comm, sums, 2);
    const double song = sums[0] / questions.size(), tag = sums[1] / questions.size(), score = 0.85 * song + 0.15 * tag;
    if (score > best.score) {
      best.song = song, best.tag = tag, best.score = score;
      best.cold_songs = on, best.cold_shift = shift;
    }
  }
  return best;
}

}  // namespace melon::ae

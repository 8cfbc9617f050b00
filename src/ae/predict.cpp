#include "melon/ae/predict.hpp"

#include <unordered_set>

#include "melon/arena/gather.hpp"
#include "melon/arena/io.hpp"
#include "melon/arena/rules.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"

namespace melon::ae {

std::vector<arena::Result> predict(const Model& m, const std::vector<arena::Playlist>& questions,
                                   const PredictOptions& opt, util::ThreadPool& pool, MPI_Comm comm, bool gather_all) {
  auto cands = candidates(m, questions, opt, 100, 10, pool, comm);
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
      if (!have.count(s) && !seen.count(s) && arena::released_by(opt.song_dates, s, qdate))
        r.songs.push_back(s), have.insert(s);
    }
    arena::fill_from(r.songs, m.vocab.popular_songs, q.songs, 100);
    arena::fill_from(r.tags, m.vocab.popular_tags, q.tags, 10);
    MELON_CHECK(r.songs.size() == 100 && r.tags.size() == 10,
                "question id " << q.id << ": the model's catalogue is too small to fill 100 songs and 10 tags (got "
                               << r.songs.size() << " and " << r.tags.size() << ")");
    out[k] = std::move(r);
  }
  return gather_all ? arena::gather_results(out, comm) : out;
}

}  // namespace melon::ae

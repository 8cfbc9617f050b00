#include "melon/recommend/baseline.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "melon/arena/gather.hpp"
#include "melon/arena/io.hpp"
#include "melon/arena/rules.hpp"
#include "melon/error.hpp"
#include "melon/mpi/mpi.hpp"
#include "melon/util/log.hpp"

namespace melon::recommend {

BaselineMethod parse_baseline(const std::string& name) {
  if (name == "most-popular") return BaselineMethod::MostPopular;
  if (name == "genre-most-popular") return BaselineMethod::GenreMostPopular;
  MELON_THROW("unknown baseline method '" << name << "' (most-popular|genre-most-popular|item-knn|playlist-knn|ease)");
}

Popularity count_popularity(const std::vector<arena::Playlist>& train, std::size_t n_songs) {
  // Tag vocabulary in first-seen order over the full list, identical on every rank.
  std::unordered_map<std::string, std::size_t> tag_index;
  std::vector<std::string> tag_names;
  for (auto& p : train)
    for (auto& t : p.tags)
      if (tag_index.emplace(t, tag_names.size()).second) tag_names.push_back(t);

  std::vector<std::int64_t> songs(n_songs, 0), tags(tag_names.size(), 0);
  auto mine = mpi::block_range(static_cast<std::int64_t>(train.size()), mpi::rank(mpi::world()),
                               mpi::size(mpi::world()));
  for (auto i = mine.begin; i < mine.end; ++i) {
    for (auto s : train[i].songs) {
      MELON_CHECK(static_cast<std::size_t>(s) < n_songs, "training playlist id " << train[i].id << ": song id " << s
                                                                                 << " is outside song_meta (0.."
                                                                                 << n_songs - 1 << ")");
      ++songs[s];
    }
    for (auto& t : train[i].tags) ++tags[tag_index[t]];
  }
  mpi::allreduce_sum(mpi::world(), songs);
  mpi::allreduce_sum(mpi::world(), tags);

  Popularity pop;
  pop.song_count = songs;
  for (std::size_t s = 0; s < n_songs; ++s)
    if (songs[s] > 0) pop.songs.push_back(static_cast<arena::SongId>(s));
  std::stable_sort(pop.songs.begin(), pop.songs.end(), [&](auto a, auto b) { return songs[a] > songs[b]; });
  std::vector<std::size_t> order(tag_names.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](auto a, auto b) { return tags[a] != tags[b] ? tags[a] > tags[b] : tag_names[a] < tag_names[b]; });
  for (auto i : order) pop.tags.push_back(tag_names[i]);
  return pop;
}

std::vector<arena::Result> run_baseline(BaselineMethod method, const std::vector<arena::Playlist>& train,
                                        const std::vector<arena::Playlist>& questions, const arena::SongMeta* meta) {
  std::size_t n_songs = 0;
  if (meta) {
    n_songs = meta->size();
  } else {
    for (auto& p : train)
      for (auto s : p.songs) n_songs = std::max<std::size_t>(n_songs, s + 1);
  }
  MELON_CHECK(method != BaselineMethod::GenreMostPopular || meta, "genre-most-popular needs --song-meta");
  Popularity pop = count_popularity(train, n_songs);

  // Per major genre: training songs by descending popularity.
  std::unordered_map<std::string, std::vector<arena::SongId>> by_genre;
  if (method == BaselineMethod::GenreMostPopular)
    for (auto s : pop.songs)
      for (auto& g : meta->songs[s].genres) by_genre[g].push_back(s);

  auto mine = mpi::block_range(static_cast<std::int64_t>(questions.size()), mpi::rank(mpi::world()),
                               mpi::size(mpi::world()));
  std::vector<arena::Result> out;
  for (auto i = mine.begin; i < mine.end; ++i) {
    const auto& q = questions[i];
    arena::Result r;
    r.id = q.id;
    if (method == BaselineMethod::GenreMostPopular && !q.songs.empty()) {
      std::map<std::string, int> counts;  // ordered: ties go to the smallest code, deterministically
      for (auto s : q.songs)
        if (static_cast<std::size_t>(s) < meta->size())
          for (auto& g : meta->songs[s].genres) ++counts[g];
      std::string best;
      int best_n = 0;
      for (auto& [g, n] : counts)
        if (n > best_n) best = g, best_n = n;
      if (best_n > 0) arena::fill_from(r.songs, by_genre[best], q.songs, 100);
    }
    arena::fill_from(r.songs, pop.songs, q.songs, 100);
    arena::fill_from(r.tags, pop.tags, q.tags, 10);
    MELON_CHECK(r.songs.size() == 100 && r.tags.size() == 10,
                "question id " << q.id << ": training data too small to fill 100 songs and 10 tags (got "
                               << r.songs.size() << " and " << r.tags.size() << ")");
    out.push_back(std::move(r));
  }
  return arena::gather_results(out, mpi::world());
}

}  // namespace melon::recommend

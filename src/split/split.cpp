#include "melon/split/split.hpp"

#include "melon/util/rng.hpp"

namespace melon::split {
namespace {

// Shows a random len//2 of `items` in the question, the rest in the answer,
// both in original order.
template <class T>
void mask_half(std::vector<T>& question, std::vector<T>& answer, Rng& rng) {
  std::vector<T> all = std::move(question);
  std::vector<char> shown(all.size(), 0);
  for (std::size_t i = 0; i < all.size() / 2; ++i) shown[i] = 1;
  rng.shuffle(shown);
  question.clear();
  answer.clear();
  for (std::size_t i = 0; i < all.size(); ++i) (shown[i] ? question : answer).push_back(all[i]);
}

template <class T>
void remove_all(std::vector<T>& question, std::vector<T>& answer, std::size_t keep) {
  answer = std::move(question);
  if (answer.size() > keep) answer.resize(keep);
  question.clear();
}

}  // namespace

Split official_split(std::vector<arena::Playlist> playlists, std::uint64_t seed) {
  Rng rng(mix_seed(seed, 0x5eed5b117ull));
  rng.shuffle(playlists);
  const std::size_t tot = playlists.size(), n_train = tot * 8 / 10;
  Split s;
  s.train.assign(std::make_move_iterator(playlists.begin()), std::make_move_iterator(playlists.begin() + n_train));
  std::vector<arena::Playlist> val(std::make_move_iterator(playlists.begin() + n_train),
                                   std::make_move_iterator(playlists.end()));
  const std::size_t n = val.size();
  // Boundaries as split_data.py computes them: int(tot * 0.3), int(tot * 0.8), int(tot * 0.95).
  const std::size_t b1 = n * 3 / 10, b2 = n * 8 / 10, b3 = n * 95 / 100;
  for (std::size_t i = 0; i < n; ++i) {
    arena::Playlist q = std::move(val[i]);
    arena::Playlist a = q;
    if (i < b1) {
      mask_half(q.songs, a.songs, rng);
      remove_all(q.tags, a.tags, 10);
    } else if (i < b2) {
      mask_half(q.songs, a.songs, rng);
      mask_half(q.tags, a.tags, rng);
    } else if (i < b3) {
      mask_half(q.tags, a.tags, rng);
      remove_all(q.songs, a.songs, 100);
    } else {
      remove_all(q.songs, a.songs, 100);
      remove_all(q.tags, a.tags, 10);
    }
    s.questions.push_back(std::move(q));
    s.answers.push_back(std::move(a));
  }
  return s;
}

}  // namespace melon::split

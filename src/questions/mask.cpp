#include "melon/questions/mask.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>

namespace melon::questions {
namespace {

template <class T>
void mask_list(const std::vector<T>& all, Half half, const Choose& choose, std::vector<T>& shown,
               std::vector<T>& hidden) {
  const auto chosen = choose(all.size(), all.size() / 2);
  auto& to_chosen = half == Half::Shown ? shown : hidden;
  auto& to_rest = half == Half::Shown ? hidden : shown;
  shown.clear();
  hidden.clear();
  for (std::size_t i = 0; i < all.size(); ++i) (chosen[i] ? to_chosen : to_rest).push_back(all[i]);
}

template <class T>
void remove_list(const std::vector<T>& all, std::size_t keep, std::vector<T>& shown, std::vector<T>& hidden) {
  shown.clear();
  hidden.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(keep, all.size())));
}

}  // namespace

Choose shuffled_flags(Rng& rng) {
  return [&rng](std::size_t n, std::size_t k) {
    std::vector<char> flags(n, 0);
    for (std::size_t i = 0; i < k && i < n; ++i) flags[i] = 1;
    rng.shuffle(flags);
    return flags;
  };
}

Choose partial_shuffle(std::function<std::uint64_t(std::uint64_t)> below) {
  return [below = std::move(below)](std::size_t n, std::size_t k) {
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    k = std::min(k, n);
    for (std::size_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + static_cast<std::size_t>(below(n - i))]);
    std::vector<char> flags(n, 0);
    for (std::size_t i = 0; i < k; ++i) flags[idx[i]] = 1;
    return flags;
  };
}

Choose partial_shuffle(Rng& rng) {
  return partial_shuffle([&rng](std::uint64_t m) { return rng.below(m); });
}

Masked mask(const arena::Playlist& full, QuestionType t, const Masking& m, const Choose& choose) {
  Masked r{full, full};
  if (shows_songs(t)) {
    mask_list(full.songs, m.half, choose, r.question.songs, r.answer.songs);
    if (m.title == Title::HideWithSongs) r.question.title.clear();
  } else {
    remove_list(full.songs, kAnswerSongs, r.question.songs, r.answer.songs);
  }
  if (shows_tags(t)) mask_list(full.tags, m.half, choose, r.question.tags, r.answer.tags);
  else remove_list(full.tags, kAnswerTags, r.question.tags, r.answer.tags);
  return r;
}

}  // namespace melon::questions

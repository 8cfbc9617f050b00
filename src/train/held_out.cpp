#include "melon/train/held_out.hpp"

#include <algorithm>
#include <numeric>

#include "melon/ae/corrupt.hpp"  // pick
#include "melon/error.hpp"
#include "melon/util/rng.hpp"

namespace melon::train {

using ae::pick;

HeldOut make_held_out(const arena::Playlist& p, std::int64_t position, std::uint64_t seed) {
  Rng rng(mix_seed(seed, 0x4E1D, static_cast<std::uint64_t>(position)));
  const int slot = static_cast<int>(position % 20);
  const bool songs_shown = slot < 16, tags_shown = slot >= 6 && slot < 19;
  HeldOut h;
  h.question = p;
  h.answer.id = p.id;
  auto split_half = [&](auto& shown, auto& answer, bool masked, std::size_t cap) {
    auto all = shown;
    shown.clear();
    answer.clear();
    if (!masked) {
      for (std::size_t i = 0; i < all.size() && i < cap; ++i) answer.push_back(all[i]);
      return;
    }
    auto keep = pick(all.size(), all.size() / 2, rng);
    std::vector<char> is_shown(all.size(), 0);
    for (auto k : keep) is_shown[k] = 1;
    for (std::size_t i = 0; i < all.size(); ++i) (is_shown[i] ? shown : answer).push_back(all[i]);
  };
  split_half(h.question.songs, h.answer.songs, songs_shown, 100);
  split_half(h.question.tags, h.answer.tags, tags_shown, 10);
  return h;
}

HeldOutSplit split_held_out(const std::vector<arena::Playlist>& train, const std::vector<arena::Playlist>& questions,
                            std::int64_t val_size, std::uint64_t seed) {
  HeldOutSplit s;
  const auto n_val = static_cast<std::size_t>(
      std::clamp<std::int64_t>(val_size, 0, static_cast<std::int64_t>(train.size() / 5)));
  std::vector<std::size_t> idx(train.size());
  std::iota(idx.begin(), idx.end(), 0);
  Rng(mix_seed(seed, 0x7A11)).shuffle(idx);
  std::vector<char> held(train.size(), 0);
  s.held.assign(idx.begin(), idx.begin() + n_val);
  std::sort(s.held.begin(), s.held.end());
  for (auto i : s.held) held[i] = 1;
  for (std::size_t i = 0; i < train.size(); ++i)
    if (!held[i]) s.data.push_back(&train[i]);
  for (auto& q : questions) s.data.push_back(&q);
  MELON_CHECK(!s.data.empty(), "no training playlists");
  for (std::size_t j = 0; j < s.held.size(); ++j) {
    auto h = make_held_out(train[s.held[j]], static_cast<std::int64_t>(j), seed);
    s.questions.push_back(std::move(h.question));
    s.answers.push_back(std::move(h.answer));
  }
  return s;
}

}  // namespace melon::train

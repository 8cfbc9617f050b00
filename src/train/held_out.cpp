#include "melon/train/held_out.hpp"

#include "melon/error.hpp"
#include "melon/questions/held_out.hpp"

namespace melon::train {

HeldOutSplit split_held_out(const std::vector<arena::Playlist>& train, const std::vector<arena::Playlist>& visible,
                            std::int64_t val_size, std::uint64_t seed) {
  HeldOutSplit s;
  s.held = questions::held_out_indices(train.size(), val_size, seed, questions::HeldOutDraw::Training);
  std::vector<char> held(train.size(), 0);
  for (auto i : s.held) held[i] = 1;
  for (std::size_t i = 0; i < train.size(); ++i)
    if (!held[i]) s.data.push_back(&train[i]);
  for (auto& q : visible) s.data.push_back(&q);
  MELON_CHECK(!s.data.empty(), "no training playlists");
  for (std::size_t j = 0; j < s.held.size(); ++j) {
    auto h = questions::held_out_question(train[s.held[j]], static_cast<std::int64_t>(j), seed);
    s.questions.push_back(std::move(h.question));
    s.answers.push_back(std::move(h.answer));
  }
  return s;
}

}  // namespace melon::train

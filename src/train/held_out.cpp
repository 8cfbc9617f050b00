#include "melon/train/held_out.hpp"

#include <algorithm>
#include <sstream>

#include "melon/ae/checkpoint.hpp"
#include "melon/error.hpp"
#include "melon/questions/held_out.hpp"
#include "melon/train/refit.hpp"

namespace melon::train {

std::int64_t held_out_size(std::int64_t val_size, Refit refit, std::size_t n_train, std::size_t n_visible) {
  if (val_size != kValSizeAuto) return val_size;
  const auto data = static_cast<double>(n_train + n_visible);
  const std::int64_t wanted = refit != Refit::Off && 1000 >= kRefitMinShare * data ? 2000 : 1000;
  return std::min(wanted, questions::held_out_cap(n_train));
}

std::int64_t resumed_val_size(const std::string& checkpoint_dir) {
  for (const auto& p : ae::list_checkpoints(checkpoint_dir)) {
    const auto config = ae::read_checkpoint_config(p);
    if (config.empty()) continue;  // damaged: the resume sets it aside
    std::istringstream lines(config);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("val_size=", 0) == 0) return std::stoll(line.substr(9));
    return -1;
  }
  return -1;
}

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

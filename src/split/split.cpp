#include "melon/split/split.hpp"

#include "melon/questions/mask.hpp"
#include "melon/util/rng.hpp"

namespace melon::split {

Split official_split(std::vector<arena::Playlist> playlists, std::uint64_t seed) {
  using questions::QuestionType;
  Rng rng(mix_seed(seed, 0x5eed5b117ull));
  rng.shuffle(playlists);
  const std::size_t tot = playlists.size(), n_train = tot * 8 / 10;
  Split s;
  s.train.assign(std::make_move_iterator(playlists.begin()), std::make_move_iterator(playlists.begin() + n_train));
  const std::size_t n = tot - n_train;
  // Boundaries as split_data.py computes them: int(tot * 0.3), int(tot * 0.8), int(tot * 0.95).
  const std::size_t b1 = n * 3 / 10, b2 = n * 8 / 10, b3 = n * 95 / 100;
  const auto choose = questions::shuffled_flags(rng);
  for (std::size_t i = 0; i < n; ++i) {
    const auto t = i < b1   ? QuestionType::SongsOnly
                   : i < b2 ? QuestionType::SongsTags
                   : i < b3 ? QuestionType::TagsOnly
                            : QuestionType::TitleOnly;
    auto m = questions::mask(playlists[n_train + i], t, questions::kOfficialMasking, choose);
    s.questions.push_back(std::move(m.question));
    s.answers.push_back(std::move(m.answer));
  }
  return s;
}

}  // namespace melon::split

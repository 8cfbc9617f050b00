#include "melon/questions/held_out.hpp"

#include <algorithm>
#include <numeric>

#include "melon/questions/mask.hpp"
#include "melon/util/rng.hpp"

namespace melon::questions {

std::int64_t held_out_cap(std::size_t n) { return static_cast<std::int64_t>(n / 3); }

std::vector<std::size_t> held_out_indices(std::size_t n, std::int64_t wanted, std::uint64_t seed, HeldOutDraw who) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  Rng(mix_seed(seed, static_cast<std::uint64_t>(who))).shuffle(idx);
  const auto k = static_cast<std::size_t>(std::clamp<std::int64_t>(wanted, 0, held_out_cap(n)));
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

QuestionType held_out_type(std::int64_t position) {
  const auto slot = position % 20;
  if (slot < 6) return QuestionType::SongsOnly;
  if (slot < 16) return QuestionType::SongsTags;
  if (slot < 19) return QuestionType::TagsOnly;
  return QuestionType::TitleOnly;
}

HeldOut held_out_question(const arena::Playlist& p, std::int64_t position, std::uint64_t seed) {
  Rng rng(mix_seed(seed, 0x4E1D, static_cast<std::uint64_t>(position)));
  auto m = mask(p, held_out_type(position), kOfficialMasking, partial_shuffle(rng));
  HeldOut h;
  h.question = std::move(m.question);
  h.answer.id = p.id;
  h.answer.songs = std::move(m.answer.songs);
  h.answer.tags = std::move(m.answer.tags);
  return h;
}

}  // namespace melon::questions

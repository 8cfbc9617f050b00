#include "melon/generate/questions.hpp"

#include <algorithm>
#include <cmath>

namespace melon::generate {

using questions::QuestionType;

std::vector<QuestionType> question_types(std::int64_t n, std::uint64_t seed, std::uint64_t salt) {
  std::int64_t count[4], assigned = 0;
  for (int k = 0; k < 4; ++k) assigned += (count[k] = static_cast<std::int64_t>(std::floor(kQuestionMix[k] * n)));
  // Largest remainders get the leftovers, so the mix is as exact as n allows.
  std::vector<std::pair<double, int>> rem;
  for (int k = 0; k < 4; ++k) rem.push_back({kQuestionMix[k] * n - count[k], -k});
  std::sort(rem.rbegin(), rem.rend());
  for (int i = 0; assigned < n; ++i, ++assigned) ++count[-rem[i % 4].second];
  std::vector<QuestionType> v;
  v.reserve(n);
  for (int k = 0; k < 4; ++k) v.insert(v.end(), count[k], static_cast<QuestionType>(k));
  Rng r(seed, kTypeStream, salt);
  shuffle(v, r);
  return v;
}

int min_songs_for(QuestionType t) { return questions::shows_songs(t) ? 2 : 1; }
int min_tags_for(QuestionType t) { return questions::shows_tags(t) ? 2 : 1; }

Question make_question(const arena::Playlist& full, QuestionType t, Rng& rng) {
  // The generator's own draw (32-bit below), so generated data keeps its bits.
  const auto below = [&rng](std::uint64_t n) { return rng.below(static_cast<std::uint32_t>(n)); };
  return questions::mask(full, t, questions::kReleasedMasking, questions::partial_shuffle(below));
}

}  // namespace melon::generate

#include "melon/generate/questions.hpp"

#include <algorithm>
#include <cmath>

namespace melon::generate {

using arena::QuestionType;

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

int min_songs_for(QuestionType t) { return t == QuestionType::SongsOnly || t == QuestionType::SongsTags ? 2 : 1; }
int min_tags_for(QuestionType t) { return t == QuestionType::SongsTags || t == QuestionType::TagsOnly ? 2 : 1; }

namespace {

// Hides len // 2 random items; both halves keep the playlist's order.
template <class T>
void mask_half(const std::vector<T>& all, std::vector<T>& shown, std::vector<T>& hidden, Rng& rng) {
  const std::size_t n = all.size(), n_hide = n / 2;
  std::vector<std::uint32_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = static_cast<std::uint32_t>(i);
  for (std::size_t i = 0; i < n_hide; ++i) std::swap(idx[i], idx[i + rng.below(static_cast<std::uint32_t>(n - i))]);
  std::vector<char> hide(n, 0);
  for (std::size_t i = 0; i < n_hide; ++i) hide[idx[i]] = 1;
  shown.clear();
  hidden.clear();
  for (std::size_t i = 0; i < n; ++i) (hide[i] ? hidden : shown).push_back(all[i]);
}

template <class T>
std::vector<T> head(const std::vector<T>& v, std::size_t n) {
  return std::vector<T>(v.begin(), v.begin() + std::min(n, v.size()));
}

}  // namespace

Question make_question(const arena::Playlist& full, QuestionType t, Rng& rng) {
  Question q;
  q.question = full;
  q.answer = full;
  const bool songs_shown = t == QuestionType::SongsOnly || t == QuestionType::SongsTags;
  const bool tags_shown = t == QuestionType::SongsTags || t == QuestionType::TagsOnly;
  if (songs_shown) {
    mask_half(full.songs, q.question.songs, q.answer.songs, rng);
    q.question.title.clear();
  } else {
    q.question.songs.clear();
    q.answer.songs = head(full.songs, 100);
  }
  if (tags_shown) {
    mask_half(full.tags, q.question.tags, q.answer.tags, rng);
  } else {
    q.question.tags.clear();
    q.answer.tags = head(full.tags, 10);
  }
  return q;
}

QuestionType shown_type(const arena::Playlist& q) {
  if (!q.songs.empty()) return q.tags.empty() ? QuestionType::SongsOnly : QuestionType::SongsTags;
  return q.tags.empty() ? QuestionType::TitleOnly : QuestionType::TagsOnly;
}

const char* type_name(QuestionType t) {
  switch (t) {
    case QuestionType::SongsOnly: return "songs only";
    case QuestionType::SongsTags: return "songs + tags";
    case QuestionType::TagsOnly: return "title + tags";
    case QuestionType::TitleOnly: return "title only";
  }
  return "?";
}

}  // namespace melon::generate

#include "melon/questions/types.hpp"

namespace melon::questions {

QuestionType question_type(const arena::Playlist& q) {
  if (!q.songs.empty()) return q.tags.empty() ? QuestionType::SongsOnly : QuestionType::SongsTags;
  return q.tags.empty() ? QuestionType::TitleOnly : QuestionType::TagsOnly;
}

bool shows_songs(QuestionType t) { return t == QuestionType::SongsOnly || t == QuestionType::SongsTags; }
bool shows_tags(QuestionType t) { return t == QuestionType::SongsTags || t == QuestionType::TagsOnly; }

const char* name(QuestionType t, Spelling s) {
  static const char* const kNames[kQuestionTypes][3] = {
      {"songs only", "songs only", "songs_only"},
      {"songs+tags", "songs + tags", "songs_tags"},
      {"tags only", "title + tags", "title_tags"},
      {"title only", "title only", "title_only"},
  };
  const auto k = static_cast<int>(t);
  return k >= 0 && k < kQuestionTypes ? kNames[k][static_cast<int>(s)] : "?";
}

}  // namespace melon::questions

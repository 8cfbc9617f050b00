#pragma once
// The four question types of the Arena val/test sets (shared arena.md) and
// their names. A question's type is read from what it shows, never stored.
#include "melon/arena/types.hpp"

namespace melon::questions {

enum class QuestionType { SongsOnly, SongsTags, TagsOnly, TitleOnly };
constexpr int kQuestionTypes = 4;

QuestionType question_type(const arena::Playlist& q);

bool shows_songs(QuestionType t);
bool shows_tags(QuestionType t);

// One table, three spellings, because each is already written into files:
//   Short: the metric's breakdown (eval.txt, scores.json), "songs+tags", "tags only";
//   Arena: arena.md's wording, in the generator's calibration labels, "songs + tags", "title + tags";
//   Key:   JSON keys of the calibration figures, "songs_tags", "title_tags".
enum class Spelling { Short, Arena, Key };
const char* name(QuestionType t, Spelling s = Spelling::Short);

}  // namespace melon::questions

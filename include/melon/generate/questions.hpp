#pragma once
// Turning full playlists into questions and hidden answers, as arena.md
// describes the released val/test sets: 42% songs only, 39% songs + tags,
// 11% title + tags, 8% title only. A masked list hides len // 2 items chosen
// at random; a removed list goes wholly to the answer (first 100 songs, first
// 10 tags). The title is shown only where the songs are absent. Answers keep
// every field (the full title, like_cnt, updt_date).
#include <cstdint>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/generate/rng.hpp"

namespace melon::generate {

constexpr double kQuestionMix[4] = {0.42, 0.39, 0.11, 0.08};  // SongsOnly, SongsTags, TagsOnly (title + tags), TitleOnly

// Exactly round(share * n) questions of each type (remainders to the largest),
// in a seeded random order.
std::vector<arena::QuestionType> question_types(std::int64_t n, std::uint64_t seed, std::uint64_t salt);

// Floors a playlist needs so its question hides at least one song and one tag.
int min_songs_for(arena::QuestionType t);
int min_tags_for(arena::QuestionType t);

struct Question {
  arena::Playlist question;
  arena::Playlist answer;
};
Question make_question(const arena::Playlist& full, arena::QuestionType t, Rng& rng);

// What a question shows, read from its content (the same rule as arena::question_type).
arena::QuestionType shown_type(const arena::Playlist& q);
const char* type_name(arena::QuestionType t);

}  // namespace melon::generate

#pragma once
// Turning full playlists into questions and hidden answers, as arena.md
// describes the released val/test sets: 42% songs only, 39% songs + tags,
// 11% title + tags, 8% title only, masked with questions::kReleasedMasking:
// a masked list hides len // 2 items chosen at random; a removed list goes
// wholly to the answer (first 100 songs, first 10 tags). The title is shown
// only where the songs are absent. Answers keep every field (the full title,
// like_cnt, updt_date).
#include <cstdint>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/generate/rng.hpp"
#include "melon/questions/mask.hpp"

namespace melon::generate {

constexpr double kQuestionMix[4] = {0.42, 0.39, 0.11,
                                    0.08};  // SongsOnly, SongsTags, TagsOnly (title + tags), TitleOnly

// Exactly round(share * n) questions of each type (remainders to the largest),
// in a seeded random order.
std::vector<questions::QuestionType> question_types(std::int64_t n, std::uint64_t seed, std::uint64_t salt);

// Floors a playlist needs so its question hides at least one song and one tag.
int min_songs_for(questions::QuestionType t);
int min_tags_for(questions::QuestionType t);

using Question = questions::Masked;
Question make_question(const arena::Playlist& full, questions::QuestionType t, Rng& rng);

}  // namespace melon::generate

#pragma once
// Turning a full playlist into a question and its answer (shared arena.md;
// the competition's split_data.py). A list the question type shows is masked:
// one side gets len / 2 items chosen at random, the other side the rest, both
// in playlist order. A list the type does not show is removed: the question
// has none of it and the answer its first 100 songs / 10 tags. Every other
// field (id, like_cnt, updt_date, and the title unless Title says otherwise)
// is kept on both sides.
//
// Two conventions, each fixed by files melon already writes:
//   kOfficialMasking: split_data.py's _mask(): the question shows len / 2, the
//     answer gets the odd item (melon split, the training held-out questions);
//   kReleasedMasking: arena.md's released val/test sets: the answer hides
//     len / 2, the question gets the odd item, and a question showing songs
//     shows no title (melon generate).
// Which len / 2 items is the caller's draw (a Choose), since each caller's
// draw order is part of what it has written.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/questions/types.hpp"
#include "melon/util/rng.hpp"

namespace melon::questions {

constexpr std::size_t kAnswerSongs = 100, kAnswerTags = 10;  // what an answer keeps of a removed list

enum class Half { Shown, Hidden };         // the side of a masked list that gets exactly len / 2 items
enum class Title { Keep, HideWithSongs };  // HideWithSongs: blank in questions that show songs
struct Masking {
  Half half;
  Title title;
};
constexpr Masking kOfficialMasking{Half::Shown, Title::Keep};
constexpr Masking kReleasedMasking{Half::Hidden, Title::HideWithSongs};

// Picks k of n positions: flags[i] = 1 for the chosen, exactly k of them.
using Choose = std::function<std::vector<char>(std::size_t n, std::size_t k)>;
// k ones among n flags, then a Fisher-Yates shuffle of the flags (split_data.py's draw).
Choose shuffled_flags(Rng& rng);
// The first k of a partial Fisher-Yates shuffle of the positions, drawn by
// below(m), uniform in [0, m). The generator passes its own RNG's draw.
Choose partial_shuffle(std::function<std::uint64_t(std::uint64_t)> below);
Choose partial_shuffle(Rng& rng);

struct Masked {
  arena::Playlist question;
  arena::Playlist answer;
};
// Songs are masked before tags (the draw order). The answer holds the items
// the question does not show, so question + answer re-form the playlist
// (up to the caps of a removed list).
Masked mask(const arena::Playlist& full, QuestionType t, const Masking& m, const Choose& choose);

}  // namespace melon::questions

#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::arena {

// Scored candidates for one question, best first (score, then smaller id):
// never a question item, never a song released after its updt_date
// (rules.hpp). Every recommender's answer is the top 100 / 10 of these plus
// popularity fill, and the reranker pools them across recommenders.
struct Candidates {
  std::int64_t id = 0;
  std::vector<std::pair<SongId, float>> songs;
  std::vector<std::pair<std::string, float>> tags;
};

}  // namespace melon::arena

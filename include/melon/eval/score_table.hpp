#pragma once
// The job's closing score table: every method's results scored against the
// same answers, one row per method and question type, as text for the
// terminal and as one JSON object (scores.json) keyed by method.
#include <string>
#include <utility>
#include <vector>

#include "melon/arena/types.hpp"

namespace melon::eval {

struct ScoreTable {
  std::string text;  // header line, then "method type song-nDCG tag-nDCG score count" rows
  std::string json;  // {"method": to_json(report), ...}, newline-terminated
};

// results: (method name, path of its results.json), in table order. Throws
// melon::Error for a results file the official evaluator would reject.
ScoreTable score_table(const std::vector<arena::Result>& answers, const std::vector<arena::Playlist>& questions,
                       const std::vector<std::pair<std::string, std::string>>& results);

}  // namespace melon::eval

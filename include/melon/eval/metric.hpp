#pragma once
// The official Arena metric (Kakao's evaluate.py), exactly:
//   dcg  = sum over ranked positions i whose item is in the answer of 1/ln(i+2)
//   idcg = sum_{i < len(answer)} 1/ln(i+2)   (answer length not capped)
//   score = 0.85 * mean song nDCG@100 + 0.15 * mean tag nDCG@10
// and the same rejections: the result ids must equal the answer ids, every
// entry must hold exactly 100 unique songs and 10 unique tags.
#include <map>
#include <string>
#include <vector>

#include "melon/arena/types.hpp"
#include "melon/questions/types.hpp"

namespace melon::eval {

double ndcg(const std::vector<arena::SongId>& ranked, const std::vector<arena::SongId>& answer);
double ndcg(const std::vector<std::string>& ranked, const std::vector<std::string>& answer);

struct Score {
  double song_ndcg = 0, tag_ndcg = 0, score = 0;
  std::size_t questions = 0;
};

struct Report {
  Score overall;
  std::map<questions::QuestionType, Score> by_type;  // filled when questions are given
};

// Throws melon::Error naming the rule a results file breaks (as the official
// evaluator would reject it), with the offending playlist id.
// `questions` (optional) gives each id's question type for the breakdown.
Report evaluate(const std::vector<arena::Result>& answers, const std::vector<arena::Result>& results,
                const std::vector<arena::Playlist>* questions = nullptr);

// Human-readable table and machine-readable JSON of a report.
std::string format_table(const Report& r);
std::string to_json(const Report& r);

}  // namespace melon::eval

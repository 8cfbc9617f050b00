#include "melon/eval/score_table.hpp"

#include <cstdio>
#include <sstream>

#include "melon/arena/io.hpp"
#include "melon/eval/metric.hpp"

namespace melon::eval {

ScoreTable score_table(const std::vector<arena::Result>& answers, const std::vector<arena::Playlist>& questions,
                       const std::vector<std::pair<std::string, std::string>>& results) {
  std::ostringstream table, json;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-20s %-12s %9s %9s %9s %7s\n", "method", "questions", "song nDCG", "tag nDCG",
                "score", "count");
  table << buf;
  json << "{";
  bool first = true;
  for (auto& [m, path] : results) {
    auto rep = evaluate(answers, arena::read_results(path), &questions);
    auto row = [&](const char* type, const Score& s) {
      std::snprintf(buf, sizeof buf, "%-20s %-12s %9.4f %9.4f %9.4f %7zu\n", m.c_str(), type, s.song_ndcg, s.tag_ndcg,
                    s.score, s.questions);
      table << buf;
    };
    row("all", rep.overall);
    for (auto& [t, s] : rep.by_type) row(questions::name(t), s);
    json << (first ? "" : ", ") << "\"" << m << "\": " << to_json(rep);
    first = false;
  }
  json << "}\n";
  return {table.str(), json.str()};
}

}  // namespace melon::eval

// Scores: every method of the run side by side, per question type.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "melon/error.hpp"
#include "melon/report/svg.hpp"
#include "sections.hpp"

namespace melon::report {

Section scores_section(const ReportInputs& in) {
  const char* id = "scores";
  const char* heading = "Scores";
  // Methods in the file's order: the pipeline lists its own answers first.
  nlohmann::ordered_json j;
  std::string source = in.scores;
  try {
    if (!std::filesystem::exists(in.scores))
      return unavailable(id, heading,
                         "no " + in.scores +
                             " (written by the plan's evaluate stage: `melon pipeline`, or the "
                             "Slurm chain's evaluate job)");
    std::ifstream f(in.scores);
    j = nlohmann::ordered_json::parse(f);
  } catch (const std::exception& e) {
    return unavailable(id, heading, source + ": " + e.what());
  }
  std::vector<std::string> methods, types{"all"};
  for (auto& [m, rep] : j.items()) {
    methods.push_back(m);
    if (rep.contains("by_type"))
      for (auto& [t, s] : rep["by_type"].items())
        if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
  }
  if (methods.empty()) return unavailable(id, heading, in.scores + " lists no method");
  auto value = [&](const std::string& m, const std::string& t, const char* key) {
    const auto& rep = j[m];
    const auto* s = t == "all" ? (rep.contains("overall") ? &rep["overall"] : nullptr)
                               : (rep.contains("by_type") && rep["by_type"].contains(t) ? &rep["by_type"][t] : nullptr);
    return s && s->contains(key) && (*s)[key].is_number() ? (*s)[key].get<double>() : std::nan("");
  };
  std::string body =
      "<p class=\"note\">Official metric on the job's local split (" + escape(source) +
      "): song nDCG@100, tag nDCG@10 and score = 0.85 song + 0.15 tag, over all questions and per question type.</p>\n";
  const std::pair<const char*, const char*> metrics[] = {
      {"song_ndcg", "song nDCG@100"}, {"tag_ndcg", "tag nDCG@10"}, {"score", "score"}};
  for (auto [key, label] : metrics) {
    GroupedBars b;
    b.axes = {std::string(label) + " per question type", "question type", label};
    b.groups = types;
    b.series = methods;
    for (auto& m : methods) {
      b.values.emplace_back();
      for (auto& t : types) b.values.back().push_back(value(m, t, key));
    }
    body += grouped_bars(b);
  }
  std::vector<std::vector<std::string>> rows;
  for (auto& m : methods)
    for (auto& t : types) {
      const double q = value(m, t, "questions");
      rows.push_back({m, t, num(value(m, t, "song_ndcg"), 6), num(value(m, t, "tag_ndcg"), 6),
                      num(value(m, t, "score"), 6), std::isfinite(q) ? num(q, 10) : "n/a"});
    }
  body += table({"method", "questions", "song nDCG", "tag nDCG", "score", "count"}, rows);
  return {id, heading, body};
}

}  // namespace melon::report

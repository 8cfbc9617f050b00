// Reranker: what each learned model leans on, and what learning bought over
// the pool's own order on the validation questions.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "melon/error.hpp"
#include "melon/rank/report_data.hpp"
#include "melon/report/svg.hpp"
#include "sections.hpp"

namespace melon::report {

namespace {

constexpr std::size_t kTopFeatures = 15;

}  // namespace

Section reranker_section(const ReportInputs& in) {
  const char* id = "reranker";
  const char* heading = "Reranker";
  const std::string path = in.model_dir + "/ranker-report.json";
  if (!std::filesystem::exists(path))
    return unavailable(id, heading,
                       "no " + path +
                           " (the job ran without the learned final ranking stage, or rerank had no --model-dir)");
  std::vector<rank::RankerReport> models;
  try {
    models = rank::read_ranker_report(path);
  } catch (const Error& e) {
    return unavailable(id, heading, e.what());
  }
  if (models.empty()) return unavailable(id, heading, path + " lists no model");
  std::string body = "<p class=\"note\">XGBoost rank:ndcg models (" + escape(path) +
                     "). Gain: the average loss reduction of the splits on a feature.</p>\n";
  for (auto& m : models) {
    std::vector<std::size_t> order(m.features.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return m.gain[a] > m.gain[b]; });
    HBars h;
    h.axes = {"Feature importance: " + m.name + " model (top " + std::to_string(std::min(kTopFeatures, order.size())) +
                  " of " + std::to_string(order.size()) + ")",
              "gain", "feature"};
    for (std::size_t i = 0; i < order.size() && i < kTopFeatures; ++i) {
      h.names.push_back(m.features[order[i]]);
      h.values.push_back(m.gain[order[i]]);
    }
    body += hbars(h);
  }
  GroupedBars b;
  b.axes = {"Rankers' held-out nDCG against the pool's order", "model", "validation nDCG@k"};
  b.series = {"learned order", "pool order"};
  b.values.assign(2, {});
  std::vector<std::vector<std::string>> rows;
  bool any_valid = false;
  for (auto& m : models) {
    const bool v = m.ndcg_model >= 0;
    any_valid = any_valid || v;
    b.groups.push_back(m.name + " (nDCG@" + std::to_string(m.k) + ")");
    b.values[0].push_back(v ? m.ndcg_model : std::nan(""));
    b.values[1].push_back(v ? m.ndcg_pool : std::nan(""));
    rows.push_back({m.name, std::to_string(m.k), std::to_string(m.valid_questions), v ? num(m.ndcg_model, 5) : "-",
                    v ? num(m.ndcg_pool, 5) : "-", v ? num(m.ndcg_model - m.ndcg_pool, 4) : "-"});
  }
  if (any_valid) body += grouped_bars(b);
  else body += "<p class=\"na\">not available: no validation questions (rerank --valid-share 0)</p>\n";
  body += table({"model", "k", "validation questions", "nDCG learned", "nDCG pool order", "gain"}, rows);
  for (auto& m : models) {
    std::vector<std::vector<std::string>> f;
    for (std::size_t i = 0; i < m.features.size(); ++i) f.push_back({m.features[i], num(m.gain[i], 6)});
    body += "<details><summary>all " + std::to_string(m.features.size()) + " features of the " + escape(m.name) +
            " model</summary>" + table({"feature", "gain"}, f) + "</details>\n";
  }
  return {id, heading, body};
}

}  // namespace melon::report

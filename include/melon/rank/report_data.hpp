#pragma once
// What the final ranking stage leaves for the run report (report/):
// MODEL_DIR/ranker-report.json, one entry per learned model with
//   features        names in the model's column order
//   gain            XGBoost's "gain" importance of each (average loss
//                   reduction of the splits on it; 0 when never split on)
//   k, valid_questions, ndcg_model, ndcg_pool
//                   nDCG@k of the validation questions ordered by the model
//                   and in the pool's own order (best rank over the sources)
// The file belongs to one rerank run: entries of an earlier process are
// dropped when the first model of a new one is recorded.
#include <cstddef>
#include <string>
#include <vector>

#include "melon/rank/xgboost.hpp"

namespace melon::rank {

// nDCG@k of each group ordered by `score` (descending, ties in row order), averaged.
double held_out_ndcg(const RankData& d, const std::vector<float>& score, std::size_t k);

// Gain importance per feature, in `names` order (the C API's
// XGBoosterFeatureScore on the model's bytes). Throws melon::Error.
std::vector<double> gain_importance(const std::string& model_json, const std::vector<std::string>& names);

// Records model `name` (the rerank log's name: "songs", "tags", ...) into
// model_dir/ranker-report.json. Never throws: a failure is a warning.
void record_ranker(const std::string& model_dir, const std::string& name, const std::vector<std::string>& names,
                   const Booster& model, const RankData& valid, std::size_t k);

struct RankerReport {
  std::string name;
  std::vector<std::string> features;
  std::vector<double> gain;
  std::size_t k = 0, valid_questions = 0;
  double ndcg_model = -1, ndcg_pool = -1;  // -1: no validation questions
};
// Throws melon::Error on an unreadable or malformed file.
std::vector<RankerReport> read_ranker_report(const std::string& path);

}  // namespace melon::rank

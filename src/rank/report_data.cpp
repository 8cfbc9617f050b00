#include "melon/rank/report_data.hpp"

#include <unistd.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>

#include "melon/error.hpp"
#include "melon/util/atomic_file.hpp"
#include "melon/util/log.hpp"

namespace melon::rank {

namespace {

// Tells this process's entries from an earlier run's.
const std::string& run_stamp() {
  static const std::string s = std::to_string(::getpid()) + "-" +
                               std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  return s;
}

void xgb_check(int rc, const char* call) {
  MELON_CHECK(rc == 0, "xgboost: " << call << " failed: " << XGBGetLastError());
}

}  // namespace

double held_out_ndcg(const RankData& d, const std::vector<float>& score, std::size_t k) {
  double sum = 0;
  std::size_t row = 0;
  for (auto n : d.groups) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), row);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return score[a] > score[b]; });
    double dcg = 0, idcg = 0;
    std::size_t positives = 0;
    for (std::size_t i = 0; i < n; ++i) positives += d.label[row + i] > 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(k, n); ++i) {
      dcg += d.label[order[i]] / std::log2(i + 2.0);
      if (i < positives) idcg += 1.0 / std::log2(i + 2.0);
    }
    sum += idcg > 0 ? dcg / idcg : 0;
    row += n;
  }
  return d.groups.empty() ? 0 : sum / static_cast<double>(d.groups.size());
}

std::vector<double> gain_importance(const std::string& model_json, const std::vector<std::string>& names) {
  BoosterHandle h = nullptr;
  xgb_check(XGBoosterCreate(nullptr, 0, &h), "XGBoosterCreate");
  std::unique_ptr<void, int (*)(BoosterHandle)> own(h, XGBoosterFree);
  xgb_check(XGBoosterLoadModelFromBuffer(h, model_json.data(), model_json.size()), "XGBoosterLoadModelFromBuffer");
  const nlohmann::json config = {{"importance_type", "gain"}, {"feature_names", names}};
  bst_ulong n = 0, dim = 0;
  const char** feats = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  xgb_check(XGBoosterFeatureScore(h, config.dump().c_str(), &n, &feats, &dim, &shape, &scores),
            "XGBoosterFeatureScore");
  // Features never split on are left out of XGBoost's answer.
  std::vector<double> gain(names.size(), 0.0);
  for (bst_ulong i = 0; i < n; ++i) {
    const auto it = std::find(names.begin(), names.end(), std::string(feats[i]));
    if (it != names.end()) gain[static_cast<std::size_t>(it - names.begin())] = scores[i];
  }
  return gain;
}

void record_ranker(const std::string& model_dir, const std::string& name, const std::vector<std::string>& names,
                   const Booster& model, const RankData& valid, std::size_t k) {
  const std::string path = model_dir + "/ranker-report.json";
  try {
    nlohmann::json entry = {{"name", name},
                            {"features", names},
                            {"gain", gain_importance(model.save(), names)},
                            {"k", k},
                            {"valid_questions", valid.groups.size()}};
    if (!valid.groups.empty()) {
      // The pool's own order: rows come best-first from the pool.
      std::vector<float> pool_order(valid.label.size());
      std::size_t row = 0;
      for (auto n : valid.groups)
        for (std::uint32_t i = 0; i < n; ++i) pool_order[row++] = -static_cast<float>(i);
      entry["ndcg_model"] = held_out_ndcg(valid, model.predict(valid), k);
      entry["ndcg_pool"] = held_out_ndcg(valid, pool_order, k);
    }
    nlohmann::json doc = {{"run", run_stamp()}, {"models", nlohmann::json::array()}};
    if (std::filesystem::exists(path)) {
      try {
        std::ifstream in(path);
        auto old = nlohmann::json::parse(in);
        if (old.value("run", "") == run_stamp())
          for (auto& m : old.at("models"))
            if (m.value("name", "") != name) doc["models"].push_back(m);
      } catch (const std::exception&) {
        // An unreadable old report is replaced.
      }
    }
    doc["models"].push_back(entry);
    make_dirs(model_dir);
    AtomicFile f(path);
    f.write(doc.dump(1) + "\n");
    f.commit();
  } catch (const std::exception& e) {
    log::warn(path + ": reranker report not written: " + e.what());
  }
}

std::vector<RankerReport> read_ranker_report(const std::string& path) {
  std::ifstream in(path);
  MELON_CHECK(in, path << ": cannot open");
  std::vector<RankerReport> out;
  try {
    const auto doc = nlohmann::json::parse(in);
    for (auto& m : doc.at("models")) {
      RankerReport r;
      r.name = m.at("name").get<std::string>();
      r.features = m.at("features").get<std::vector<std::string>>();
      r.gain = m.at("gain").get<std::vector<double>>();
      r.k = m.at("k").get<std::size_t>();
      r.valid_questions = m.at("valid_questions").get<std::size_t>();
      r.ndcg_model = m.value("ndcg_model", -1.0);
      r.ndcg_pool = m.value("ndcg_pool", -1.0);
      MELON_CHECK(r.gain.size() == r.features.size(), path << ": model " << r.name << ": " << r.gain.size()
                                                           << " gains for " << r.features.size() << " features");
      out.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not a reranker report: " + e.what());
  }
  return out;
}

}  // namespace melon::rank

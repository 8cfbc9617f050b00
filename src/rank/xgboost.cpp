#include "melon/rank/xgboost.hpp"

#include <xgboost/c_api.h>

#include <bit>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>

#include "melon/error.hpp"

namespace melon::rank {
namespace {

// XGBoost's messages start with a timestamp and end with a multi-line stack
// trace; melon reports errors as one line, so keep only the message itself.
std::string clean_message(const char* raw) {
  std::string s = raw ? raw : "";
  if (auto cut = s.find("Stack trace:"); cut != std::string::npos) s.erase(cut);
  if (s.size() > 11 && s[0] == '[' && s[3] == ':' && s[6] == ':' && s[9] == ']' && s[10] == ' ') s.erase(0, 11);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s.empty() ? "unknown error" : s;
}

void check(int rc, const char* call) {
  if (rc != 0) MELON_THROW("xgboost: " << call << " failed: " << clean_message(XGBGetLastError()));
}

// The one place a C call's status is looked at: XGB(XGBoosterCreate, dmats, 1, &h).
#define XGB(fn, ...) check(fn(__VA_ARGS__), #fn)

struct FreeMatrix {
  void operator()(DMatrixHandle h) const noexcept { XGDMatrixFree(h); }
};
using Matrix = std::unique_ptr<void, FreeMatrix>;

// XGBoost rejects infinities with "contains inf or nan", which reads wrongly
// when NaN is our missing marker; name the cell instead.
void check_finite_or_missing(const float* x, std::size_t rows, int n_features, const char* what) {
  const std::size_t n = rows * static_cast<std::size_t>(n_features);
  for (std::size_t i = 0; i < n; ++i)
    MELON_CHECK(!std::isinf(x[i]), what << ": feature value at row " << i / n_features << ", column " << i % n_features
                                        << " is infinite (NaN is the missing marker)");
}

Matrix make_matrix(const float* x, std::size_t rows, int n_features, int threads) {
  DMatrixHandle h = nullptr;
  XGB(XGDMatrixCreateFromMat_omp, x, rows, static_cast<bst_ulong>(n_features), kMissing, &h, threads);
  return Matrix(h);
}

Matrix make_matrix(const RankData& d, int threads) {
  Matrix m = make_matrix(d.x.data(), d.rows(), d.n_features, threads);
  XGB(XGDMatrixSetFloatInfo, m.get(), "label", d.label.data(), d.label.size());
  static_assert(sizeof(unsigned) == sizeof(std::uint32_t));
  XGB(XGDMatrixSetUIntInfo, m.get(), "group", d.groups.data(), d.groups.size());
  return m;
}

std::string num(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

void validate_options(const BoosterOptions& o, int log_every) {
  MELON_CHECK(o.rounds >= 1, "xgboost: rounds must be >= 1, got " << o.rounds);
  MELON_CHECK(o.threads >= 1, "xgboost: threads must be >= 1, got " << o.threads);
  MELON_CHECK(log_every >= 1, "xgboost: log_every must be >= 1, got " << log_every);
  MELON_CHECK(!o.objective.empty(), "xgboost: empty objective");
}

}  // namespace

// ---- RankData ----

std::size_t RankData::rows() const { return n_features > 0 ? x.size() / static_cast<std::size_t>(n_features) : 0; }

void RankData::append_group(std::span<const float> features, std::span<const float> labels) {
  MELON_CHECK(n_features >= 1, "rank data: set n_features (>= 1) before appending groups");
  MELON_CHECK(!labels.empty(), "rank data: empty group (a query needs at least one candidate)");
  MELON_CHECK(features.size() == labels.size() * static_cast<std::size_t>(n_features),
              "rank data: group has " << labels.size() << " labels but " << features.size()
                                      << " feature values (expected " << labels.size() << " x " << n_features << ")");
  MELON_CHECK(labels.size() <= std::numeric_limits<std::uint32_t>::max(), "rank data: group too large");
  x.insert(x.end(), features.begin(), features.end());
  label.insert(label.end(), labels.begin(), labels.end());
  groups.push_back(static_cast<std::uint32_t>(labels.size()));
}

void RankData::validate() const {
  MELON_CHECK(n_features >= 1, "rank data: n_features must be >= 1, got " << n_features);
  MELON_CHECK(x.size() % static_cast<std::size_t>(n_features) == 0,
              "rank data: x has " << x.size() << " values, not a whole number of rows of " << n_features);
  const std::size_t n = rows();
  MELON_CHECK(n >= 1, "rank data: no rows");
  MELON_CHECK(label.size() == n, "rank data: label size mismatch: " << label.size() << " labels for " << n << " rows");
  std::uint64_t sum = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    // XGBoost takes empty groups silently; here they only hide a bookkeeping bug.
    MELON_CHECK(groups[g] > 0, "rank data: group " << g << " is empty");
    sum += groups[g];
  }
  MELON_CHECK(sum == n, "rank data: groups sum to " << sum << " rows but the data has " << n << " rows");
  for (std::size_t i = 0; i < n; ++i)
    MELON_CHECK(std::isfinite(label[i]), "rank data: label of row " << i << " is not finite");
  check_finite_or_missing(x.data(), n, n_features, "rank data");
}

// ---- Booster ----

void Booster::Free::operator()(void* h) const noexcept { XGBoosterFree(h); }

Booster::Booster(void* handle, int n_features, int threads)
    : handle_(handle), n_features_(n_features), threads_(threads) {}

Booster Booster::train(const RankData& d, const BoosterOptions& o, const RankData* valid, const ProgressFn& progress,
                       int log_every) {
  validate_options(o, log_every);
  d.validate();
  if (valid) {
    valid->validate();
    MELON_CHECK(valid->n_features == d.n_features,
                "xgboost: validation data has " << valid->n_features << " features, training data " << d.n_features);
  }

  Matrix train_m = make_matrix(d, o.threads);
  Matrix valid_m = valid ? make_matrix(*valid, o.threads) : Matrix();

  // Both matrices are registered at creation so XGBoost keeps their
  // predictions cached between rounds instead of recomputing them per eval.
  DMatrixHandle cache[2] = {train_m.get(), valid_m.get()};
  BoosterHandle raw = nullptr;
  XGB(XGBoosterCreate, cache, valid ? 2 : 1, &raw);
  Booster b(raw, d.n_features, o.threads);

  // XGBoost's seed is a signed 64-bit parameter; keep every bit of ours.
  const std::int64_t seed = std::bit_cast<std::int64_t>(o.seed);
  const std::pair<const char*, std::string> params[] = {
      {"verbosity", "1"},            // warnings only: training progress goes through `progress`
      {"validate_parameters", "1"},  // a misspelt parameter warns instead of vanishing
      {"booster", "gbtree"},
      {"tree_method", "hist"},
      {"nthread", std::to_string(o.threads)},
      {"seed", std::to_string(seed)},
      {"objective", o.objective},
      {"eval_metric", o.eval_metric},
      {"eta", num(o.eta)},
      {"max_depth", std::to_string(o.max_depth)},
      {"min_child_weight", num(o.min_child_weight)},
      {"subsample", num(o.subsample)},
      {"colsample_bytree", num(o.colsample_bytree)},
      {"lambda", num(o.lambda)},
  };
  for (const auto& [k, v] : params) XGB(XGBoosterSetParam, b.handle_.get(), k, v.c_str());

  for (int i = 0; i < o.rounds; ++i) {
    // XGBoost checks the parameter values here, on the first round.
    XGB(XGBoosterUpdateOneIter, b.handle_.get(), i, train_m.get());
    const int done = i + 1;
    if (!progress || (done % log_every != 0 && done != o.rounds)) continue;
    std::string eval;
    if (valid) {
      DMatrixHandle mats[1] = {valid_m.get()};
      const char* names[1] = {"valid"};
      const char* out = nullptr;
      XGB(XGBoosterEvalOneIter, b.handle_.get(), done, mats, names, 1, &out);
      eval = out ? out : "";
    }
    if (!progress(done, eval)) break;
  }
  return b;
}

Booster Booster::load(const std::string& bytes, int threads) {
  MELON_CHECK(threads >= 1, "xgboost: threads must be >= 1, got " << threads);
  MELON_CHECK(!bytes.empty(), "xgboost: cannot load a model from empty bytes");
  // Only the JSON that save() writes gets through to XGBoost: its readers of the
  // legacy binary and UBJSON formats take lengths from the bytes unchecked, so
  // garbage can ask for exabytes (std::bad_alloc, or an abort under ASan).
  const auto first = bytes.find_first_not_of(" \t\r\n");
  const auto second = first == std::string::npos ? first : bytes.find_first_not_of(" \t\r\n", first + 1);
  MELON_CHECK(second != std::string::npos && bytes[first] == '{' && bytes[second] == '"',
              "xgboost: not a saved model (expected XGBoost's JSON model, " << bytes.size() << " bytes given)");
  BoosterHandle raw = nullptr;
  XGB(XGBoosterCreate, nullptr, 0, &raw);
  Booster b(raw, 0, threads);
  XGB(XGBoosterLoadModelFromBuffer, b.handle_.get(), bytes.data(), bytes.size());
  XGB(XGBoosterSetParam, b.handle_.get(), "nthread", std::to_string(threads).c_str());
  XGB(XGBoosterSetParam, b.handle_.get(), "verbosity", "1");
  bst_ulong nf = 0;
  XGB(XGBoosterGetNumFeature, b.handle_.get(), &nf);
  MELON_CHECK(nf >= 1 && nf <= static_cast<bst_ulong>(std::numeric_limits<int>::max()),
              "xgboost: loaded model has " << nf << " features");
  b.n_features_ = static_cast<int>(nf);
  return b;
}

std::string Booster::save() const {
  bst_ulong len = 0;
  const char* data = nullptr;
  XGB(XGBoosterSaveModelToBuffer, handle_.get(), R"({"format": "json"})", &len, &data);
  // The buffer belongs to XGBoost and is reused by its next call: copy now.
  return std::string(data, len);
}

std::vector<float> Booster::predict(const float* x, std::size_t rows, int n_features) const {
  MELON_CHECK(n_features == n_features_,
              "xgboost: predict got " << n_features << " features per row, the model has " << n_features_);
  if (rows == 0) return {};
  MELON_CHECK(x != nullptr, "xgboost: predict got no feature data for " << rows << " rows");
  check_finite_or_missing(x, rows, n_features, "predict");

  Matrix m = make_matrix(x, rows, n_features, threads_);
  // type 0: the objective's output, for rank:* the raw score (no transform).
  const char* config =
      R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  XGB(XGBoosterPredictFromDMatrix, handle_.get(), m.get(), config, &shape, &dim, &out);
  bst_ulong total = 1;
  for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
  // One output per row is what a ranking objective gives; anything else means
  // a model of another kind (e.g. multi-class) was loaded.
  MELON_CHECK(total == rows,
              "xgboost: model gives " << total << " outputs for " << rows << " rows (not a one-score-per-row model)");
  return std::vector<float>(out, out + rows);
}

Booster Booster::first_rounds(int rounds) const {
  MELON_CHECK(rounds >= 1, "xgboost: first_rounds needs at least one round, got " << rounds);
  BoosterHandle raw = nullptr;
  XGB(XGBoosterSlice, handle_.get(), 0, rounds, 1, &raw);
  Booster b(raw, n_features_, threads_);
  XGB(XGBoosterSetParam, b.handle_.get(), "nthread", std::to_string(threads_).c_str());
  return b;
}

}  // namespace melon::rank

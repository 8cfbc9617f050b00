#pragma once
// Learning to rank with XGBoost (its C API, Debian's libxgboost 1.7), behind a
// small RAII wrapper: training data grouped by query, a Booster that trains,
// scores, saves and loads. Every XGBoost failure becomes a melon::Error that
// names the C call and carries XGBoost's own message (without its stack trace).
//
// Training runs on the calling process only: XGBoost's distributed mode is not
// used, so under MPI each rank that calls train() fits its own model.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace melon::rank {

// A missing feature value: the features write it, XGBoost is told it.
inline constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

// Rows grouped by query: the rows of group g are contiguous and groups follow
// each other in order, as XGBoost's rank objectives expect.
struct RankData {
  int n_features = 0;
  std::vector<float> x;               // rows x n_features, row-major; NaN = missing
  std::vector<float> label;           // one per row: relevance (0 = irrelevant, higher = better)
  std::vector<std::uint32_t> groups;  // rows per query, in order; sums to rows()

  // Rows as the feature matrix counts them (x.size() / n_features).
  std::size_t rows() const;
  // Appends one query's candidates: `features` holds labels.size() rows of
  // n_features values. Throws melon::Error on a size mismatch or an empty group.
  void append_group(std::span<const float> features, std::span<const float> labels);
  // Throws melon::Error naming the first inconsistency: n_features < 1, x not a
  // whole number of rows, label count != rows, groups not summing to rows, an
  // empty group, a non-finite label or an infinite feature value, no rows.
  void validate() const;
};

struct BoosterOptions {
  std::string objective = "rank:ndcg";
  int rounds = 200;
  double eta = 0.1;
  int max_depth = 6;
  double min_child_weight = 1;
  double subsample = 1.0;
  double colsample_bytree = 1.0;
  double lambda = 1.0;
  std::string eval_metric = "ndcg@100";
  int threads = 1;  // XGBoost's OpenMP threads (>= 1); explicit so MPI ranks don't oversubscribe
  std::uint64_t seed = 0;
};

// Called after round `round` (1-based count of rounds done) with XGBoost's
// evaluation line for the validation set ("[50]\tvalid-ndcg@100:0.81..."),
// or an empty string when train() got no validation set. Returns whether to
// go on: false ends training after this round (early stopping).
using ProgressFn = std::function<bool(int round, const std::string& eval)>;

// Owns one XGBoost booster. Move-only. Calls on one Booster from several
// threads at once are not promised safe (XGBoost returns results in buffers it
// owns); give each thread its own, e.g. load() from the same bytes.
class Booster {
 public:
  // Trains `o.rounds` rounds of the histogram method on d (validated first),
  // fewer when `progress` says stop. When set it is called after every
  // `log_every` rounds and after the last one, with `valid` (same n_features, validated) evaluated by
  // o.eval_metric. Same data, options, seed and threads give the same model bytes.
  static Booster train(const RankData& d, const BoosterOptions& o, const RankData* valid = nullptr,
                       const ProgressFn& progress = {}, int log_every = 50);

  // From save()'s bytes. The thread count is not part of a saved model, so it
  // is given here (XGBoost would otherwise take every core).
  // Throws melon::Error on bytes that are not a model.
  static Booster load(const std::string& bytes, int threads = 1);

  // The model as XGBoost's JSON document (hyper-parameters of the objective
  // included, run settings such as the thread count not).
  std::string save() const;

  // One score per row of the row-major `x` (NaN = missing); higher ranks first.
  // n_features must equal the model's: XGBoost itself would silently accept
  // fewer columns. rows == 0 returns an empty vector.
  std::vector<float> predict(const float* x, std::size_t rows, int n_features) const;
  std::vector<float> predict(const RankData& d) const { return predict(d.x.data(), d.rows(), d.n_features); }

  // The first `rounds` trees as a model of their own (early stopping: keep
  // the rounds that served the validation set best).
  Booster first_rounds(int rounds) const;

  int n_features() const { return n_features_; }
  int threads() const { return threads_; }

  Booster(Booster&&) noexcept = default;
  Booster& operator=(Booster&&) noexcept = default;
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  ~Booster() = default;

 private:
  struct Free {
    void operator()(void* h) const noexcept;
  };
  Booster(void* handle, int n_features, int threads);

  std::unique_ptr<void, Free> handle_;
  int n_features_ = 0;
  int threads_ = 1;
};

}  // namespace melon::rank

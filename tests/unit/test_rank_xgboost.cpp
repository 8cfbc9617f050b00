// The XGBoost learning-to-rank wrapper: that it learns, is deterministic,
// round-trips through save/load, takes missing values, and rejects bad input
// with a melon::Error that says what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "melon/error.hpp"
#include "melon/rank/xgboost.hpp"

using namespace melon;
using namespace melon::rank;

namespace {

constexpr int kFeatures = 5;
constexpr int kCandidates = 30;
constexpr int kRelevant = 3;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Candidates whose hidden score w . x[0..3] (plus a little noise) is among the
// group's top kRelevant are relevant; feature 4 is pure noise the model must ignore.
RankData synthetic(int queries, std::uint32_t seed) {
  const double w[4] = {1.0, -0.7, 0.5, 0.3};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  RankData d;
  d.n_features = kFeatures;
  for (int q = 0; q < queries; ++q) {
    std::vector<float> x(kCandidates * kFeatures);
    std::vector<double> score(kCandidates);
    for (int c = 0; c < kCandidates; ++c) {
      for (int f = 0; f < kFeatures; ++f) x[c * kFeatures + f] = normal(rng);
      score[c] = 0.1 * normal(rng);
      for (int f = 0; f < 4; ++f) score[c] += w[f] * x[c * kFeatures + f];
    }
    std::vector<int> order(kCandidates);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return score[a] > score[b]; });
    std::vector<float> label(kCandidates, 0.f);
    for (int i = 0; i < kRelevant; ++i) label[order[i]] = 1.f;
    d.append_group(x, label);
  }
  return d;
}

// Binary-relevance nDCG@k of one group ranked by `score` (descending).
double ndcg_at(const float* score, const float* label, std::size_t n, std::size_t k) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  double dcg = 0, idcg = 0;
  std::size_t relevant = 0;
  for (std::size_t i = 0; i < n; ++i) relevant += label[i] > 0;
  for (std::size_t i = 0; i < std::min(k, n); ++i) dcg += label[order[i]] / std::log2(i + 2.0);
  for (std::size_t i = 0; i < std::min(k, relevant); ++i) idcg += 1 / std::log2(i + 2.0);
  return idcg > 0 ? dcg / idcg : 0;
}

double mean_ndcg_at(const RankData& d, const std::vector<float>& score, std::size_t k) {
  double sum = 0;
  std::size_t start = 0;
  for (std::uint32_t g : d.groups) {
    sum += ndcg_at(score.data() + start, d.label.data() + start, g, k);
    start += g;
  }
  return sum / d.groups.size();
}

BoosterOptions quick_options() {
  BoosterOptions o;
  o.rounds = 30;
  o.max_depth = 4;
  o.eta = 0.3;
  o.threads = 2;
  o.seed = 7;
  return o;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no melon::Error>";
}

#define EXPECT_ERROR_MENTIONS(stmt, text)                                 \
  do {                                                                    \
    const std::string msg_ = error_of([&] { stmt; });                     \
    EXPECT_NE(msg_.find(text), std::string::npos) << "message: " << msg_; \
  } while (0)

}  // namespace

TEST(RankXgboost, LearnsARankingThatBeatsRandomOrderOnHeldOutQueries) {
  const RankData train = synthetic(200, 1), test = synthetic(100, 2);
  const Booster b = Booster::train(train, quick_options());
  const double model = mean_ndcg_at(test, b.predict(test), 10);

  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  std::vector<float> random_score(test.rows());
  for (float& s : random_score) s = uniform(rng);
  const double random = mean_ndcg_at(test, random_score, 10);

  // With 3 relevant of 30, a random order scores about 0.25; the hidden linear
  // rule is easy for 30 rounds of depth-4 trees.
  EXPECT_GT(model, 0.8) << "random " << random;
  EXPECT_GT(model, random + 0.4) << "model " << model;
}

TEST(RankXgboost, SameDataOptionsSeedAndThreadsGiveByteIdenticalModels) {
  const RankData train = synthetic(60, 11), test = synthetic(10, 12);
  BoosterOptions o = quick_options();
  o.subsample = 0.8;  // sampling on, so the seed matters
  o.colsample_bytree = 0.8;
  const Booster a = Booster::train(train, o), b = Booster::train(train, o);
  EXPECT_EQ(a.save(), b.save());
  EXPECT_EQ(a.predict(test), b.predict(test));

  o.seed = 8;
  const Booster c = Booster::train(train, o);
  EXPECT_NE(a.save(), c.save()) << "the seed should drive row and column sampling";
}

TEST(RankXgboost, SaveLoadRoundTripKeepsPredictionsAndBytes) {
  const RankData train = synthetic(60, 21), test = synthetic(10, 22);
  const Booster a = Booster::train(train, quick_options());
  const std::string bytes = a.save();
  EXPECT_EQ(bytes.front(), '{');  // JSON, readable by any XGBoost binding
  const Booster b = Booster::load(bytes, 2);
  EXPECT_EQ(b.n_features(), kFeatures);
  EXPECT_EQ(a.predict(test), b.predict(test));
  EXPECT_EQ(b.save(), bytes);
}

TEST(RankXgboost, FirstRoundsEqualsAModelTrainedForThatManyRounds) {
  const RankData train = synthetic(60, 23), test = synthetic(10, 24);
  auto o = quick_options();
  const Booster full = Booster::train(train, o);
  ASSERT_GT(o.rounds, 3);
  const int k = o.rounds / 2;
  o.rounds = k;
  const Booster shorter = Booster::train(train, o);
  const Booster cut = full.first_rounds(k);
  EXPECT_EQ(cut.predict(test), shorter.predict(test));
  EXPECT_NE(cut.predict(test), full.predict(test));
  EXPECT_THROW(full.first_rounds(0), melon::Error);
}

TEST(RankXgboost, BoosterIsMovable) {
  Booster a = Booster::train(synthetic(20, 31), quick_options());
  const RankData test = synthetic(5, 32);
  const std::vector<float> want = a.predict(test);
  Booster b = std::move(a);
  EXPECT_EQ(b.predict(test), want);
  a = std::move(b);
  EXPECT_EQ(a.predict(test), want);
}

TEST(RankXgboost, MissingValuesAreAcceptedInTrainingAndPrediction) {
  RankData train = synthetic(60, 41);
  std::mt19937 rng(42);
  std::bernoulli_distribution drop(0.2);
  for (std::size_t r = 0; r < train.rows(); ++r) {
    train.x[r * kFeatures + 4] = kNaN;  // a column never seen: the model still has 5 features
    for (int f = 0; f < 4; ++f)
      if (drop(rng)) train.x[r * kFeatures + f] = kNaN;
  }
  const Booster b = Booster::train(train, quick_options());
  EXPECT_EQ(Booster::load(b.save()).n_features(), kFeatures);

  std::vector<float> rows(3 * kFeatures, 0.5f);
  rows[1] = kNaN;
  std::fill(rows.begin() + 2 * kFeatures, rows.end(), kNaN);  // a row with nothing known
  const std::vector<float> s = b.predict(rows.data(), 3, kFeatures);
  ASSERT_EQ(s.size(), 3u);
  for (float v : s) EXPECT_TRUE(std::isfinite(v));
  EXPECT_GT(mean_ndcg_at(train, b.predict(train), 10), 0.6);
}

TEST(RankXgboost, PredictingNoRowsReturnsEmpty) {
  const Booster b = Booster::train(synthetic(10, 51), quick_options());
  EXPECT_TRUE(b.predict(nullptr, 0, kFeatures).empty());
}

TEST(RankXgboost, ProgressGetsValidationMetricEveryLogEveryRoundsAndAtTheEnd) {
  const RankData train = synthetic(30, 61), valid = synthetic(10, 62);
  BoosterOptions o = quick_options();
  o.rounds = 12;
  std::vector<int> rounds;
  std::vector<std::string> evals;
  Booster::train(
      train, o, &valid,
      [&](int r, const std::string& e) {
        rounds.push_back(r);
        evals.push_back(e);
        return true;
      },
      5);
  EXPECT_EQ(rounds, (std::vector<int>{5, 10, 12}));
  for (const std::string& e : evals) EXPECT_NE(e.find("valid-ndcg@100:"), std::string::npos) << e;
  EXPECT_EQ(evals.back().rfind("[12]", 0), 0u) << evals.back();

  rounds.clear();
  evals.clear();
  Booster::train(
      train, o, nullptr,
      [&](int r, const std::string& e) {
        rounds.push_back(r);
        evals.push_back(e);
        return true;
      },
      5);
  EXPECT_EQ(rounds, (std::vector<int>{5, 10, 12}));
  EXPECT_EQ(evals, (std::vector<std::string>(3, "")));
}

TEST(RankXgboost, ProgressSayingStopEndsTrainingAfterThatRound) {
  const RankData train = synthetic(30, 63), valid = synthetic(10, 64);
  BoosterOptions o = quick_options();
  o.rounds = 12;
  std::vector<int> rounds;
  const Booster stopped = Booster::train(
      train, o, &valid,
      [&](int r, const std::string&) {
        rounds.push_back(r);
        return r < 6;
      },
      3);
  EXPECT_EQ(rounds, (std::vector<int>{3, 6}));
  o.rounds = 6;
  const Booster six = Booster::train(train, o);
  o.rounds = 12;
  const Booster twelve = Booster::train(train, o);
  EXPECT_EQ(stopped.predict(valid), six.predict(valid));
  EXPECT_NE(stopped.predict(valid), twelve.predict(valid));
}

TEST(RankXgboost, RejectsGroupsNotSummingToRows) {
  RankData d = synthetic(5, 71);
  d.groups.back() -= 1;
  EXPECT_ERROR_MENTIONS(Booster::train(d, quick_options()), "groups sum to 149 rows but the data has 150");
  d.groups.back() += 2;
  EXPECT_ERROR_MENTIONS(Booster::train(d, quick_options()), "groups sum to 151");
  d.groups.clear();
  EXPECT_ERROR_MENTIONS(Booster::train(d, quick_options()), "groups sum to 0");
}

TEST(RankXgboost, RejectsLabelSizeMismatch) {
  RankData d = synthetic(5, 81);
  d.label.pop_back();
  EXPECT_ERROR_MENTIONS(Booster::train(d, quick_options()), "label size mismatch: 149 labels for 150 rows");
}

TEST(RankXgboost, RejectsOtherMalformedTrainingData) {
  RankData d = synthetic(5, 91);
  RankData bad = d;
  bad.label[7] = kNaN;
  EXPECT_ERROR_MENTIONS(Booster::train(bad, quick_options()), "label of row 7 is not finite");
  bad = d;
  bad.x[2 * kFeatures + 3] = std::numeric_limits<float>::infinity();
  EXPECT_ERROR_MENTIONS(Booster::train(bad, quick_options()), "row 2, column 3 is infinite");
  bad = d;
  bad.x.pop_back();
  EXPECT_ERROR_MENTIONS(Booster::train(bad, quick_options()), "not a whole number of rows");
  bad = d;
  bad.groups.insert(bad.groups.begin() + 1, 0);
  EXPECT_ERROR_MENTIONS(Booster::train(bad, quick_options()), "group 1 is empty");
  RankData empty;
  empty.n_features = kFeatures;
  EXPECT_ERROR_MENTIONS(Booster::train(empty, quick_options()), "no rows");
  EXPECT_ERROR_MENTIONS(d.append_group(std::vector<float>(7), std::vector<float>(2)), "2 labels but 7 feature values");

  RankData valid = synthetic(2, 92);
  valid.n_features = 4;
  valid.x.resize(valid.label.size() * 4);
  EXPECT_ERROR_MENTIONS(Booster::train(d, quick_options(), &valid), "validation data has 4 features");
}

TEST(RankXgboost, XgboostParameterErrorsNameTheFailingCall) {
  BoosterOptions o = quick_options();
  o.eta = -1;
  const std::string msg = error_of([&] { Booster::train(synthetic(5, 101), o); });
  EXPECT_NE(msg.find("XGBoosterUpdateOneIter"), std::string::npos) << msg;
  EXPECT_NE(msg.find("learning_rate"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("Stack trace"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;

  o = quick_options();
  o.objective = "rank:nonsense";
  EXPECT_ERROR_MENTIONS(Booster::train(synthetic(5, 102), o), "rank:nonsense");
}

TEST(RankXgboost, PredictRejectsWrongFeatureCount) {
  const Booster b = Booster::train(synthetic(10, 111), quick_options());
  std::vector<float> x(2 * 4, 0.f);
  EXPECT_ERROR_MENTIONS(b.predict(x.data(), 2, 4), "predict got 4 features per row, the model has 5");
  std::vector<float> wide(2 * 6, 0.f);
  EXPECT_ERROR_MENTIONS(b.predict(wide.data(), 2, 6), "predict got 6 features per row");
  std::vector<float> inf(kFeatures, std::numeric_limits<float>::infinity());
  EXPECT_ERROR_MENTIONS(b.predict(inf.data(), 1, kFeatures), "is infinite");
}

TEST(RankXgboost, LoadRejectsBytesThatAreNotAModel) {
  EXPECT_ERROR_MENTIONS(Booster::load(""), "empty bytes");
  EXPECT_ERROR_MENTIONS(Booster::load("hello, not a model"), "not a saved model");
  // Bytes XGBoost would read as its legacy binary format, with a garbage length inside.
  EXPECT_ERROR_MENTIONS(Booster::load(std::string(500, '\x01')), "not a saved model");
  EXPECT_ERROR_MENTIONS(Booster::load("{"), "not a saved model");
  EXPECT_ERROR_MENTIONS(Booster::load(R"({"learner": 3})"), "XGBoosterLoadModelFromBuffer");
  const std::string bytes = Booster::train(synthetic(5, 121), quick_options()).save();
  EXPECT_ERROR_MENTIONS(Booster::load(bytes.substr(0, bytes.size() / 2)), "XGBoosterLoadModelFromBuffer");
  EXPECT_ERROR_MENTIONS(Booster::load(bytes, 0), "threads must be >= 1");
}

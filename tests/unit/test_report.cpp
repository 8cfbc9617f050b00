// The run report's builders: well-formed markup, titles and axis labels on
// every plot, escaping; the training curve's segments; the reranker's report.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "melon/rank/report_data.hpp"
#include "melon/report/report.hpp"
#include "melon/report/svg.hpp"
#include "melon/train/curve.hpp"
#include "melon/train/trainer.hpp"

namespace fs = std::filesystem;
using namespace melon;

namespace {

// A tiny well-formedness check: every element closed in order (or written
// self-closed), quoted attributes, no raw '<' or bare '&' in text.
::testing::AssertionResult well_formed(const std::string& s) {
  std::vector<std::string> open;
  std::size_t i = 0;
  auto text_ok = [&](std::size_t a, std::size_t b) {
    for (std::size_t k = a; k < b; ++k) {
      if (s[k] != '&') continue;
      const std::string_view rest(s.data() + k, b - k);
      bool entity = false;
      for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"}) entity = entity || rest.starts_with(e);
      if (!entity) return false;
    }
    return true;
  };
  while (i < s.size()) {
    const auto lt = s.find('<', i);
    if (!text_ok(i, lt == std::string::npos ? s.size() : lt))
      return ::testing::AssertionFailure() << "bare '&' in text near " << i;
    if (lt == std::string::npos) break;
    if (s.compare(lt, 9, "<!DOCTYPE") == 0) {
      i = s.find('>', lt) + 1;
      continue;
    }
    // The tag's end: the first '>' outside quotes.
    std::size_t k = lt + 1;
    bool quoted = false;
    for (; k < s.size() && (quoted || s[k] != '>'); ++k) {
      if (s[k] == '"') quoted = !quoted;
      if (s[k] == '<') return ::testing::AssertionFailure() << "'<' inside a tag at " << k;
    }
    if (k >= s.size()) return ::testing::AssertionFailure() << "unterminated tag at " << lt;
    const std::string tag = s.substr(lt + 1, k - lt - 1);
    if (tag.empty()) return ::testing::AssertionFailure() << "empty tag at " << lt;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name)
        return ::testing::AssertionFailure()
               << "</" << name << "> closes <" << (open.empty() ? "" : open.back()) << "> at " << lt;
      open.pop_back();
    } else if (tag.back() != '/') {
      const std::string name = tag.substr(0, tag.find_first_of(" \n\t"));
      if (name == "meta" || name == "br") return ::testing::AssertionFailure() << "<" << name << "> not self-closed";
      open.push_back(name);
    }
    i = k + 1;
  }
  if (!open.empty()) return ::testing::AssertionFailure() << "<" << open.back() << "> never closed";
  return ::testing::AssertionSuccess();
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// A plot has its <title>, its heading and both axis labels.
void expect_frame(const std::string& svg, const report::Axes& a) {
  EXPECT_TRUE(well_formed(svg));
  EXPECT_NE(svg.find("<title>" + report::escape(a.title) + "</title>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"plot-title\""), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"axis-label"), 2u);
  EXPECT_NE(svg.find(">" + report::escape(a.x_label) + "</text>"), std::string::npos);
  EXPECT_NE(svg.find(">" + report::escape(a.y_label) + "</text>"), std::string::npos);
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("melon-report-" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(ReportSvg, EscapesMarkupCharacters) {
  EXPECT_EQ(report::escape("<b>&\"'x"), "&lt;b&gt;&amp;&quot;&#39;x");
  EXPECT_EQ(report::num(0.25), "0.25");
  EXPECT_EQ(report::num(std::nan("")), "n/a");
}

TEST(ReportSvg, WellFormedCheckCatchesBrokenMarkup) {
  EXPECT_TRUE(well_formed("<a><b x=\"1 > 0\"/>t &amp; u</a>"));
  EXPECT_FALSE(well_formed("<a><b></a>"));
  EXPECT_FALSE(well_formed("<a>x & y</a>"));
  EXPECT_FALSE(well_formed("<a><b>"));
}

TEST(ReportSvg, LinePlotHasFrameMarksAndEscapedNames) {
  report::LinePlot p;
  p.axes = {"held <b>&", "step", "score \"x\""};
  p.series.push_back({"<b>&", {1, 2, 3}, {0.1, 0.3, 0.2}, false});
  p.series.push_back({"run 2", {3, 4}, {0.2, std::nan("")}, true});
  p.rules.push_back({3, "resumed at step 3"});
  p.marks.push_back({2, 0.3, "best: epoch 2"});
  const auto svg = report::line_plot(p);
  expect_frame(svg, p.axes);
  EXPECT_EQ(svg.find("<b>&"), std::string::npos);
  EXPECT_NE(svg.find("&lt;b&gt;&amp;"), std::string::npos);
  EXPECT_NE(svg.find("resumed at step 3"), std::string::npos);
  EXPECT_NE(svg.find("best: epoch 2"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  EXPECT_EQ(count(svg, "<circle cx"), 5u);  // 4 finite points + the best-epoch ring
}

TEST(ReportSvg, GroupedBarsOneBarPerFiniteValueWithHoverNumbers) {
  report::GroupedBars b;
  b.axes = {"score per type", "question type", "score"};
  b.groups = {"all", "songs only"};
  b.series = {"melon", "<b>&"};
  b.values = {{0.3, 0.4}, {0.2, std::nan("")}};
  const auto svg = report::grouped_bars(b);
  expect_frame(svg, b.axes);
  EXPECT_EQ(count(svg, "<rect x=\"") - 1, 3u);  // minus the background
  EXPECT_NE(svg.find("<title>melon, songs only: score 0.4</title>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;b&gt;&amp;, all"), std::string::npos);
}

TEST(ReportSvg, HBarsAndScatterAreWellFormed) {
  report::HBars h;
  h.axes = {"importance", "gain", "feature"};
  h.names = {"rank:<src>", "score"};
  h.values = {3.5, 1};
  expect_frame(report::hbars(h), h.axes);
  report::Scatter s;
  s.axes = {"songs", "component 1", "component 2"};
  s.classes = {"GN0100 <ballad>", "other"};
  s.points = {{0, 1, 0, "song 1"}, {2, -1, 1, "song <2>"}};
  const auto svg = report::scatter(s);
  expect_frame(svg, s.axes);
  EXPECT_EQ(count(svg, "<circle"), 2u);
  EXPECT_NE(svg.find("song &lt;2&gt;"), std::string::npos);
  EXPECT_TRUE(well_formed(report::table({"a<", "b"}, {{"1&", "2"}})));
}

TEST(ReportPage, EmptyWorkFolderGivesEverySectionANote) {
  TempDir d;
  const auto html = report::build_report(report::for_work(d.path.string()));
  EXPECT_TRUE(well_formed(html));
  for (auto id : {"scores", "training", "pca", "reranker", "run"})
    EXPECT_NE(html.find(std::string("<section id=\"") + id + "\">"), std::string::npos) << id;
  EXPECT_EQ(count(html, "not available: "), 5u);
}

TEST(ReportPage, ScoresJsonGivesThreeBarChartsAndATable) {
  TempDir d;
  std::ofstream(d.path / "scores.json")
      << R"({"b<&>": {"overall": {"song_ndcg": 0.2, "tag_ndcg": 0.4, "score": 0.23, "questions": 10},)"
      << R"( "by_type": {"songs only": {"song_ndcg": 0.3, "tag_ndcg": 0.5, "score": 0.33, "questions": 6}}},)"
      << R"( "a": {"overall": {"song_ndcg": 0.1, "tag_ndcg": 0.2, "score": 0.13, "questions": 10}, "by_type": {}}})";
  const auto html = report::build_report(report::for_work(d.path.string()));
  EXPECT_TRUE(well_formed(html));
  EXPECT_EQ(count(html, "per question type</title>"), 3u);
  EXPECT_NE(html.find("<td>b&lt;&amp;&gt;</td>"), std::string::npos);
  EXPECT_LT(html.find("b&lt;&amp;&gt;"), html.find("<td>a</td>"));  // the file's order, not sorted
  EXPECT_EQ(count(html, "not available: "), 4u);
}

TEST(TrainCurve, ResumeStartsASegmentAndDropsReplayedEpochs) {
  TempDir d;
  const auto dir = d.path.string();
  auto point = [](std::int64_t step, std::int64_t epoch, std::int64_t resumed_from, double score) {
    train::EpochReport rep;
    rep.epoch = epoch;
    rep.song_loss = 1.0 / step, rep.tag_loss = 2.0 / step, rep.val_score = score;
    return train::curve_point(rep, step, resumed_from, 10, 2.0, 0.5, 2.0);
  };
  train::append_curve(dir, point(10, 1, -1, 0.1));
  train::append_curve(dir, point(20, 2, -1, 0.2));
  train::append_curve(dir, point(30, 3, -1, 0.25));  // killed after this; last checkpoint at 20
  train::append_curve(dir, point(30, 3, 20, 0.26));
  train::append_curve(dir, point(40, 4, 20, 0.3));
  auto c = train::read_curve(dir + "/curve.json");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[1].segment, 0);
  EXPECT_EQ(c[2].segment, 1);
  EXPECT_EQ(c[2].resumed_from, 20);
  EXPECT_DOUBLE_EQ(c[2].val_score, 0.26);
  EXPECT_DOUBLE_EQ(c[3].steps_per_s, 5.0);
  EXPECT_DOUBLE_EQ(c[3].allreduce_share, 0.25);
  // A second resume from the same checkpoint replaces the first one's epochs
  // (the abandoned segment is gone, so the new one takes its number).
  train::append_curve(dir, point(30, 3, 20, 0.27));
  c = train::read_curve(dir + "/curve.json");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[2].segment, 1);
  EXPECT_DOUBLE_EQ(c[2].val_score, 0.27);
  report::ReportInputs in = report::for_work(d.path.string());
  in.checkpoint_dir = dir;
  const auto page = report::build_report(in);
  EXPECT_TRUE(well_formed(page));
  EXPECT_NE(page.find("resumed at step 20"), std::string::npos);
  EXPECT_NE(page.find("best: epoch 3"), std::string::npos);
  EXPECT_NE(page.find("Held-out score during training</title>"), std::string::npos);
  // A fresh run in the same folder starts over.
  train::append_curve(dir, point(10, 1, -1, 0.1));
  EXPECT_EQ(train::read_curve(dir + "/curve.json").size(), 1u);
}

TEST(TrainCurve, TheRefitsLossesAreDrawnBesideTheFirstRunAndABadRefitCurveCostsOnlyANote) {
  TempDir d;
  const auto dir = d.path.string();
  auto point = [](std::int64_t step, std::int64_t epoch, double score) {
    train::EpochReport rep;
    rep.epoch = epoch;
    rep.song_loss = 1.0 / step, rep.tag_loss = 2.0 / step, rep.val_score = score;
    return train::curve_point(rep, step, -1, 10, 2.0, 0.5, 2.0);
  };
  train::append_curve(dir, point(10, 1, 0.1));
  train::append_curve(dir, point(20, 2, 0.2));
  report::ReportInputs in = report::for_work(dir);
  in.checkpoint_dir = dir;
  auto page = report::build_report(in);
  EXPECT_EQ(page.find("refit: songs"), std::string::npos);  // no refit ran
  std::filesystem::create_directories(d.path / "refit");
  for (std::int64_t e = 1; e <= 3; ++e) train::append_curve(dir + "/refit", point(12 * e, e, -1));
  page = report::build_report(in);
  EXPECT_TRUE(well_formed(page));
  EXPECT_NE(page.find("refit: songs"), std::string::npos);
  EXPECT_NE(page.find("refit: tags"), std::string::npos);
  EXPECT_EQ(count(page, "<td>refit</td>"), 3u);
  EXPECT_NE(page.find("The refit's 3 epochs"), std::string::npos);
  std::ofstream(d.path / "refit" / "curve.json") << "{not json";
  page = report::build_report(in);
  EXPECT_TRUE(well_formed(page));
  EXPECT_NE(page.find("The refit's curve was not drawn: "), std::string::npos);
  EXPECT_NE(page.find("Held-out score during training</title>"), std::string::npos);
  EXPECT_EQ(count(page, "<td>refit</td>"), 0u);
}

TEST(RankerReport, GainImportanceAndHeldOutNdcgRoundTrip) {
  TempDir d;
  rank::RankData data;
  data.n_features = 2;
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(0, 1);
  for (int q = 0; q < 40; ++q) {
    std::vector<float> x, y;
    for (int r = 0; r < 8; ++r) {
      const float good = u(g), noise = u(g);
      x.push_back(good), x.push_back(noise);
      y.push_back(good > 0.7f ? 1.0f : 0.0f);
    }
    if (std::count(y.begin(), y.end(), 1.0f) == 0) y[0] = 1, x[0] = 0.9f;
    data.append_group(x, y);
  }
  rank::BoosterOptions o;
  o.rounds = 10;
  const auto b = rank::Booster::train(data, o);
  const std::vector<std::string> names{"good <x>", "noise"};
  const auto gain = rank::gain_importance(b.save(), names);
  ASSERT_EQ(gain.size(), 2u);
  EXPECT_GT(gain[0], gain[1]);
  rank::record_ranker(d.path.string(), "songs", names, b, data, 5);
  rank::record_ranker(d.path.string(), "tags", names, b, rank::RankData{2, {}, {}, {}}, 3);
  const auto r = rank::read_ranker_report((d.path / "ranker-report.json").string());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "songs");
  EXPECT_EQ(r[0].valid_questions, 40u);
  EXPECT_GT(r[0].ndcg_model, r[0].ndcg_pool);
  EXPECT_EQ(r[1].ndcg_model, -1);
  report::ReportInputs in = report::for_work(d.path.string());
  in.model_dir = d.path.string();
  const auto page = report::build_report(in);
  EXPECT_TRUE(well_formed(page));
  EXPECT_NE(page.find("Feature importance: songs model"), std::string::npos);
  EXPECT_NE(page.find("good &lt;x&gt;"), std::string::npos);
}

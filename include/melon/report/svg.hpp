#pragma once
// Plots as inline SVG for the run report (report.hpp): no script, no network,
// readable in any browser. Every plot is a <figure> whose <svg> carries a
// <title>, a heading and two axis labels (class "axis-label"); every mark
// carries a <title> with its numbers, which browsers show on hover. All text
// is escaped, so names such as "<b>&" are safe.
#include <string>
#include <string_view>
#include <vector>

namespace melon::report {

// Text for an HTML/SVG text node or a quoted attribute value.
std::string escape(std::string_view s);
// A number for labels and tables: up to `digits` significant digits, no
// trailing zeros, "n/a" when not finite.
std::string num(double v, int digits = 4);

// The figure's frame: what every plot has.
struct Axes {
  std::string title, x_label, y_label;
};

struct Series {
  std::string name;
  std::vector<double> x, y;
  bool dashed = false;
};

// A vertical rule across the plot at x (a resume, the best epoch).
struct Rule {
  double x = 0;
  std::string label;
};

// A marked point (drawn as a ring), e.g. the best epoch.
struct Mark {
  double x = 0, y = 0;
  std::string label;
};

struct LinePlot {
  Axes axes;
  std::vector<Series> series;
  std::vector<Rule> rules;
  std::vector<Mark> marks;
  bool y_from_zero = false;
};
std::string line_plot(const LinePlot& p);

// Bars in groups along x (one group per category, one bar per series).
struct GroupedBars {
  Axes axes;
  std::vector<std::string> groups;          // categories on the x axis
  std::vector<std::string> series;          // one bar of each per group, one colour each
  std::vector<std::vector<double>> values;  // [series][group]; NaN = no bar
};
std::string grouped_bars(const GroupedBars& p);

// One horizontal bar per name (names read on the y axis), longest first as given.
struct HBars {
  Axes axes;
  std::vector<std::string> names;
  std::vector<double> values;
  std::string unit;  // appended to the numbers on hover
};
std::string hbars(const HBars& p);

struct ScatterPoint {
  double x = 0, y = 0;
  int cls = 0;  // index into classes
  std::string tip;
};
struct Scatter {
  Axes axes;
  std::vector<std::string> classes;  // legend, one colour each
  std::vector<ScatterPoint> points;
};
std::string scatter(const Scatter& p);

// An HTML table; cells are escaped.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

}  // namespace melon::report

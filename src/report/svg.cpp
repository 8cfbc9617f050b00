#include "melon/report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace melon::report {

namespace {

// Tableau 10: distinct in colour and lightness, so series stay apart when printed grey.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
const char* colour(std::size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }

constexpr double kW = 760, kH = 360, kTop = 44, kBottom = 56, kLeft = 74;

std::string f(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

struct Range {
  double lo = 0, hi = 1;
};

Range range_of(const std::vector<double>& v, bool from_zero) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!(lo <= hi)) return {0, 1};
  if (from_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (hi - lo < 1e-12) {
    const double pad = std::abs(hi) > 0 ? std::abs(hi) * 0.1 : 1;
    lo -= pad, hi += pad;
  }
  return {lo, hi};
}

// Round tick values covering r (about `want` of them), and r widened to them.
std::vector<double> ticks(Range& r, int want = 5) {
  const double span = r.hi - r.lo, raw = span / want, mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  r.lo = std::floor(r.lo / step + 1e-9) * step;
  r.hi = std::ceil(r.hi / step - 1e-9) * step;
  std::vector<double> t;
  for (double v = r.lo; v <= r.hi + step * 1e-6; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return t;
}

// The frame: opening tag, title, heading, axis labels. The plot area is
// [x0, x1] x [y0, y1] in SVG units (y1 at the top).
struct Frame {
  double x0, x1, y0, y1, w, h;
  std::ostringstream o;
  Frame(const Axes& a, double left, double right, double height = kH) : w(kW), h(height) {
    x0 = left, x1 = kW - right, y1 = kTop, y0 = height - kBottom;
    o << "<figure class=\"plot\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << f(w) << "\" height=\"" << f(h)
      << "\" viewBox=\"0 0 " << f(w) << " " << f(h) << "\" role=\"img\" font-family=\"sans-serif\">"
      << "<title>" << escape(a.title) << "</title>"
      << "<rect x=\"0\" y=\"0\" width=\"" << f(w) << "\" height=\"" << f(h) << "\" fill=\"#ffffff\"/>"
      << "<text class=\"plot-title\" x=\"" << f(w / 2) << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
      << "font-weight=\"bold\">" << escape(a.title) << "</text>"
      << "<text class=\"axis-label x-label\" x=\"" << f((x0 + x1) / 2) << "\" y=\"" << f(h - 12)
      << "\" text-anchor=\"middle\" font-size=\"13\">" << escape(a.x_label) << "</text>"
      << "<text class=\"axis-label y-label\" x=\"0\" y=\"0\" transform=\"translate(16 " << f((y0 + y1) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" << escape(a.y_label) << "</text>";
  }
  void y_axis(Range r, const std::vector<double>& t) {
    for (double v : t) {
      const double y = sy(r, v);
      o << "<line x1=\"" << f(x0) << "\" x2=\"" << f(x1) << "\" y1=\"" << f(y) << "\" y2=\"" << f(y)
        << "\" stroke=\"#e4e4e4\"/><text x=\"" << f(x0 - 6) << "\" y=\"" << f(y + 4)
        << "\" text-anchor=\"end\" font-size=\"11\">" << escape(num(v)) << "</text>";
    }
    axis_lines();
  }
  void x_axis(Range r, const std::vector<double>& t) {
    for (double v : t) {
      const double x = sx(r, v);
      o << "<line x1=\"" << f(x) << "\" x2=\"" << f(x) << "\" y1=\"" << f(y0) << "\" y2=\"" << f(y0 + 5)
        << "\" stroke=\"#444\"/><text x=\"" << f(x) << "\" y=\"" << f(y0 + 18)
        << "\" text-anchor=\"middle\" font-size=\"11\">" << escape(num(v)) << "</text>";
    }
  }
  void axis_lines() {
    o << "<line x1=\"" << f(x0) << "\" x2=\"" << f(x1) << "\" y1=\"" << f(y0) << "\" y2=\"" << f(y0)
      << "\" stroke=\"#444\"/><line x1=\"" << f(x0) << "\" x2=\"" << f(x0) << "\" y1=\"" << f(y0) << "\" y2=\"" << f(y1)
      << "\" stroke=\"#444\"/>";
  }
  double sx(Range r, double v) const { return x0 + (v - r.lo) / (r.hi - r.lo) * (x1 - x0); }
  double sy(Range r, double v) const { return y0 - (v - r.lo) / (r.hi - r.lo) * (y0 - y1); }
  // Legend in the right margin, one swatch per entry.
  void legend(const std::vector<std::string>& names, const std::vector<bool>& dashed = {}) {
    double y = y1 + 4;
    for (std::size_t i = 0; i < names.size(); ++i, y += 18) {
      const bool d = i < dashed.size() && dashed[i];
      o << "<line x1=\"" << f(x1 + 12) << "\" x2=\"" << f(x1 + 30) << "\" y1=\"" << f(y) << "\" y2=\"" << f(y)
        << "\" stroke=\"" << colour(i) << "\" stroke-width=\"4\"" << (d ? " stroke-dasharray=\"4 3\"" : "")
        << "/><text x=\"" << f(x1 + 35) << "\" y=\"" << f(y + 4) << "\" font-size=\"11\">" << escape(names[i])
        << "</text>";
    }
  }
  std::string done() {
    o << "</svg></figure>\n";
    return o.str();
  }
};

double legend_width(const std::vector<std::string>& names) {
  std::size_t n = 0;
  for (auto& s : names) n = std::max(n, s.size());
  return std::min(260.0, 48.0 + 6.2 * static_cast<double>(n));
}

}  // namespace

std::string escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  return o;
}

std::string num(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  char b[48];
  std::snprintf(b, sizeof b, "%.*g", digits, v);
  return b;
}

std::string line_plot(const LinePlot& p) {
  std::vector<double> xs, ys;
  std::vector<std::string> names;
  std::vector<bool> dashed;
  for (auto& s : p.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    names.push_back(s.name);
    dashed.push_back(s.dashed);
  }
  for (auto& r : p.rules) xs.push_back(r.x);
  Range rx = range_of(xs, false), ry = range_of(ys, p.y_from_zero);
  const auto tx = ticks(rx, 6), ty = ticks(ry);
  Frame fr(p.axes, kLeft, legend_width(names));
  fr.y_axis(ry, ty);
  fr.x_axis(rx, tx);
  for (auto& r : p.rules) {
    const double x = fr.sx(rx, r.x);
    fr.o << "<g class=\"rule\"><title>" << escape(r.label) << "</title><line x1=\"" << f(x) << "\" x2=\"" << f(x)
         << "\" y1=\"" << f(fr.y0) << "\" y2=\"" << f(fr.y1) << "\" stroke=\"#888\" stroke-width=\"1.5\" "
         << "stroke-dasharray=\"6 4\"/><text x=\"" << f(x + 4) << "\" y=\"" << f(fr.y1 + 12)
         << "\" font-size=\"11\" fill=\"#555\">" << escape(r.label) << "</text></g>";
  }
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    auto& s = p.series[i];
    fr.o << "<g class=\"series\"><title>" << escape(s.name) << "</title>";
    std::string pts;
    for (std::size_t k = 0; k < s.x.size() && k < s.y.size(); ++k)
      if (std::isfinite(s.x[k]) && std::isfinite(s.y[k])) {
        if (!pts.empty()) pts += ' ';
        pts += f(fr.sx(rx, s.x[k]));
        pts += ',';
        pts += f(fr.sy(ry, s.y[k]));
      }
    if (!pts.empty())
      fr.o << "<polyline fill=\"none\" stroke=\"" << colour(i) << "\" stroke-width=\"2\""
           << (s.dashed ? " stroke-dasharray=\"6 3\"" : "") << " points=\"" << pts << "\"/>";
    for (std::size_t k = 0; k < s.x.size() && k < s.y.size(); ++k)
      if (std::isfinite(s.x[k]) && std::isfinite(s.y[k]))
        fr.o << "<circle cx=\"" << f(fr.sx(rx, s.x[k])) << "\" cy=\"" << f(fr.sy(ry, s.y[k])) << "\" r=\"3.5\" fill=\""
             << colour(i) << "\"><title>" << escape(s.name) << ": " << escape(p.axes.x_label) << " " << num(s.x[k], 8)
             << ", " << escape(p.axes.y_label) << " " << num(s.y[k], 6) << "</title></circle>";
    fr.o << "</g>";
  }
  for (auto& m : p.marks) {
    const double x = fr.sx(rx, m.x), y = fr.sy(ry, m.y);
    fr.o << "<g class=\"mark\"><title>" << escape(m.label) << "</title><circle cx=\"" << f(x) << "\" cy=\"" << f(y)
         << "\" r=\"8\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\"/><text x=\"" << f(x) << "\" y=\""
         << f(y - 12) << "\" text-anchor=\"middle\" font-size=\"11\" fill=\"#d62728\">" << escape(m.label)
         << "</text></g>";
  }
  fr.legend(names, dashed);
  return fr.done();
}

std::string grouped_bars(const GroupedBars& p) {
  std::vector<double> all;
  for (auto& v : p.values) all.insert(all.end(), v.begin(), v.end());
  Range ry = range_of(all, true);
  const auto ty = ticks(ry);
  Frame fr(p.axes, kLeft, legend_width(p.series));
  fr.y_axis(ry, ty);
  const double gw = (fr.x1 - fr.x0) / std::max<std::size_t>(1, p.groups.size());
  const double bw = gw * 0.8 / std::max<std::size_t>(1, p.series.size());
  for (std::size_t g = 0; g < p.groups.size(); ++g) {
    const double gx = fr.x0 + g * gw;
    fr.o << "<text x=\"" << f(gx + gw / 2) << "\" y=\"" << f(fr.y0 + 18)
         << "\" text-anchor=\"middle\" font-size=\"11\">" << escape(p.groups[g]) << "</text>";
    for (std::size_t s = 0; s < p.series.size(); ++s) {
      const double v = g < p.values[s].size() ? p.values[s][g] : std::nan("");
      if (!std::isfinite(v)) continue;
      const double y = fr.sy(ry, v), base = fr.sy(ry, 0);
      fr.o << "<rect x=\"" << f(gx + gw * 0.1 + s * bw) << "\" y=\"" << f(std::min(y, base)) << "\" width=\""
           << f(std::max(1.0, bw - 1)) << "\" height=\"" << f(std::abs(base - y)) << "\" fill=\"" << colour(s)
           << "\"><title>" << escape(p.series[s]) << ", " << escape(p.groups[g]) << ": " << escape(p.axes.y_label)
           << " " << num(v, 6) << "</title></rect>";
    }
  }
  fr.axis_lines();
  fr.legend(p.series);
  return fr.done();
}

std::string hbars(const HBars& p) {
  std::size_t longest = 0;
  for (auto& n : p.names) longest = std::max(longest, n.size());
  const double left = std::min(300.0, 24.0 + 6.4 * static_cast<double>(longest));
  const double row = 18, height = kTop + kBottom + row * std::max<std::size_t>(1, p.names.size());
  Range rx = range_of(p.values, true);
  const auto tx = ticks(rx);
  Frame fr(p.axes, left, 40, height);
  for (double v : tx) {
    const double x = fr.sx(rx, v);
    fr.o << "<line x1=\"" << f(x) << "\" x2=\"" << f(x) << "\" y1=\"" << f(fr.y0) << "\" y2=\"" << f(fr.y1)
         << "\" stroke=\"#e4e4e4\"/>";
  }
  fr.x_axis(rx, tx);
  for (std::size_t i = 0; i < p.names.size(); ++i) {
    const double y = fr.y1 + i * row, v = i < p.values.size() ? p.values[i] : 0;
    const double x = fr.sx(rx, std::isfinite(v) ? v : 0), base = fr.sx(rx, 0);
    fr.o << "<text x=\"" << f(fr.x0 - 6) << "\" y=\"" << f(y + row * 0.7) << "\" text-anchor=\"end\" font-size=\"11\">"
         << escape(p.names[i]) << "</text><rect x=\"" << f(std::min(x, base)) << "\" y=\"" << f(y + 2) << "\" width=\""
         << f(std::abs(x - base)) << "\" height=\"" << f(row - 4) << "\" fill=\"" << colour(0) << "\"><title>"
         << escape(p.names[i]) << ": " << num(v, 6) << escape(p.unit) << "</title></rect>";
  }
  fr.axis_lines();
  return fr.done();
}

std::string scatter(const Scatter& p) {
  std::vector<double> xs, ys;
  for (auto& q : p.points) xs.push_back(q.x), ys.push_back(q.y);
  Range rx = range_of(xs, false), ry = range_of(ys, false);
  const auto tx = ticks(rx, 6), ty = ticks(ry);
  Frame fr(p.axes, kLeft, legend_width(p.classes), 440);
  fr.y_axis(ry, ty);
  fr.x_axis(rx, tx);
  for (auto& q : p.points) {
    if (!std::isfinite(q.x) || !std::isfinite(q.y)) continue;
    fr.o << "<circle cx=\"" << f(fr.sx(rx, q.x)) << "\" cy=\"" << f(fr.sy(ry, q.y)) << "\" r=\"2.6\" fill=\""
         << colour(static_cast<std::size_t>(std::max(0, q.cls))) << "\" fill-opacity=\"0.75\"><title>" << escape(q.tip)
         << "</title></circle>";
  }
  fr.legend(p.classes);
  return fr.done();
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream o;
  o << "<table><thead><tr>";
  for (auto& h : header) o << "<th>" << escape(h) << "</th>";
  o << "</tr></thead><tbody>";
  for (auto& r : rows) {
    o << "<tr>";
    for (auto& c : r) o << "<td>" << escape(c) << "</td>";
    o << "</tr>";
  }
  o << "</tbody></table>\n";
  return o.str();
}

}  // namespace melon::report

#include "bench/load/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "reports/escape.h"

namespace attestlab::load {
namespace {

using reports::escape_xml;

// The plot area inside each chart.
constexpr double kWidth = 640;
constexpr double kHeight = 260;
constexpr double kLeft = 64;
constexpr double kRight = 16;
constexpr double kTop = 42;  // title, then the legend row
constexpr double kBottom = 44;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr double kPlotH = kHeight - kTop - kBottom;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A linear (or log10) map of [low, high] onto [from, to].
struct Scale {
  double low = 0;
  double high = 1;
  double from = 0;
  double to = 1;
  bool log = false;
  double operator()(double v) const {
    double a = low, b = high;
    if (log) {
      v = std::log10(std::max(v, 1e-12));
      a = std::log10(std::max(a, 1e-12));
      b = std::log10(std::max(b, 1e-12));
    }
    const double t = b > a ? (v - a) / (b - a) : 0.5;
    return from + std::clamp(t, 0.0, 1.0) * (to - from);
  }
};

std::string open_svg(const std::string& name, const std::string& title, double height) {
  std::ostringstream s;
  s << "<svg class=\"plot " << escape_xml(name) << "\" xmlns=\"http://www.w3.org/2000/svg\" "
    << "width=\"" << num(kWidth) << "\" height=\"" << num(height) << "\" viewBox=\"0 0 "
    << num(kWidth) << " " << num(height) << "\" role=\"img\" aria-label=\"" << escape_xml(title)
    << "\"><title>" << escape_xml(title) << "</title>"
    << "<text class=\"chart-title\" x=\"" << num(kLeft) << "\" y=\"18\" font-size=\"14\" "
    << "font-weight=\"600\">" << escape_xml(title) << "</text>";
  return s.str();
}

// Grid lines, tick labels and axis labels for a plot area with these scales.
std::string axes(const Scale& x, const std::vector<double>& x_ticks, const Scale& y,
                 const std::vector<double>& y_ticks, const std::string& x_label,
                 const std::string& y_label) {
  std::ostringstream s;
  s << "<g class=\"axes\" font-size=\"11\" fill=\"#444\">";
  for (double t : y_ticks) {
    const double py = y(t);
    s << "<line x1=\"" << num(kLeft) << "\" x2=\"" << num(kLeft + kPlotW) << "\" y1=\"" << num(py)
      << "\" y2=\"" << num(py) << "\" stroke=\"#e0e0e0\"/><text x=\"" << num(kLeft - 6) << "\" y=\""
      << num(py + 4) << "\" text-anchor=\"end\">" << short_number(t) << "</text>";
  }
  for (double t : x_ticks) {
    const double px = x(t);
    s << "<line x1=\"" << num(px) << "\" x2=\"" << num(px) << "\" y1=\"" << num(kTop + kPlotH)
      << "\" y2=\"" << num(kTop + kPlotH + 4) << "\" stroke=\"#444\"/><text x=\"" << num(px)
      << "\" y=\"" << num(kTop + kPlotH + 16) << "\" text-anchor=\"middle\">" << short_number(t)
      << "</text>";
  }
  s << "<rect x=\"" << num(kLeft) << "\" y=\"" << num(kTop) << "\" width=\"" << num(kPlotW)
    << "\" height=\"" << num(kPlotH) << "\" fill=\"none\" stroke=\"#888\"/>";
  s << "<text x=\"" << num(kLeft + kPlotW / 2) << "\" y=\"" << num(kHeight - 8)
    << "\" text-anchor=\"middle\">" << escape_xml(x_label) << "</text>";
  s << "<text transform=\"translate(14," << num(kTop + kPlotH / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape_xml(y_label) << "</text></g>";
  return s.str();
}

std::string legend(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::ostringstream s;
  double x = kWidth - kRight;
  // Right-aligned: place from the right edge leftwards.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    x -= 20 + 7.0 * static_cast<double>(it->first.size());
    s << "<g class=\"legend\"><rect x=\"" << num(x) << "\" y=\"25\" width=\"12\" height=\"10\" "
      << "fill=\"" << escape_xml(it->second) << "\"/><text x=\"" << num(x + 15)
      << "\" y=\"34\" font-size=\"11\">" << escape_xml(it->first) << "</text></g>";
  }
  return s.str();
}

bool finite(double v) {
  return std::isfinite(v);
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int target) {
  if (!finite(low) || !finite(high) || high <= low || target < 1) return {low};
  const double raw = (high - low) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(low / step) * step; t <= high + step * 1e-9 && ticks.size() < 50;
       t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string short_number(double v) {
  char buf[32];
  const double a = std::abs(v);
  if (!finite(v)) return "?";
  if (a >= 1e6) {
    std::snprintf(buf, sizeof buf, "%gM", std::round(v / 1e5) / 10);
  } else if (a >= 1e4) {
    std::snprintf(buf, sizeof buf, "%gk", std::round(v / 1e2) / 10);
  } else {
    std::snprintf(buf, sizeof buf, "%g", std::round(v * 1000) / 1000);
  }
  return buf;
}

std::string render_line_chart(const LineChart& c) {
  double x_max = 0, y_max = 0;
  for (const auto& s : c.series)
    for (const auto& [x, y] : s.points) {
      if (finite(x)) x_max = std::max(x_max, x);
      if (finite(y)) y_max = std::max(y_max, y);
    }
  if (x_max <= 0) x_max = 1;
  if (y_max <= 0) y_max = 1;
  auto y_ticks = nice_ticks(0, y_max * 1.05);
  const double y_top = std::max(y_ticks.back(), y_max);
  auto x_ticks = nice_ticks(0, x_max, 8);
  const Scale sx{0, x_max, kLeft, kLeft + kPlotW};
  const Scale sy{0, y_top, kTop + kPlotH, kTop};
  std::ostringstream s;
  s << open_svg(c.name, c.title, kHeight) << axes(sx, x_ticks, sy, y_ticks, c.x_label, c.y_label);
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& series : c.series) {
    std::string d;
    bool pen_down = false;
    for (const auto& [x, y] : series.points) {
      if (!finite(x) || !finite(y)) {
        pen_down = false;
        continue;
      }
      d += (pen_down ? " L" : (d.empty() ? "M" : " M")) + num(sx(x)) + " " + num(sy(y));
      pen_down = true;
    }
    entries.emplace_back(series.name, series.color);
    s << "<path class=\"series\" data-series=\"" << escape_xml(series.name) << "\" d=\"" << d
      << "\" fill=\"none\" stroke=\"" << escape_xml(series.color)
      << "\" stroke-width=\"1.8\"><title>" << escape_xml(series.name) << "</title></path>";
    // A lone point would draw nothing as a path: mark every point with a dot.
    for (const auto& [x, y] : series.points) {
      if (!finite(x) || !finite(y)) continue;
      s << "<circle cx=\"" << num(sx(x)) << "\" cy=\"" << num(sy(y)) << "\" r=\"2\" fill=\""
        << escape_xml(series.color) << "\"><title>" << escape_xml(series.name) << " at "
        << short_number(x) << ": " << short_number(y) << "</title></circle>";
    }
  }
  s << legend(entries) << "</svg>";
  return s.str();
}

std::string render_column_chart(const ColumnChart& c) {
  double x_low = std::numeric_limits<double>::infinity(), x_high = 0, y_max = 0;
  for (const auto& col : c.columns) {
    if (!finite(col.low) || !finite(col.high) || !finite(col.value)) continue;
    if (c.log_x && col.low <= 0) continue;
    x_low = std::min(x_low, col.low);
    x_high = std::max(x_high, col.high);
    y_max = std::max(y_max, col.value);
  }
  if (!finite(x_low) || x_high <= x_low) {
    x_low = c.log_x ? 1 : 0;
    x_high = x_low * 10 + 1;
  }
  if (y_max <= 0) y_max = 1;
  auto y_ticks = nice_ticks(0, y_max * 1.05);
  const double y_top = std::max(y_ticks.back(), y_max);
  std::vector<double> x_ticks;
  if (c.log_x) {
    for (double d = std::pow(10.0, std::floor(std::log10(x_low))); d <= x_high * 1.0001; d *= 10)
      for (double m : {1.0, 2.0, 5.0})
        if (m * d >= x_low && m * d <= x_high) x_ticks.push_back(m * d);
  } else {
    x_ticks = nice_ticks(x_low, x_high, 8);
  }
  const Scale sx{x_low, x_high, kLeft, kLeft + kPlotW, c.log_x};
  const Scale sy{0, y_top, kTop + kPlotH, kTop};
  std::ostringstream s;
  s << open_svg(c.name, c.title, kHeight) << axes(sx, x_ticks, sy, y_ticks, c.x_label, c.y_label);
  for (const auto& col : c.columns) {
    if (!finite(col.low) || !finite(col.high) || !finite(col.value) || col.value <= 0) continue;
    if (c.log_x && col.low <= 0) continue;
    const double x0 = sx(col.low), x1 = sx(col.high), y0 = sy(col.value);
    s << "<rect class=\"column\" x=\"" << num(x0) << "\" y=\"" << num(y0) << "\" width=\""
      << num(std::max(1.0, x1 - x0 - 0.5)) << "\" height=\"" << num(kTop + kPlotH - y0)
      << "\" fill=\"" << escape_xml(c.color) << "\"><title>" << escape_xml(col.tip)
      << "</title></rect>";
  }
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& m : c.markers) {
    if (!finite(m.x)) continue;
    const double px = sx(m.x);
    s << "<line class=\"marker\" x1=\"" << num(px) << "\" x2=\"" << num(px) << "\" y1=\""
      << num(kTop) << "\" y2=\"" << num(kTop + kPlotH) << "\" stroke=\"" << escape_xml(m.color)
      << "\" stroke-width=\"2\" stroke-dasharray=\"5 3\"><title>" << escape_xml(m.label)
      << "</title></line>";
    entries.emplace_back(m.label, m.color);
  }
  s << legend(entries) << "</svg>";
  return s.str();
}

std::string render_bar_chart(const BarChart& c) {
  const double row = 14.0 * static_cast<double>(std::max<std::size_t>(1, c.series.size())) + 8;
  const double height = kTop + row * static_cast<double>(c.groups.size()) + kBottom;
  double v_max = 0;
  for (const auto& g : c.groups)
    for (double v : g.values)
      if (finite(v)) v_max = std::max(v_max, v);
  if (v_max <= 0) v_max = 1;
  const double label_w = 110, bar_left = kLeft + label_w - 50, bar_w = kWidth - bar_left - 90;
  const Scale sx{0, v_max, bar_left, bar_left + bar_w};
  std::ostringstream s;
  s << open_svg(c.name, c.title, height) << "<g font-size=\"11\" fill=\"#222\">";
  double y = kTop;
  for (const auto& g : c.groups) {
    s << "<text x=\"" << num(bar_left - 6) << "\" y=\"" << num(y + row / 2 + 2)
      << "\" text-anchor=\"end\">" << escape_xml(g.label) << "</text>";
    for (std::size_t i = 0; i < g.values.size() && i < c.series.size(); ++i) {
      const double v = g.values[i];
      if (!finite(v)) continue;
      const double w = std::max(1.0, sx(v) - bar_left);
      const double by = y + 4 + 14.0 * static_cast<double>(i);
      const std::string color = i < c.colors.size() ? c.colors[i] : "#1565c0";
      s << "<rect class=\"bar\" x=\"" << num(bar_left) << "\" y=\"" << num(by) << "\" width=\""
        << num(w) << "\" height=\"12\" fill=\"" << escape_xml(color) << "\"><title>"
        << escape_xml(g.label + " " + c.series[i] + ": " + short_number(v) + " " + c.unit)
        << "</title></rect><text x=\"" << num(bar_left + w + 4) << "\" y=\"" << num(by + 10)
        << "\">" << short_number(v) << " " << escape_xml(c.unit) << "</text>";
    }
    y += row;
  }
  s << "<line x1=\"" << num(bar_left) << "\" x2=\"" << num(bar_left) << "\" y1=\"" << num(kTop)
    << "\" y2=\"" << num(y) << "\" stroke=\"#888\"/></g>";
  std::vector<std::pair<std::string, std::string>> entries;
  for (std::size_t i = 0; i < c.series.size(); ++i)
    entries.emplace_back(c.series[i], i < c.colors.size() ? c.colors[i] : "#1565c0");
  s << legend(entries) << "</svg>";
  return s.str();
}

}  // namespace attestlab::load

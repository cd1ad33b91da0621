// Small inline-SVG charts for the load report (bench/load/load_html.h): a line chart over
// time, a column chart (the latency distribution) and grouped horizontal bars (per-step
// p50/p99). Made by this code alone, so the page opens offline with no script.
//
// Every chart is one <svg class="plot NAME"> element with a <title>, axes with "nice"
// ticks (1, 2, 5 × 10^k), and a legend. Text is escaped; non-finite values are skipped.
// Pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace attestlab::load {

// A series of (x, y) points drawn as one <path class="series">; a point with a NaN y
// breaks the line (a gap, e.g. a second with no completion).
struct Series {
  std::string name;
  std::string color;  // CSS colour, e.g. "#1565c0"
  std::vector<std::pair<double, double>> points;
};

struct LineChart {
  std::string name;  // the svg's second class, e.g. "throughput"
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
};

// One column of a column chart: [low, high) on the x axis and its height.
struct Column {
  double low = 0;
  double high = 0;
  double value = 0;
  std::string tip;  // the <title> of its <rect>
};

// Vertical marks on a column chart (e.g. p50, p99), at an x value.
struct Marker {
  std::string label;
  std::string color;
  double x = 0;
};

struct ColumnChart {
  std::string name;
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;  // x axis on a log10 scale (low must be > 0)
  std::string color = "#1565c0";
  std::vector<Column> columns;
  std::vector<Marker> markers;
};

// Grouped horizontal bars: one group a row (e.g. a step), one bar a series (p50, p99).
struct BarGroup {
  std::string label;
  std::vector<double> values;  // one a series; the unit is the chart's
};

struct BarChart {
  std::string name;
  std::string title;
  std::string unit;                 // "ms"
  std::vector<std::string> series;  // legend names
  std::vector<std::string> colors;  // one a series
  std::vector<BarGroup> groups;
};

std::string render_line_chart(const LineChart& chart);
std::string render_column_chart(const ColumnChart& chart);
std::string render_bar_chart(const BarChart& chart);

// Tick positions over [low, high]: about `target` of them on a 1/2/5 × 10^k grid.
std::vector<double> nice_ticks(double low, double high, int target = 5);
// A number for a label: "0", "12", "1.5", "0.25", "1.2k", "3M".
std::string short_number(double v);

}  // namespace attestlab::load

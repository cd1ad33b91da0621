#include "bench/load/threshold.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace attestlab::load {
namespace {

Error bad(const std::string& text, const std::string& why) {
  return Error::make("malformed", "threshold \"" + text + "\": " + why);
}

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// A plain decimal number (no sign, no exponent, no hex): "300", "0.1", ".5".
std::optional<double> parse_number(const std::string& s) {
  if (s.empty() || s == ".") return std::nullopt;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      if (++dots > 1) return std::nullopt;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  return std::strtod(s.c_str(), nullptr);
}

std::string format(double v, int digits, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", digits, v, unit);
  return buf;
}

bool compare(double measured, Threshold::Op op, double limit) {
  switch (op) {
    case Threshold::Op::Less:
      return measured < limit;
    case Threshold::Op::LessOrEqual:
      return measured <= limit;
    case Threshold::Op::Greater:
      return measured > limit;
    case Threshold::Op::GreaterOrEqual:
      return measured >= limit;
  }
  return false;
}

}  // namespace

Result<Threshold> parse_threshold(const std::string& text) {
  Threshold t;
  t.expression = trim(text);
  const std::string& s = t.expression;
  const std::size_t op_at = s.find_first_of("<>");
  if (op_at == std::string::npos) return bad(text, "expected METRIC<VALUE or METRIC>VALUE");
  const std::string metric = trim(s.substr(0, op_at));
  std::size_t value_at = op_at + 1;
  const bool or_equal = value_at < s.size() && s[value_at] == '=';
  if (or_equal) ++value_at;
  t.op = s[op_at] == '<' ? (or_equal ? Threshold::Op::LessOrEqual : Threshold::Op::Less)
                         : (or_equal ? Threshold::Op::GreaterOrEqual : Threshold::Op::Greater);
  std::string value = trim(s.substr(value_at));
  if (value.find_first_of("<>=") != std::string::npos) return bad(text, "more than one comparison");

  // The number, then its unit.
  std::size_t unit_at = 0;
  while (unit_at < value.size() &&
         (std::isdigit(static_cast<unsigned char>(value[unit_at])) || value[unit_at] == '.'))
    ++unit_at;
  const auto number = parse_number(value.substr(0, unit_at));
  if (!number) return bad(text, "\"" + value + "\" does not start with a number");
  const std::string unit = trim(value.substr(unit_at));

  std::string percentile;
  if (metric.size() > 1 && metric[0] == 'p' && metric.rfind("p(", 0) == 0 && metric.back() == ')') {
    percentile = metric.substr(2, metric.size() - 3);
  } else if (metric.size() > 1 && metric[0] == 'p' &&
             std::isdigit(static_cast<unsigned char>(metric[1]))) {
    percentile = metric.substr(1);
  }
  const bool latency = !percentile.empty() || metric == "max" || metric == "mean";
  if (!percentile.empty()) {
    const auto p = parse_number(percentile);
    if (!p || *p <= 0 || *p > 100)
      return bad(text, "percentile \"" + percentile + "\" is not in (0, 100]");
    t.metric = Threshold::Metric::Percentile;
    t.percentile = *p;
  } else if (metric == "max") {
    t.metric = Threshold::Metric::Max;
  } else if (metric == "mean") {
    t.metric = Threshold::Metric::Mean;
  } else if (metric == "errors") {
    if (unit == "%") {
      t.metric = Threshold::Metric::ErrorShare;
    } else if (unit.empty()) {
      if (std::floor(*number) != *number) return bad(text, "an error count must be a whole number");
      t.metric = Threshold::Metric::ErrorCount;
    } else {
      return bad(text, "errors take a share (\"0.1%\") or a count (\"5\"), not \"" + unit + "\"");
    }
    t.limit = *number;
    return t;
  } else if (metric == "rate") {
    if (unit != "/s") return bad(text, "rate needs the unit /s (e.g. rate>50/s)");
    t.metric = Threshold::Metric::Rate;
    t.limit = *number;
    return t;
  } else {
    return bad(text, "unknown metric \"" + metric +
                         "\" (known: p50, p90, p95, p99, p99.9, p(N), max, mean, errors, rate)");
  }
  if (latency) {
    if (unit == "us" || unit == "\u00b5s") {
      t.limit = *number;
    } else if (unit == "ms") {
      t.limit = *number * 1e3;
    } else if (unit == "s") {
      t.limit = *number * 1e6;
    } else {
      return bad(text, "a latency needs a unit: us, ms or s");
    }
  }
  return t;
}

ThresholdOutcome evaluate_threshold(const Threshold& t, const LoadRun& run) {
  ThresholdOutcome out;
  out.expression = t.expression;
  const Histogram& h = run.stats.latency;
  double measured = 0;
  switch (t.metric) {
    case Threshold::Metric::Percentile:
    case Threshold::Metric::Max:
    case Threshold::Metric::Mean: {
      if (h.count() == 0) {
        out.measured = "n/a";
        return out;
      }
      measured = t.metric == Threshold::Metric::Max ? static_cast<double>(h.max())
                 : t.metric == Threshold::Metric::Mean
                     ? h.mean()
                     : static_cast<double>(h.percentile(t.percentile));
      out.measured = format(measured / 1e3, 1, "ms");
      break;
    }
    case Threshold::Metric::ErrorShare:
    case Threshold::Metric::ErrorCount:
    case Threshold::Metric::Rate: {
      const std::uint64_t offered = run.stats.completed + run.stats.failed + run.unfinished();
      if (offered == 0) {
        out.measured = "n/a";
        return out;
      }
      if (t.metric == Threshold::Metric::ErrorShare) {
        measured = run.error_share() * 100.0;
        out.measured = format(measured, 2, "%");
      } else if (t.metric == Threshold::Metric::ErrorCount) {
        measured = static_cast<double>(run.stats.failed + run.unfinished());
        out.measured = format(measured, 0, "");
      } else {
        measured = run.throughput();
        out.measured = format(measured, 1, "/s");
      }
      break;
    }
  }
  out.passed = compare(measured, t.op, t.limit);
  return out;
}

}  // namespace attestlab::load

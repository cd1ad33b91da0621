#include "bench/load/units.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace attestlab::load {
namespace {

// Splits "12.5ms" into 12.5 and "ms"; nullopt without a plain decimal number in front.
std::optional<std::pair<double, std::string>> number_and_unit(const std::string& text) {
  std::size_t i = 0;
  int dots = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    if (text[i] == '.' && ++dots > 1) return std::nullopt;
    ++i;
  }
  const std::string number = text.substr(0, i);
  if (number.empty() || number == ".") return std::nullopt;
  const double v = std::strtod(number.c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  return std::make_pair(v, text.substr(i));
}

}  // namespace

Result<std::chrono::duration<double>> parse_duration(const std::string& text) {
  auto parts = number_and_unit(text);
  if (!parts)
    return Error::make("malformed", "\"" + text + "\" is not a duration (e.g. 20s, 500ms, 2m)");
  const auto& [v, unit] = *parts;
  double seconds = 0;
  if (unit.empty() || unit == "s") {
    seconds = v;
  } else if (unit == "ms") {
    seconds = v / 1e3;
  } else if (unit == "m") {
    seconds = v * 60;
  } else if (unit == "h") {
    seconds = v * 3600;
  } else {
    return Error::make("malformed",
                       "\"" + text + "\": unknown time unit \"" + unit + "\" (ms, s, m, h)");
  }
  if (seconds > 366.0 * 24 * 3600)
    return Error::make("malformed", "\"" + text + "\" is longer than a year");
  return std::chrono::duration<double>(seconds);
}

Result<double> parse_rate(const std::string& text) {
  auto parts = number_and_unit(text);
  if (!parts) return Error::make("malformed", "\"" + text + "\" is not a rate (e.g. 20/s, 1200/m)");
  const auto& [v, unit] = *parts;
  double per_second = 0;
  if (unit.empty() || unit == "/s") {
    per_second = v;
  } else if (unit == "/m") {
    per_second = v / 60;
  } else {
    return Error::make("malformed",
                       "\"" + text + "\": a rate is per second (/s) or per minute (/m)");
  }
  if (!(per_second > 0))
    return Error::make("malformed", "\"" + text + "\": the rate must be positive");
  if (per_second > 1e6)
    return Error::make("malformed", "\"" + text + "\": more than a million a second");
  return per_second;
}

Result<std::pair<int, int>> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const auto whole = [](const std::string& s) -> std::optional<int> {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::atoi(s.c_str());
  };
  if (slash == std::string::npos)
    return Error::make("malformed", "--shard \"" + text + "\" is not i/n");
  const auto i = whole(text.substr(0, slash));
  const auto n = whole(text.substr(slash + 1));
  if (!i || !n || *n < 1 || *i < 1 || *i > *n)
    return Error::make("malformed", "--shard \"" + text + "\" is not i/n with 1 <= i <= n");
  return std::make_pair(*i - 1, *n);
}

}  // namespace attestlab::load

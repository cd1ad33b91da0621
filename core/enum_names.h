// An enum's names listed once, in one table, for both directions: writing a value's name
// and reading a name back (policy files, scenario files, result JSON).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attestlab {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

// The name of `value`; `fallback` for a value the table does not list.
template <class E, std::size_t N>
const char* name_of(const EnumName<E> (&names)[N], E value, const char* fallback) {
  for (const auto& n : names) {
    if (n.value == value) return n.name;
  }
  return fallback;
}

// The value named `name` (exact, case-sensitive), or nullopt.
template <class E, std::size_t N>
std::optional<E> value_named(const EnumName<E> (&names)[N], std::string_view name) {
  for (const auto& n : names) {
    if (name == n.name) return n.value;
  }
  return std::nullopt;
}

// Every name, in the table's order.
template <class E, std::size_t N>
std::vector<std::string> all_names(const EnumName<E> (&names)[N]) {
  std::vector<std::string> out;
  for (const auto& n : names) out.emplace_back(n.name);
  return out;
}

}  // namespace attestlab

// ASCII case folding for protocol tokens (HTTP header names, URL schemes and hosts):
// locale-independent, unlike std::tolower.
#pragma once

#include <cstddef>
#include <string_view>

namespace attestlab {

inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Equal but for the case of ASCII letters.
inline bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace attestlab

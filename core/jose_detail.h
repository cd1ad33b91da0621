// Internal helpers shared by jwk.cpp and jws.cpp; not part of the jose contract.
#pragma once

#include <string>

namespace attestlab::jose::detail {

// A client-supplied name (alg, kty, crv) for an error detail: quoted, cut short and
// reduced to printable ASCII, so the detail is always valid UTF-8 for a problem document.
inline std::string quoted(const std::string& text) {
  constexpr std::size_t kMax = 40;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const char c = text[i];
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > kMax) out += "...";
  return out + "\"";
}

}  // namespace attestlab::jose::detail

#include "server/attest/attest_text.h"

#include <cstdint>

namespace attestlab::server {
namespace {

bool is_c1_control(std::string_view s, std::size_t i, std::size_t len) {
  // U+0080..U+009F encode as C2 80..C2 9F.
  return len == 2 && static_cast<std::uint8_t>(s[i]) == 0xC2 &&
         static_cast<std::uint8_t>(s[i + 1]) <= 0x9F;
}

}  // namespace

bool is_printable_token(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    const auto b0 = static_cast<std::uint8_t>(s[i]);
    if (len == 1 && (b0 <= 0x20 || b0 == 0x7F)) return false;
    if (is_c1_control(s, i, len)) return false;
    i += len;
  }
  return true;
}

std::string clip_text(std::string_view s, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = utf8_sequence_length(s, i);
    const bool valid = len != 0;
    if (!valid) len = 1;
    if (out.size() + (valid ? len : 1) > max_bytes) {
      out += "...";
      return out;
    }
    if (valid) {
      out.append(s.substr(i, len));
    } else {
      out.push_back('?');
    }
    i += len;
  }
  return out;
}

}  // namespace attestlab::server

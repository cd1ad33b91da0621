#include "server/attest/attest_text.h"

#include <cstdint>

namespace attestlab::server {
namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 when it is not well formed.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const std::uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

bool is_c1_control(std::string_view s, std::size_t i, std::size_t len) {
  // U+0080..U+009F encode as C2 80..C2 9F.
  return len == 2 && static_cast<std::uint8_t>(s[i]) == 0xC2 &&
         static_cast<std::uint8_t>(s[i + 1]) <= 0x9F;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

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

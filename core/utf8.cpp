#include "core/utf8.h"

namespace attestlab {

std::size_t utf8_sequence_length(std::string_view in, std::size_t i) {
  const auto c = static_cast<unsigned char>(in[i]);
  std::size_t len = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
  bool ok = len != 0 && i + len <= in.size();
  for (std::size_t k = 1; ok && k < len; ++k) {
    ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
  }
  if (ok && len == 2) ok = c >= 0xc2;  // no overlong forms
  if (ok && len == 3) {
    const auto c1 = static_cast<unsigned char>(in[i + 1]);
    ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);  // overlong, surrogates
  }
  if (ok && len == 4) {
    const auto c1 = static_cast<unsigned char>(in[i + 1]);
    ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
  }
  return ok ? len : 0;
}

bool is_valid_utf8(std::string_view in) {
  for (std::size_t i = 0; i < in.size();) {
    const std::size_t len = utf8_sequence_length(in, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string utf8_or_replaced(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    if (const std::size_t len = utf8_sequence_length(in, i)) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string utf8_excerpt(std::string_view in, std::size_t max_bytes) {
  if (in.size() <= max_bytes) return utf8_or_replaced(in);
  std::size_t cut = 0;
  while (cut < max_bytes) {
    const std::size_t len = utf8_sequence_length(in, cut);
    const std::size_t step = len == 0 ? 1 : len;  // a stray byte is replaced, not kept
    if (cut + step > max_bytes) break;
    cut += step;
  }
  return utf8_or_replaced(in.substr(0, cut)) + "...";
}

}  // namespace attestlab

// UTF-8 for text that came off the wire: a JSON string (and so result.json, JUnit, HTML)
// must be valid UTF-8, but a foreign server may send any bytes, and cutting a long
// string at a byte count may split a character.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace attestlab {

// The input with every byte that does not start a well-formed UTF-8 sequence (invalid
// lead or continuation bytes, overlong forms, surrogates, code points past U+10FFFF,
// a sequence cut short) replaced by U+FFFD. Valid input comes back unchanged.
std::string utf8_or_replaced(std::string_view in);

// At most max_bytes of a UTF-8 string, cut so no well-formed character is split; then
// passed through utf8_or_replaced. When anything was cut, "..." is appended.
std::string utf8_excerpt(std::string_view in, std::size_t max_bytes);

}  // namespace attestlab

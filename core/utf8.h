// UTF-8 for text that came off the wire: a JSON string (and so result.json, JUnit, HTML)
// must be valid UTF-8, but a foreign server may send any bytes, and cutting a long
// string at a byte count may split a character.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace attestlab {

// The length (1-4) of the well-formed UTF-8 sequence at in[i], or 0 when none starts there:
// an invalid lead or continuation byte, an overlong form, a surrogate, a code point past
// U+10FFFF, a sequence cut short.
std::size_t utf8_sequence_length(std::string_view in, std::size_t i);

// Well-formed UTF-8 throughout (each sequence as utf8_sequence_length accepts it).
bool is_valid_utf8(std::string_view in);

// The input with every byte that does not start a well-formed UTF-8 sequence (invalid
// lead or continuation bytes, overlong forms, surrogates, code points past U+10FFFF,
// a sequence cut short) replaced by U+FFFD. Valid input comes back unchanged.
std::string utf8_or_replaced(std::string_view in);

// At most max_bytes of a UTF-8 string, cut so no well-formed character is split; then
// passed through utf8_or_replaced. When anything was cut, "..." is appended.
std::string utf8_excerpt(std::string_view in, std::size_t max_bytes);

}  // namespace attestlab

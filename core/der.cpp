#include "core/der.h"

#include <charconv>
#include <vector>

namespace attestlab::der {
namespace {

Error malformed(const char* what) {
  return Error::make("malformed", std::string("DER: ") + what);
}

void append_length(Bytes& out, std::size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
    return;
  }
  std::uint8_t tmp[sizeof(std::size_t)];
  int count = 0;
  while (n > 0) {
    tmp[count++] = static_cast<std::uint8_t>(n & 0xff);
    n >>= 8;
  }
  out.push_back(static_cast<std::uint8_t>(0x80 | count));
  while (count > 0) out.push_back(tmp[--count]);
}

void append_base128(Bytes& out, std::uint64_t v) {
  std::uint8_t tmp[10];
  int count = 0;
  do {
    tmp[count++] = static_cast<std::uint8_t>(v & 0x7f);
    v >>= 7;
  } while (v > 0);
  while (count > 1) out.push_back(static_cast<std::uint8_t>(tmp[--count] | 0x80));
  out.push_back(tmp[0]);
}

}  // namespace

Bytes tlv(std::uint8_t tag, std::span<const std::uint8_t> content) {
  Bytes out;
  out.reserve(content.size() + 6);
  out.push_back(tag);
  append_length(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Bytes tlv(std::uint8_t tag, std::string_view content) {
  return tlv(tag, std::span<const std::uint8_t>(
                      reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
}

void append(Bytes& out, const Bytes& part) {
  out.insert(out.end(), part.begin(), part.end());
}

Bytes integer(std::uint64_t value) {
  Bytes content;
  do {
    content.insert(content.begin(), static_cast<std::uint8_t>(value & 0xff));
    value >>= 8;
  } while (value > 0);
  if (content.front() & 0x80) content.insert(content.begin(), 0);
  return tlv(kInteger, content);
}

Bytes unsigned_integer(std::span<const std::uint8_t> magnitude) {
  std::size_t skip = 0;
  while (skip < magnitude.size() && magnitude[skip] == 0) ++skip;
  const auto value = magnitude.subspan(skip);
  Bytes content;
  content.reserve(value.size() + 1);
  if (value.empty() || (value.front() & 0x80) != 0) content.push_back(0x00);
  content.insert(content.end(), value.begin(), value.end());
  return tlv(kInteger, content);
}

Result<Bytes> oid(std::string_view dotted) {
  std::vector<std::uint64_t> arcs;
  std::size_t pos = 0;
  while (true) {
    const std::size_t dot = dotted.find('.', pos);
    const std::string_view part =
        dotted.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (part.empty() || (part.size() > 1 && part[0] == '0')) return malformed("invalid OID");
    std::uint64_t arc = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), arc);
    if (ec != std::errc() || end != part.data() + part.size()) return malformed("invalid OID");
    arcs.push_back(arc);
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) || arcs[1] > UINT64_MAX - 80)
    return malformed("invalid OID");
  Bytes content;
  append_base128(content, arcs[0] * 40 + arcs[1]);
  for (std::size_t i = 2; i < arcs.size(); ++i) append_base128(content, arcs[i]);
  return tlv(kOid, content);
}

Result<Element> Reader::next() {
  const std::size_t size = data_.size();
  if (pos_ >= size) return malformed("unexpected end of data");
  Element e;
  e.tag = data_[pos_++];
  if ((e.tag & 0x1f) == 0x1f) return malformed("multi-byte tags are not supported");
  if (pos_ >= size) return malformed("missing length");
  const std::uint8_t first = data_[pos_++];
  std::size_t length = 0;
  if (first < 0x80) {
    length = first;
  } else {
    const std::size_t count = first & 0x7f;
    if (count == 0) return malformed("indefinite length");
    if (count > 4) return malformed("length too large");
    if (size - pos_ < count) return malformed("truncated length");
    for (std::size_t i = 0; i < count; ++i) length = length << 8 | data_[pos_++];
  }
  if (length > size - pos_) return malformed("length past end of data");
  e.content = data_.subspan(pos_, length);
  pos_ += length;
  return e;
}

Result<Element> Reader::next(std::uint8_t expected_tag) {
  auto e = next();
  if (!e.ok()) return e;
  if (e->tag != expected_tag) return malformed("unexpected tag");
  return e;
}

Result<std::string> oid_to_string(std::span<const std::uint8_t> content) {
  if (content.empty() || (content.back() & 0x80)) return malformed("invalid OID encoding");
  std::string out;
  std::uint64_t value = 0;
  bool first_arc = true;
  bool at_start = true;
  for (std::uint8_t b : content) {
    if (at_start && b == 0x80) return malformed("non-minimal OID arc");
    if (value > (UINT64_MAX >> 7)) return malformed("OID arc too large");
    value = value << 7 | (b & 0x7f);
    at_start = false;
    if (b & 0x80) continue;
    if (first_arc) {
      const std::uint64_t top = value < 40 ? 0 : value < 80 ? 1 : 2;
      out = std::to_string(top) + "." + std::to_string(value - top * 40);
      first_arc = false;
    } else {
      out += "." + std::to_string(value);
    }
    value = 0;
    at_start = true;
  }
  return out;
}

}  // namespace attestlab::der

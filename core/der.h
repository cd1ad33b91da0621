// A minimal DER writer and a bounds-checked reader, for the few ASN.1 structures that
// OpenSSL 3.0 has no public type for (RFC 4043/4108 otherName SANs) and for building
// extension values byte-exactly. Only single-byte tags and definite lengths are
// supported; anything else reads as an error, never as undefined behaviour.
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace attestlab::der {

// Universal and context tags used in attestlab (class and constructed bits included).
inline constexpr std::uint8_t kBoolean = 0x01;
inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kBitString = 0x03;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kOid = 0x06;
inline constexpr std::uint8_t kUtf8String = 0x0c;
inline constexpr std::uint8_t kSequence = 0x30;
inline constexpr std::uint8_t kContext = 0x80;             // [n] primitive = kContext | n
inline constexpr std::uint8_t kContextConstructed = 0xa0;  // [n] constructed

// tag || length || content.
Bytes tlv(std::uint8_t tag, std::span<const std::uint8_t> content);
Bytes tlv(std::uint8_t tag, std::string_view content);
// Concatenation helper for building constructed contents.
void append(Bytes& out, const Bytes& part);
// A non-negative INTEGER in minimal two's complement form.
Bytes integer(std::uint64_t value);
// The same for a value given as big-endian octets of any length: leading zero octets are
// dropped and a 0x00 goes first when the high bit is set (an empty or all-zero one is 0).
Bytes unsigned_integer(std::span<const std::uint8_t> magnitude);
// An OBJECT IDENTIFIER TLV from dotted form; Error("malformed") for an invalid OID.
Result<Bytes> oid(std::string_view dotted);

struct Element {
  std::uint8_t tag = 0;
  std::span<const std::uint8_t> content;
};

// Reads consecutive TLVs from a buffer it does not own (the buffer must outlive it).
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
  bool done() const { return pos_ == data_.size(); }
  // The next element; Error("malformed") for truncated input, multi-byte tags,
  // indefinite lengths or lengths past the end of the buffer.
  Result<Element> next();
  // next(), additionally requiring the given tag.
  Result<Element> next(std::uint8_t expected_tag);
  // The tag of the next element without consuming it, or -1 at the end.
  int peek_tag() const { return done() ? -1 : data_[pos_]; }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

// The dotted form of an OBJECT IDENTIFIER's content octets.
Result<std::string> oid_to_string(std::span<const std::uint8_t> content);

}  // namespace attestlab::der

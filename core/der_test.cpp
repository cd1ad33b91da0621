#include "core/der.h"

#include <gtest/gtest.h>

namespace attestlab::der {
namespace {

TEST(PkiDerWriter, ShortAndLongLengths) {
  EXPECT_EQ(tlv(kOctetString, Bytes{1, 2}), (Bytes{0x04, 0x02, 1, 2}));
  const Bytes long_content(200, 0xaa);
  const Bytes encoded = tlv(kOctetString, long_content);
  ASSERT_EQ(encoded.size(), 203u);
  EXPECT_EQ(encoded[1], 0x81);
  EXPECT_EQ(encoded[2], 200);
  EXPECT_EQ(tlv(kSequence, Bytes(300, 0))[1], 0x82);
  EXPECT_EQ(tlv(kUtf8String, std::string_view("hi")), (Bytes{0x0c, 0x02, 'h', 'i'}));
}

TEST(PkiDerWriter, Integers) {
  EXPECT_EQ(integer(0), (Bytes{0x02, 0x01, 0x00}));
  EXPECT_EQ(integer(127), (Bytes{0x02, 0x01, 0x7f}));
  EXPECT_EQ(integer(128), (Bytes{0x02, 0x02, 0x00, 0x80}));
  EXPECT_EQ(integer(256), (Bytes{0x02, 0x02, 0x01, 0x00}));
}

TEST(PkiDerWriter, UnsignedIntegersFromOctets) {
  EXPECT_EQ(unsigned_integer(Bytes{}), (Bytes{0x02, 0x01, 0x00}));
  EXPECT_EQ(unsigned_integer(Bytes{0x00, 0x00}), (Bytes{0x02, 0x01, 0x00}));
  EXPECT_EQ(unsigned_integer(Bytes{0x00, 0x7f}), (Bytes{0x02, 0x01, 0x7f}));
  EXPECT_EQ(unsigned_integer(Bytes{0x80}), (Bytes{0x02, 0x02, 0x00, 0x80}));
  EXPECT_EQ(unsigned_integer(Bytes{0x00, 0x01, 0x00}), (Bytes{0x02, 0x02, 0x01, 0x00}));
  // The same as integer() wherever both apply.
  EXPECT_EQ(unsigned_integer(Bytes{0x01, 0x00, 0x00}), integer(65536));
  EXPECT_EQ(unsigned_integer(Bytes{0xff, 0xff}), integer(65535));
}

TEST(PkiDerOid, KnownEncodings) {
  // RFC 4043 id-on-permanentIdentifier 1.3.6.1.5.5.7.8.3
  auto pi = oid("1.3.6.1.5.5.7.8.3");
  ASSERT_TRUE(pi.ok());
  EXPECT_EQ(hex_encode(*pi), "06082b06010505070803");
  // Apple 1.2.840.113635.100.8.9.1 (multi-byte arcs)
  auto apple = oid("1.2.840.113635.100.8.9.1");
  ASSERT_TRUE(apple.ok());
  EXPECT_EQ(hex_encode(*apple),
            "060a2a864886f7636408090"
            "1");
  auto back = oid_to_string(std::span<const std::uint8_t>(*apple).subspan(2));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "1.2.840.113635.100.8.9.1");
  auto joint = oid("2.999.3");
  ASSERT_TRUE(joint.ok());
  EXPECT_EQ(*oid_to_string(std::span<const std::uint8_t>(*joint).subspan(2)), "2.999.3");
}

TEST(PkiDerOid, RefusesInvalid) {
  for (const char* bad : {"", "1", "1.", ".1", "1..2", "3.1", "1.40", "a.b", "1.2.-3", "01.2",
                          "1.2.99999999999999999999999"}) {
    EXPECT_FALSE(oid(bad).ok()) << bad;
  }
  EXPECT_FALSE(oid_to_string(Bytes{}).ok());
  EXPECT_FALSE(oid_to_string(Bytes{0x2a, 0x86}).ok());        // unterminated arc
  EXPECT_FALSE(oid_to_string(Bytes{0x2a, 0x80, 0x01}).ok());  // non-minimal arc
  EXPECT_FALSE(oid_to_string(Bytes(12, 0xff)).ok());          // overflow / unterminated
}

TEST(PkiDerReader, WalksSequences) {
  Bytes inner = tlv(kUtf8String, std::string_view("x"));
  append(inner, *oid("1.2.3"));
  const Bytes seq = tlv(kSequence, inner);
  Reader outer(seq);
  auto s = outer.next(kSequence);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(outer.done());
  Reader r(s->content);
  EXPECT_EQ(r.peek_tag(), kUtf8String);
  auto a = r.next(kUtf8String);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->content.size(), 1u);
  EXPECT_FALSE(r.next(kUtf8String).ok());  // wrong tag
  EXPECT_EQ(r.peek_tag(), -1);
}

TEST(PkiDerReader, RefusesBadFraming) {
  const std::vector<Bytes> bad = {
      {},
      {0x30},                       // no length
      {0x30, 0x05, 0x01},           // content past end
      {0x30, 0x80, 0x00, 0x00},     // indefinite length
      {0x1f, 0x81, 0x01, 0x00},     // multi-byte tag
      {0x30, 0x85, 1, 0, 0, 0, 0},  // 5-byte length
      {0x30, 0x82, 0x01},           // truncated length
      {0x30, 0x84, 0xff, 0xff, 0xff, 0xff},
  };
  for (const Bytes& b : bad) {
    Reader r(b);
    EXPECT_FALSE(r.next().ok()) << hex_encode(b);
  }
}

TEST(PkiDerReader, EveryTruncationIsAnError) {
  Bytes content = tlv(kOctetString, Bytes(300, 1));
  const Bytes full = tlv(kSequence, content);
  for (std::size_t n = 0; n < full.size(); ++n) {
    Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
    Reader r(cut);
    EXPECT_FALSE(r.next().ok()) << n;
  }
}

}  // namespace
}  // namespace attestlab::der

#include "core/json.h"

#include <gtest/gtest.h>

#include "core/json_unique.h"

namespace attestlab {
namespace {

TEST(JsonText, ParsesAndRejects) {
  auto ok = parse_json(R"({"a":1,"b":"x","c":[true,null]})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["a"], 1);
  for (const char* bad : {"", "{", "{\"a\":1} trailing", "{\"a\":1}{}", "[1,]", "nul", "{'a':1}"}) {
    SCOPED_TRACE(bad);
    auto r = parse_json(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().type, "malformed");
  }
}

TEST(JsonText, DeepNestingIsRefusedWithoutCrashing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(parse_json(deep).ok());
  const std::string fine = std::string(50, '[') + std::string(50, ']');
  EXPECT_TRUE(parse_json(fine).ok());
}

TEST(JsonText, UniqueRefusesDuplicateMemberNames) {
  for (const char* dup :
       {R"({"url":"a","url":"b"})", R"({"x":{"k":1,"k":2}})", R"([{"a":1},{"b":1,"b":1}])"}) {
    SCOPED_TRACE(dup);
    auto r = parse_json_unique(dup);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().type, "malformed");
    EXPECT_NE(r.error().detail.find("duplicate"), std::string::npos);
    EXPECT_TRUE(parse_json(dup).ok());  // the lenient parser keeps RFC 8259 behaviour
  }
  // The same name at different levels or in sibling objects is not a duplicate.
  auto fine = parse_json_unique(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})");
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ((*fine)["b"][1]["a"], 2);
}

TEST(JsonText, GetString) {
  auto j = parse_json(R"({"s":"v","n":3})");
  ASSERT_TRUE(j.ok());
  ASSERT_NE(get_string(*j, "s"), nullptr);
  EXPECT_EQ(*get_string(*j, "s"), "v");
  EXPECT_EQ(get_string(*j, "n"), nullptr);
  EXPECT_EQ(get_string(*j, "missing"), nullptr);
  EXPECT_EQ(get_string(Json::array({"s"}), "s"), nullptr);
  EXPECT_EQ(get_string(Json("s"), "s"), nullptr);
}

TEST(JsonCbor, RoundTripWithByteStrings) {
  Json value = {
      {"fmt", "apple"},
      {"attStmt", {{"x5c", Json::array({Json::binary({0x30, 0x82, 0x01}), Json::binary({})})}}},
      {"n", -17},
      {"big", 1ull << 40},
      {"f", 1.5},
      {"t", true},
      {"z", nullptr}};
  const Bytes cbor = to_cbor(value);
  EXPECT_EQ(cbor[0] >> 5, 5);  // a map
  auto back = parse_cbor(cbor);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, value);
  ASSERT_TRUE((*back)["attStmt"]["x5c"][0].is_binary());
  // Compared as the plain byte vector: clang in C++20 finds operator== of
  // byte_container_with_subtype ambiguous against its base.
  const Json::binary_t::container_type& x5c0 = (*back)["attStmt"]["x5c"][0].get_binary();
  EXPECT_EQ(x5c0, (Json::binary_t::container_type{0x30, 0x82, 0x01}));
}

TEST(JsonCbor, KnownEncoding) {
  // RFC 8949 Appendix A: {"a": 1, "b": [2, 3]}
  auto j = parse_cbor({0xa2, 0x61, 0x61, 0x01, 0x61, 0x62, 0x82, 0x02, 0x03});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j, (Json{{"a", 1}, {"b", {2, 3}}}));
  // Indefinite-length array [_ 1, [2, 3]]
  auto indef = parse_cbor({0x9f, 0x01, 0x82, 0x02, 0x03, 0xff});
  ASSERT_TRUE(indef.ok());
  EXPECT_EQ(*indef, (Json{1, {2, 3}}));
  // Indefinite-length byte string (_ h'0102', h'03')
  auto chunks = parse_cbor({0x5f, 0x42, 0x01, 0x02, 0x41, 0x03, 0xff});
  ASSERT_TRUE(chunks.ok());
  const Json::binary_t::container_type& joined = chunks->get_binary();
  EXPECT_EQ(joined, (Json::binary_t::container_type{1, 2, 3}));
}

TEST(JsonCbor, DuplicateMapKeyIsMalformed) {
  // {"fmt": "apple", "fmt": "none"}: a map of two pairs with the same text key.
  const Bytes dup = {0xa2, 0x63, 'f', 'm', 't', 0x65, 'a', 'p', 'p', 'l',
                     'e',  0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e'};
  auto r = parse_cbor(dup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "malformed");
  EXPECT_NE(r.error().detail.find("duplicate"), std::string::npos);
  // Nested map with a duplicate, inside an otherwise fine map.
  const Bytes nested = {0xa1, 0x61, 'a', 0xa2, 0x61, 'k', 0x01, 0x61, 'k', 0x02};
  EXPECT_FALSE(parse_cbor(nested).ok());
  const Bytes fine = {0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0xa1, 0x61, 'a', 0x02};
  auto ok = parse_cbor(fine);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["b"]["a"], 2);
}

TEST(JsonCbor, MalformedNeverThrows) {
  const std::vector<Bytes> bad = {
      {},
      {0xa1},                                                  // map missing its entry
      {0xa1, 0x01, 0x02},                                      // non-string key
      {0x5a, 0xff, 0xff, 0xff, 0xff},                          // byte string longer than input
      {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},  // absurd array length
      {0x1c},                                                  // reserved additional info
      {0xff},                                                  // stray break
      {0x9f, 0x01},                                            // unterminated indefinite array
      {0x01, 0x02},                                            // trailing data
      {0x62, 0xc3, 0x28},                                      // invalid UTF-8 text
      {0xc1, 0x01},                                            // tag
      {0x1f},                                                  // indefinite unsigned
  };
  for (const Bytes& b : bad) {
    SCOPED_TRACE(hex_encode(b));
    Result<Json> r = Json();
    EXPECT_NO_THROW(r = parse_cbor(b));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().type, "malformed");
  }
}

TEST(JsonCbor, DeepNestingIsRefusedWithoutCrashing) {
  Bytes deep(200000, 0x81);  // [[[[...
  deep.push_back(0x01);
  EXPECT_FALSE(parse_cbor(deep).ok());
  Bytes deep_tags(200000, 0xc6);
  deep_tags.push_back(0x01);
  EXPECT_FALSE(parse_cbor(deep_tags).ok());
  Bytes indefinite(200000, 0x9f);
  EXPECT_FALSE(parse_cbor(indefinite).ok());
  Bytes shallow(20, 0x81);
  shallow.push_back(0x01);
  EXPECT_TRUE(parse_cbor(shallow).ok());
}

// Every truncation and every single-byte change of a real attestation-like object is
// handled without throwing.
TEST(JsonCbor, MutationsNeverThrow) {
  const Bytes good = to_cbor(Json{{"fmt", "apple"},
                                  {"attStmt", {{"x5c", Json::array({Json::binary(Bytes(40, 7))})}}},
                                  {"authData", Json::binary(Bytes(37, 1))}});
  for (std::size_t n = 0; n < good.size(); ++n) {
    Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_NO_THROW((void)parse_cbor(cut));
    EXPECT_FALSE(parse_cbor(cut).ok());
  }
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (std::uint8_t v : {0x00, 0xff, 0x5f, 0x9f, 0xbf, 0x1b}) {
      Bytes m = good;
      m[i] = v;
      EXPECT_NO_THROW((void)parse_cbor(m));
    }
  }
}

}  // namespace
}  // namespace attestlab

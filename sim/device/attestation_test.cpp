#include "sim/device/attestation.h"

#include <gtest/gtest.h>

#include <string>

#include "core/json.h"
#include "core/pki.h"
#include "sim/device/apple_format.h"

namespace attestlab::sim {
namespace {

constexpr std::int64_t kNow = 1795564800;  // 2026-11-25T00:00:00Z

std::string fixture(const std::string& name) {
  auto text = pki::read_file(std::string(ATTESTLAB_SOURCE_DIR) +
                             "/fixtures/interop/apple-attestation/" + name);
  EXPECT_TRUE(text.ok()) << name;
  std::string s = text.ok() ? *text : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Key/type shape of a decoded CBOR value: maps by key, arrays by element, leaves by type.
// Byte strings are "bytes" whatever their content.
Json shape(const Json& v) {
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = shape(it.value());
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& e : v) out.push_back(shape(e));
    return out;
  }
  if (v.is_binary()) return "bytes";
  return v.type_name();
}

AttestationChain make_chain() {
  auto ca = AppleCa::create(kNow);
  EXPECT_TRUE(ca.ok());
  auto key = pki::PrivateKey::generate(pki::KeySpec::p384());
  EXPECT_TRUE(key.ok());
  DeviceFacts facts;
  facts.serial = "C02XL0GVJGH5";
  facts.udid = "00008103-000A4C9E1E8A001E";
  auto chain =
      ca->issue_attestation(key->public_key(), facts, freshness_code(std::string_view("t")), kNow);
  EXPECT_TRUE(chain.ok());
  return *chain;
}

TEST(AttestationObject, RoundTrip) {
  const AttestationChain chain = make_chain();
  const std::string b64u = apple_attobj_b64u(chain);
  EXPECT_EQ(b64u.find('='), std::string::npos);
  auto parsed = parse_attestation_object_b64u(b64u);
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(parsed->fmt, "apple");
  ASSERT_EQ(parsed->x5c.size(), 2u);
  EXPECT_EQ(parsed->x5c[0], chain.leaf_der);
  EXPECT_EQ(parsed->x5c[1], chain.intermediate_der);
}

TEST(AttestationObject, EncodingIsFmtThenAttStmtWithByteStrings) {
  const AttestationChain chain = make_chain();
  const Bytes cbor = encode_attestation_object(apple_attestation_object(chain));
  // a2 (map of 2) 63 "fmt" 65 "apple" 67 "attStmt" a1 (map of 1) 63 "x5c" 82 (array of 2)
  const Bytes prefix = {0xa2, 0x63, 'f', 'm', 't', 0x65, 'a',  'p',  'p', 'l', 'e', 0x67, 'a',
                        't',  't',  'S', 't', 'm', 't',  0xa1, 0x63, 'x', '5', 'c', 0x82};
  ASSERT_GT(cbor.size(), prefix.size());
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), cbor.begin()));
  EXPECT_EQ(cbor[prefix.size()] >> 5, 2) << "x5c[0] must be a CBOR byte string (major type 2)";
}

TEST(AttestationObject, SameStructureAsTheExternalVector) {
  auto external = base64url_decode(fixture("attobj.b64u"));
  ASSERT_TRUE(external.ok());
  auto theirs = parse_cbor(*external);
  ASSERT_TRUE(theirs.ok());
  auto ours = parse_cbor(encode_attestation_object(apple_attestation_object(make_chain())));
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(shape(*ours), shape(*theirs)) << shape(*ours).dump() << " vs " << shape(*theirs).dump();
  EXPECT_EQ(shape(*theirs).dump(), R"({"attStmt":{"x5c":["bytes","bytes"]},"fmt":"string"})");
}

TEST(AttestationObject, ReencodingTheExternalVectorIsByteIdentical) {
  const std::string text = fixture("attobj.b64u");
  auto parsed = parse_attestation_object_b64u(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(encode_attestation_object_b64u(*parsed), text);
}

TEST(AttestationObject, ExternalVectorLeafDecodesWithOurCodec) {
  auto parsed = parse_attestation_object_b64u(fixture("attobj.b64u"));
  ASSERT_TRUE(parsed.ok());
  auto leaf = pki::Certificate::from_der(parsed->x5c.at(0));
  ASSERT_TRUE(leaf.ok());
  auto contents = decode_apple_extensions(*leaf);
  ASSERT_TRUE(contents.ok()) << contents.error().detail;
  EXPECT_EQ(contents->facts.serial, "C02XL0GVJGH5");
  EXPECT_EQ(contents->facts.udid, "00008103-000A4C9E1E8A001E");
  EXPECT_EQ(contents->facts.os_version, "17.5");
  EXPECT_EQ(contents->facts.sepos_version, "21.5.0");
  EXPECT_EQ(contents->facts.llb_version, "10151.121.1");
  EXPECT_FALSE(contents->facts.sip_enabled.has_value());
  EXPECT_EQ(contents->freshness, freshness_code(std::string_view(fixture("token.txt"))));
}

TEST(AttestationObject, JsonFormIsTamperable) {
  Json j = attestation_object_json(apple_attestation_object(make_chain()));
  j["fmt"] = "android-key";
  auto parsed = parse_attestation_object(to_cbor(j));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->fmt, "android-key");  // parsing is format-neutral; verifiers judge fmt
}

TEST(AttestationObject, RejectsMalformedInput) {
  const Bytes good = encode_attestation_object(apple_attestation_object(make_chain()));
  Bytes truncated(good.begin(), good.begin() + static_cast<long>(good.size() / 2));
  auto r = parse_attestation_object(truncated);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "badAttestationStatement");

  EXPECT_FALSE(parse_attestation_object(Bytes{}).ok());
  EXPECT_FALSE(parse_attestation_object(to_cbor(Json::array({1, 2}))).ok());
  EXPECT_FALSE(parse_attestation_object(to_cbor(Json{{"attStmt", Json::object()}})).ok());
  EXPECT_FALSE(parse_attestation_object(
                   to_cbor(Json{{"fmt", "apple"}, {"attStmt", Json{{"x5c", Json::array()}}}}))
                   .ok());
  // x5c entries as text instead of byte strings.
  EXPECT_FALSE(
      parse_attestation_object(
          to_cbor(Json{{"fmt", "apple"}, {"attStmt", Json{{"x5c", Json::array({"MIIB"})}}}}))
          .ok());
  EXPECT_FALSE(
      parse_attestation_object(to_cbor(Json{{"fmt", 7}, {"attStmt", Json::object()}})).ok());

  auto bad_b64 = parse_attestation_object_b64u("not base64url!");
  ASSERT_FALSE(bad_b64.ok());
  EXPECT_EQ(bad_b64.error().type, "malformed");
}

TEST(AttestationObject, GarbageNeverCrashes) {
  Bytes junk;
  for (int i = 0; i < 512; ++i) {
    junk.push_back(static_cast<std::uint8_t>((i * 131 + 17) & 0xff));
    auto r = parse_attestation_object(junk);
    if (r.ok()) {
      EXPECT_FALSE(r->x5c.empty());  // whatever parses honours the contract
    }
  }
}

}  // namespace
}  // namespace attestlab::sim

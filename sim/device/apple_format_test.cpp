#include "sim/device/apple_format.h"

#include <gtest/gtest.h>

#include "sim/device/apple_ca.h"
#include "sim/device/forgery.h"

namespace attestlab::sim {
namespace {

constexpr std::int64_t kNow = 1795564800;  // 2026-11-25T00:00:00Z

TEST(AppleFormat, OidsAreThoseOfProtocolSection3) {
  EXPECT_EQ(
      all_apple_oids(),
      (std::vector<std::string>{
          "1.2.840.113635.100.8.9.1", "1.2.840.113635.100.8.9.2", "1.2.840.113635.100.8.10.1",
          "1.2.840.113635.100.8.10.2", "1.2.840.113635.100.8.10.3", "1.2.840.113635.100.8.11.1",
          "1.2.840.113635.100.8.13.1", "1.2.840.113635.100.8.13.2", "1.2.840.113635.100.8.13.3"}));
}

TEST(AppleFormat, EncodesExactlyTheDocumentedBytes) {
  DeviceFacts f;
  f.serial = "S";
  f.sip_enabled = true;
  f.secure_boot = SecureBootLevel::Full;
  f.third_party_kexts_allowed = false;
  auto ext = encode_apple_extensions(f, Bytes(32, 0x5A));
  ASSERT_EQ(ext.size(), 5u);
  EXPECT_EQ(ext[0].oid, kOidSerialNumber);
  EXPECT_EQ(ext[0].value, to_bytes("S"));
  EXPECT_EQ(ext[1].oid, kOidFreshnessCode);
  EXPECT_EQ(ext[1].value, Bytes(32, 0x5A));
  EXPECT_EQ(ext[2].oid, kOidSipStatus);
  EXPECT_EQ(ext[2].value, Bytes{0x01});
  EXPECT_EQ(ext[3].oid, kOidSecureBootLevel);
  EXPECT_EQ(ext[3].value, to_bytes("full"));
  EXPECT_EQ(ext[4].oid, kOidThirdPartyKexts);
  EXPECT_EQ(ext[4].value, Bytes{0x00});
  for (const auto& e : ext) EXPECT_FALSE(e.critical);
  EXPECT_TRUE(encode_apple_extensions(DeviceFacts{}, std::nullopt).empty());
}

TEST(AppleFormat, SecureBootNames) {
  for (auto level :
       {SecureBootLevel::Full, SecureBootLevel::Reduced, SecureBootLevel::Permissive}) {
    EXPECT_EQ(parse_secure_boot_level(to_string(level)), level);
  }
  EXPECT_FALSE(parse_secure_boot_level("Full").has_value());
  EXPECT_FALSE(parse_secure_boot_level("").has_value());
}

TEST(AppleFormat, FreshnessIsSha256OfNonce) {
  EXPECT_EQ(freshness_code(std::string_view("abc")),
            *hex_decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  EXPECT_EQ(freshness_code(to_bytes("abc")), freshness_code(std::string_view("abc")));
  EXPECT_EQ(freshness_code(std::string_view("")).size(), kFreshnessCodeSize);
}

class DecodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = AppleCa::create(kNow);
    ASSERT_TRUE(ca.ok());
    ca_ = new AppleCa(std::move(*ca));
  }
  static void TearDownTestSuite() { delete ca_; }

  static Result<AttestedLeafContents> decode(const LeafSpec& spec) {
    auto chain = ca_->issue_leaf(spec);
    EXPECT_TRUE(chain.ok());
    auto leaf = pki::Certificate::from_der(chain->leaf_der);
    EXPECT_TRUE(leaf.ok());
    return decode_apple_extensions(*leaf);
  }

  static LeafSpec mac_leaf() {
    auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
    EXPECT_TRUE(key.ok());
    DeviceFacts f;
    f.serial = "S";
    f.sip_enabled = true;
    f.secure_boot = SecureBootLevel::Full;
    f.third_party_kexts_allowed = false;
    return AppleCa::honest_leaf(key->public_key(), f, std::nullopt, kNow);
  }

  static inline AppleCa* ca_ = nullptr;
};

TEST_F(DecodeTest, HonestMacLeafDecodes) {
  auto r = decode(mac_leaf());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->facts.sip_enabled, true);
  EXPECT_EQ(r->facts.secure_boot, SecureBootLevel::Full);
  EXPECT_EQ(r->facts.third_party_kexts_allowed, false);
  EXPECT_FALSE(r->freshness.has_value());
}

TEST_F(DecodeTest, RejectsMalformedValues) {
  const struct {
    const char* oid;
    Bytes value;
  } bad[] = {
      {kOidSipStatus, Bytes{0x02}},
      {kOidSipStatus, Bytes{}},
      {kOidSipStatus, Bytes{0x01, 0x00}},
      {kOidSipStatus, Bytes{0x01, 0x01, 0xFF}},  // a DER BOOLEAN is not the raw encoding
      {kOidThirdPartyKexts, Bytes{0xFF}},
      {kOidSecureBootLevel, to_bytes("medium")},
      {kOidSecureBootLevel, Bytes{0x00}},
      {kOidSerialNumber, Bytes{0xC3, 0x28}},  // invalid UTF-8
      {kOidUdid, Bytes{0xED, 0xA0, 0x80}},    // UTF-8 surrogate
      {kOidOsVersion, Bytes{0xE2, 0x82}},     // truncated sequence
  };
  for (const auto& b : bad) {
    auto r = decode(forge::with_extension_value(mac_leaf(), b.oid, b.value));
    ASSERT_FALSE(r.ok()) << b.oid << " " << hex_encode(b.value);
    EXPECT_EQ(r.error().type, "badAttestationStatement");
    EXPECT_NE(r.error().detail.find(b.oid), std::string::npos) << r.error().detail;
  }
  // Valid multi-byte UTF-8 is fine.
  auto ok =
      decode(forge::with_extension_value(mac_leaf(), kOidSerialNumber, to_bytes("S\xC3\xA9rie")));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->facts.serial, "S\xC3\xA9rie");
}

}  // namespace
}  // namespace attestlab::sim

#include "sim/device/apple_ca.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/pki.h"
#include "sim/device/apple_format.h"
#include "testing/mock_apple_world.h"

namespace attestlab::sim {
namespace {

using testing::kDay;
using testing::kNow;

class AppleCaTest : public testing::SuiteAppleCaTest {
 protected:
  static DeviceFacts iphone_facts() {
    return {.serial = "C02XL0GVJGH5", .udid = "00008103-000A4C9E1E8A001E", .os_version = "17.5",
            .sepos_version = "21.5.0", .llb_version = "10151.121.1"};
  }

  static pki::Certificate leaf_of(const AttestationChain& chain) {
    return testing::expect_certificate(chain.leaf_der);
  }
};

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("attestlab-sim-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

TEST_F(AppleCaTest, RootAndIntermediateAreMarkedMockP384CAs) {
  const auto& root = ca_->root();
  const auto& sub = ca_->intermediate();
  EXPECT_NE(root.subject().find("CN=Mock Apple Enterprise Attestation Root CA"), std::string::npos)
      << root.subject();
  EXPECT_NE(root.subject().find("MOCK"), std::string::npos);
  EXPECT_NE(sub.subject().find("CN=Mock Apple Enterprise Attestation Sub CA 1"), std::string::npos)
      << sub.subject();
  EXPECT_EQ(sub.issuer(), root.subject());
  EXPECT_EQ(root.public_key().spec(), pki::KeySpec::p384());
  EXPECT_EQ(sub.public_key().spec(), pki::KeySpec::p384());
  EXPECT_TRUE(root.is_ca());
  EXPECT_TRUE(sub.is_ca());
  EXPECT_TRUE(root.signed_by(root.public_key()));
  EXPECT_TRUE(sub.signed_by(root.public_key()));
  EXPECT_LE(root.not_before(), kNow);
  EXPECT_GT(root.not_after(), kNow + 20 * 365 * kDay);
}

TEST_F(AppleCaTest, LeafCarriesEveryFactAsRawBytes) {
  DeviceFacts facts = iphone_facts();
  facts.sip_enabled = false;
  facts.secure_boot = SecureBootLevel::Reduced;
  facts.third_party_kexts_allowed = true;
  const Bytes freshness = freshness_code(std::string_view("token-123"));
  auto chain = ca_->issue_attestation(key_->public_key(), facts, freshness, kNow);
  ASSERT_TRUE(chain.ok()) << chain.error().detail;
  const pki::Certificate leaf = leaf_of(*chain);

  EXPECT_EQ(leaf.extension_value(kOidSerialNumber), to_bytes("C02XL0GVJGH5"));
  EXPECT_EQ(leaf.extension_value(kOidUdid), to_bytes("00008103-000A4C9E1E8A001E"));
  EXPECT_EQ(leaf.extension_value(kOidOsVersion), to_bytes("17.5"));
  EXPECT_EQ(leaf.extension_value(kOidSeposVersion), to_bytes("21.5.0"));
  EXPECT_EQ(leaf.extension_value(kOidLlbVersion), to_bytes("10151.121.1"));
  auto fresh = leaf.extension_value(kOidFreshnessCode);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->size(), 32u);
  EXPECT_EQ(*fresh, sha256(std::string_view("token-123")));
  EXPECT_EQ(leaf.extension_value(kOidSipStatus), (Bytes{0x00}));
  EXPECT_EQ(leaf.extension_value(kOidSecureBootLevel), to_bytes("reduced"));
  EXPECT_EQ(leaf.extension_value(kOidThirdPartyKexts), (Bytes{0x01}));

  auto decoded = decode_apple_extensions(leaf);
  ASSERT_TRUE(decoded.ok()) << decoded.error().detail;
  EXPECT_EQ(decoded->facts, facts);
  EXPECT_EQ(decoded->freshness, freshness);
}

TEST_F(AppleCaTest, AppleExtensionsAreNonCritical) {
  auto chain = ca_->issue_attestation(key_->public_key(), iphone_facts(),
                                      freshness_code(std::string_view("t")), kNow);
  ASSERT_TRUE(chain.ok());
  for (const auto& ext : AppleCa::honest_leaf(key_->public_key(), iphone_facts(),
                                              freshness_code(std::string_view("t")), kNow)
                             .extensions) {
    EXPECT_FALSE(ext.critical) << ext.oid;
  }
  // And in the DER: OpenSSL reports no unhandled critical extension, so a chain check
  // at issue time succeeds (an unknown critical extension would make it fail).
  EXPECT_TRUE(testing::chains_to(*ca_, leaf_of(*chain), kNow + 60));
}

TEST_F(AppleCaTest, LeafCertifiesTheGivenKeyForSevenDaysFromIssue) {
  auto chain = ca_->issue_attestation(key_->public_key(), iphone_facts(), std::nullopt, kNow);
  ASSERT_TRUE(chain.ok());
  const pki::Certificate leaf = leaf_of(*chain);
  EXPECT_TRUE(leaf.public_key().equals(key_->public_key()));
  EXPECT_EQ(leaf.not_before(), kNow);
  EXPECT_EQ(leaf.not_after(), kNow + 7 * kDay);
  EXPECT_FALSE(leaf.is_ca());
  EXPECT_EQ(leaf.issuer(), ca_->intermediate().subject());
  EXPECT_FALSE(leaf.extension_value(kOidFreshnessCode).has_value());
  EXPECT_EQ(chain->intermediate_der, ca_->intermediate().to_der());
  EXPECT_EQ(chain->x5c().size(), 2u);
  EXPECT_EQ(chain->x5c()[0], chain->leaf_der);
}

TEST_F(AppleCaTest, ChainVerifiesToMockRootOnly) {
  auto chain = ca_->issue_attestation(key_->public_key(), iphone_facts(),
                                      freshness_code(std::string_view("x")), kNow);
  ASSERT_TRUE(chain.ok());
  const pki::Certificate leaf = leaf_of(*chain);
  auto sub = pki::Certificate::from_der(chain->intermediate_der);
  ASSERT_TRUE(sub.ok());

  EXPECT_TRUE(pki::verify_chain(leaf, {*sub}, {ca_->root()}, kNow + kDay).ok());

  auto apple_pem = pki::read_file(std::string(ATTESTLAB_SOURCE_DIR) +
                                  "/fixtures/apple-enterprise-attestation-root-ca.pem");
  ASSERT_TRUE(apple_pem.ok()) << apple_pem.error().detail;
  auto apple_root = pki::Certificate::from_pem(*apple_pem);
  ASSERT_TRUE(apple_root.ok());
  EXPECT_NE(apple_root->subject().find("Apple Enterprise Attestation Root CA"), std::string::npos);
  auto against_apple = pki::verify_chain(leaf, {*sub}, {*apple_root}, kNow + kDay);
  EXPECT_FALSE(against_apple.ok());
  EXPECT_EQ(against_apple.error().type, "unauthorized");

  // Outside the leaf's validity the chain does not verify either.
  EXPECT_FALSE(pki::verify_chain(leaf, {*sub}, {ca_->root()}, kNow + 8 * kDay).ok());
}

TEST_F(AppleCaTest, SaveLoadRoundTripWithPrivateKeys) {
  const std::string dir = temp_dir("ca-roundtrip");
  ASSERT_FALSE(AppleCa::exists_in(dir));
  ASSERT_TRUE(ca_->save(dir).ok());
  EXPECT_TRUE(AppleCa::exists_in(dir));
  for (const char* file : {"root.key", "intermediate.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/" + file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  for (const char* file : {"root.pem", "intermediate.pem"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + file)) << file;
  }

  auto loaded = AppleCa::load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.error().detail;
  EXPECT_EQ(loaded->root().to_der(), ca_->root().to_der());
  EXPECT_EQ(loaded->intermediate().to_der(), ca_->intermediate().to_der());
  // The loaded CA issues leaves that chain to the original root.
  auto chain = loaded->issue_attestation(key_->public_key(), iphone_facts(), std::nullopt, kNow);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(testing::chains_to(*ca_, leaf_of(*chain), kNow + 1));

  // No silent overwrite.
  auto again = ca_->save(dir);
  EXPECT_FALSE(again.ok());
  EXPECT_TRUE(ca_->save(dir, true).ok());
  std::filesystem::remove_all(dir);
}

TEST_F(AppleCaTest, LoadReportsMissingAndMismatchedFiles) {
  const std::string dir = temp_dir("ca-broken");
  auto missing = AppleCa::load(dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().detail.find("root.pem"), std::string::npos) << missing.error().detail;

  ASSERT_TRUE(ca_->save(dir).ok());
  // Swap in a key that does not belong to the intermediate certificate.
  auto other = pki::PrivateKey::generate(pki::KeySpec::p384());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(pki::write_file(dir + "/intermediate.key", other->to_pem(), true).ok());
  auto mismatched = AppleCa::load(dir);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().detail.find("intermediate key"), std::string::npos)
      << mismatched.error().detail;

  ASSERT_TRUE(pki::write_file(dir + "/root.pem", "not a certificate").ok());
  EXPECT_FALSE(AppleCa::load(dir).ok());
  std::filesystem::remove_all(dir);
}

TEST_F(AppleCaTest, TwoCasDoNotTrustEachOther) {
  auto other = AppleCa::create(kNow);
  ASSERT_TRUE(other.ok());
  auto chain = other->issue_attestation(key_->public_key(), iphone_facts(), std::nullopt, kNow);
  ASSERT_TRUE(chain.ok());
  EXPECT_FALSE(
      pki::verify_chain(leaf_of(*chain), {other->intermediate()}, {ca_->root()}, kNow + 1).ok());
}

TEST_F(AppleCaTest, FromPartsRejectsForeignIntermediate) {
  auto other = AppleCa::create(kNow);
  ASSERT_TRUE(other.ok());
  auto mixed = AppleCa::from_parts(ca_->root(), ca_->root_key(), other->intermediate(),
                                   other->intermediate_key());
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().detail.find("not signed by the root"), std::string::npos);
}

}  // namespace
}  // namespace attestlab::sim

// The externally produced Apple-format vector in fixtures/interop/apple-attestation/:
// input attestlab did not produce itself (see that folder's README.md).
#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/pki.h"

namespace attestlab::pki {
namespace {

const std::string kDir = std::string(ATTESTLAB_SOURCE_DIR) + "/fixtures/interop/apple-attestation/";

std::string fixture(const std::string& name) {
  auto text = read_file(kDir + name);
  EXPECT_TRUE(text.ok()) << (text.ok() ? "" : text.error().detail);
  return text.ok() ? *text : std::string();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

Json expected() {
  auto j = parse_json(fixture("expected.json"));
  EXPECT_TRUE(j.ok());
  return j.ok() ? *j : Json::object();
}

std::int64_t verify_at() {
  std::int64_t t = 0;
  EXPECT_TRUE(parse_rfc3339(expected().at("verify_at").get<std::string>(), t));
  return t;
}

// x5c certificates from an attObj file: base64url -> CBOR -> attStmt.x5c (byte strings).
std::vector<Certificate> x5c_of(const std::string& file) {
  auto cbor = base64url_decode(trimmed(fixture(file)));
  EXPECT_TRUE(cbor.ok());
  if (!cbor.ok()) return {};
  auto obj = parse_cbor(*cbor);
  EXPECT_TRUE(obj.ok());
  if (!obj.ok()) return {};
  EXPECT_EQ((*obj)["fmt"], "apple");
  const Json& x5c = (*obj)["attStmt"]["x5c"];
  EXPECT_TRUE(x5c.is_array());
  std::vector<Certificate> certs;
  for (const Json& entry : x5c) {
    EXPECT_TRUE(entry.is_binary());
    if (!entry.is_binary()) continue;
    const auto& bin = entry.get_binary();
    auto cert = Certificate::from_der(Bytes(bin.begin(), bin.end()));
    EXPECT_TRUE(cert.ok());
    if (cert.ok()) certs.push_back(*cert);
  }
  return certs;
}

TEST(PkiAppleFixture, CsrParsesVerifiesAndCarriesTheSerial) {
  auto der = base64url_decode(trimmed(fixture("csr.b64u")));
  ASSERT_TRUE(der.ok()) << der.error().detail;
  auto csr = Csr::from_der(*der);
  ASSERT_TRUE(csr.ok()) << csr.error().detail;
  EXPECT_TRUE(csr->verify_signature());
  EXPECT_EQ(csr->signature_algorithm(), "ecdsa-with-SHA384");

  auto device_key = PublicKey::from_pem(fixture("device-key.pub.pem"));
  ASSERT_TRUE(device_key.ok());
  EXPECT_EQ(device_key->spec(), KeySpec::p384());
  EXPECT_TRUE(csr->public_key().equals(*device_key));

  auto sans = csr->subject_alt_names();
  ASSERT_TRUE(sans.ok()) << sans.error().detail;
  ASSERT_EQ(sans->permanent_ids.size(), 1u);
  EXPECT_EQ(sans->permanent_ids[0].value, expected().at("serial").get<std::string>());
  EXPECT_EQ(sans->permanent_ids[0].value, "C02XL0GVJGH5");
}

TEST(PkiAppleFixture, AttestationLeafCarriesAppleExtensions) {
  const auto certs = x5c_of("attobj.b64u");
  ASSERT_EQ(certs.size(), 2u);
  const Certificate& leaf = certs[0];
  const Json exp = expected();

  auto serial = leaf.extension_value("1.2.840.113635.100.8.9.1");
  ASSERT_TRUE(serial.has_value());
  EXPECT_EQ(to_string(*serial), "C02XL0GVJGH5");
  auto udid = leaf.extension_value("1.2.840.113635.100.8.9.2");
  ASSERT_TRUE(udid.has_value());
  EXPECT_EQ(to_string(*udid), exp.at("udid").get<std::string>());

  auto freshness = leaf.extension_value("1.2.840.113635.100.8.11.1");
  ASSERT_TRUE(freshness.has_value());
  EXPECT_EQ(hex_encode(*freshness), exp.at("freshness_sha256_of_token_hex").get<std::string>());
  EXPECT_EQ(hex_encode(*freshness),
            "c13d21a80c0173f1febc0d140c42f072a6efcb6caa22e7586d68931db766c97d");
  EXPECT_EQ(*freshness, sha256(trimmed(fixture("token.txt"))));

  auto device_key = PublicKey::from_pem(fixture("device-key.pub.pem"));
  ASSERT_TRUE(device_key.ok());
  EXPECT_TRUE(leaf.public_key().equals(*device_key));

  std::int64_t nb = 0, na = 0;
  ASSERT_TRUE(parse_rfc3339(exp.at("leaf_not_before").get<std::string>(), nb));
  ASSERT_TRUE(parse_rfc3339(exp.at("leaf_not_after").get<std::string>(), na));
  EXPECT_EQ(leaf.not_before(), nb);
  EXPECT_EQ(leaf.not_after(), na);
}

// The leaf parsed without OpenSSL's key decoding reads the same, and verify_issued_by
// under the fixture's intermediate decides as OpenSSL's chain check does.
TEST(PkiAppleFixture, LeanLeafReadsAndVerifiesAsTheFullParse) {
  const auto certs = x5c_of("attobj.b64u");
  ASSERT_EQ(certs.size(), 2u);
  auto lean = Certificate::from_der_lean(certs[0].to_der());
  ASSERT_TRUE(lean.ok()) << lean.error().detail;
  EXPECT_TRUE(lean->lean());
  EXPECT_EQ(lean->to_der(), certs[0].to_der());
  EXPECT_TRUE(lean->public_key().equals(certs[0].public_key()));
  EXPECT_EQ(lean->public_key().spec(), KeySpec::p384());
  for (const char* oid : {"1.2.840.113635.100.8.9.1", "1.2.840.113635.100.8.9.2",
                          "1.2.840.113635.100.8.11.1", "1.2.840.113635.100.8.10.2"}) {
    EXPECT_EQ(lean->extension_value(oid), certs[0].extension_value(oid)) << oid;
  }
  EXPECT_EQ(lean->fingerprint_sha256(), certs[0].fingerprint_sha256());
  EXPECT_EQ(lean->is_ca(), certs[0].is_ca());
  EXPECT_TRUE(lean->signed_by(certs[1].public_key()));
  for (const std::int64_t at : {verify_at(), certs[0].not_after() + 1, certs[0].not_before() - 1}) {
    auto openssl = verify_chain(certs[0], {}, {certs[1]}, at, Anchors::AsGiven);
    for (const Certificate& leaf : {certs[0], *lean}) {
      auto here = verify_issued_by(leaf, certs[1], at);
      ASSERT_EQ(here.ok(), openssl.ok()) << at << (here.ok() ? "" : here.error().detail);
      if (!openssl.ok()) {
        EXPECT_EQ(here.error().detail, openssl.error().detail) << at;
      }
    }
  }
  EXPECT_TRUE(verify_issued_by(*lean, certs[1], verify_at()).ok());
}

TEST(PkiAppleFixture, ChainVerifiesToRootAtVerifyAt) {
  const auto certs = x5c_of("attobj.b64u");
  ASSERT_EQ(certs.size(), 2u);
  auto root = Certificate::from_pem(fixture("root.pem"));
  ASSERT_TRUE(root.ok());
  auto r = verify_chain(certs[0], {certs[1]}, {*root}, verify_at());
  EXPECT_TRUE(r.ok()) << r.error().detail;
  // ...and not once the leaf has expired.
  auto late = verify_chain(certs[0], {certs[1]}, {*root}, certs[0].not_after() + 1);
  EXPECT_FALSE(late.ok());
}

TEST(PkiAppleFixture, RogueRootChainIsRefused) {
  const auto certs = x5c_of("attobj-rogue-root.b64u");
  ASSERT_EQ(certs.size(), 2u);
  auto root = Certificate::from_pem(fixture("root.pem"));
  ASSERT_TRUE(root.ok());
  auto r = verify_chain(certs[0], {certs[1]}, {*root}, verify_at());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "unauthorized");
}

}  // namespace
}  // namespace attestlab::pki

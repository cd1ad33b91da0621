#include "server/acme/acme_csr.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>

#include "testing/odd_ec_keys.h"

namespace attestlab::server {
namespace {

pki::PrivateKey key(pki::KeySpec spec = pki::KeySpec::p256()) {
  return *pki::PrivateKey::generate(spec);
}

Bytes csr(const pki::PrivateKey& k, std::vector<std::string> dns, std::vector<std::string> ip = {},
          std::string cn = "", std::vector<pki::PermanentIdentifier> pids = {}) {
  pki::CsrSpec spec;
  if (!cn.empty()) spec.subject = {{"CN", cn}};
  spec.sans.dns = std::move(dns);
  spec.sans.ip = std::move(ip);
  spec.sans.permanent_ids = std::move(pids);
  return pki::build_csr(spec, k)->to_der();
}

CsrRequirements requirements(std::vector<Identifier> ids) {
  CsrRequirements r;
  r.identifiers = std::move(ids);
  r.account_key = key().public_key();
  return r;
}

TEST(FinalizeCsr, ExactNamesAccepted) {
  auto k = key();
  auto req = requirements({{"dns", "a.example"}, {"dns", "*.b.example"}, {"ip", "::1"}});
  EXPECT_TRUE(
      check_finalize_csr(csr(k, {"A.example", "*.b.example"}, {"::1"}, "a.example"), req).ok());
  EXPECT_TRUE(check_finalize_csr(csr(k, {"*.b.example", "a.example"}, {"0:0::1"}), req).ok());
}

TEST(FinalizeCsr, NameSetMismatchRefused) {
  auto k = key();
  auto req = requirements({{"dns", "a.example"}, {"dns", "b.example"}});
  EXPECT_EQ(check_finalize_csr(csr(k, {"a.example"}), req).error().type, "badCSR");
  EXPECT_EQ(check_finalize_csr(csr(k, {"a.example", "b.example", "c.example"}), req).error().type,
            "badCSR");
  EXPECT_EQ(
      check_finalize_csr(csr(k, {"a.example", "b.example"}, {}, "c.example"), req).error().type,
      "badCSR");
  EXPECT_EQ(check_finalize_csr(csr(k, {}, {}, "a.example"), req).error().type,
            "badCSR");  // SANs required
}

TEST(FinalizeCsr, KeyPolicy) {
  auto req = requirements({{"dns", "a.example"}});
  EXPECT_TRUE(check_finalize_csr(csr(key(pki::KeySpec::p384()), {"a.example"}), req).ok());
  EXPECT_TRUE(check_finalize_csr(csr(key(pki::KeySpec::rsa(2048)), {"a.example"}), req).ok());
  EXPECT_EQ(check_finalize_csr(csr(key(pki::KeySpec::p521()), {"a.example"}), req).error().type,
            "badCSR");
  EXPECT_EQ(check_finalize_csr(csr(key(pki::KeySpec::ed25519()), {"a.example"}), req).error().type,
            "badCSR");
  auto account = key();
  req.account_key = account.public_key();
  auto refused = check_finalize_csr(csr(account, {"a.example"}), req);
  EXPECT_EQ(refused.error().type, "badCSR");
  EXPECT_NE(refused.error().detail.find("account key"), std::string::npos);
}

TEST(FinalizeCsr, CurvesJudgedByNameExplicitParametersRefused) {
  CsrRequirements req = requirements({{"dns", "a.example"}});
  for (auto [group, explicit_params] :
       {std::pair{"secp256k1", false}, std::pair{"brainpoolP256r1", false},
        std::pair{"P-256", true}}) {
    SCOPED_TRACE(group);
    pki::PrivateKey k = attestlab::testing::odd_ec_key(group, explicit_params);
    ASSERT_TRUE(k.valid());
    auto refused = check_finalize_csr(csr(k, {"a.example"}), req);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().type, "badCSR");
    EXPECT_NE(refused.error().detail.find("not accepted"), std::string::npos);
  }
}

// Whatever the CSR holds, the refusal's detail must be serializable (it goes into a
// problem document): invalid UTF-8 in a permanentIdentifier is badCSR, not a 500.
TEST(FinalizeCsr, InvalidUtf8PermanentIdentifierIsBadCsr) {
  auto device = key(pki::KeySpec::p384());
  auto req = requirements({{"permanent-identifier", "SERIAL1/1.2.3"}});
  req.attested_spkis = {device.public_key().spki_der()};
  for (std::string bad :
       {std::string("SERIAL1\xff"), std::string("\xc3\x28"), std::string("SER\xed\xa0\x80")}) {
    auto refused = check_finalize_csr(csr(device, {}, {}, "", {{bad, std::string("1.2.3")}}), req);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().type, "badCSR");
    EXPECT_NO_THROW((void)Json(refused.error().detail).dump());
    EXPECT_NE(refused.error().detail.find("UTF-8"), std::string::npos) << refused.error().detail;
  }
}

TEST(FinalizeCsr, GarbageAndTamperedRefused) {
  auto req = requirements({{"dns", "a.example"}});
  EXPECT_EQ(check_finalize_csr(to_bytes("garbage"), req).error().type, "badCSR");
  Bytes der = csr(key(), {"a.example"});
  der[der.size() - 5] ^= 0x01;  // inside the signature
  EXPECT_EQ(check_finalize_csr(der, req).error().type, "badCSR");
}

TEST(FinalizeCsr, DeviceIdentifiers) {
  auto device = key(pki::KeySpec::p384());
  auto req = requirements({{"permanent-identifier", "SERIAL1/1.2.3"}});
  req.attested_spkis = {device.public_key().spki_der()};
  // Omitted SAN is fine (privacy-preserving), CN naming the device is fine.
  EXPECT_TRUE(check_finalize_csr(csr(device, {}), req).ok());
  EXPECT_TRUE(check_finalize_csr(csr(device, {}, {}, "SERIAL1"), req).ok());
  EXPECT_TRUE(
      check_finalize_csr(csr(device, {}, {}, "", {{"SERIAL1", std::string("1.2.3")}}), req).ok());
  // Assigner differs / missing, value differs: refused.
  EXPECT_EQ(
      check_finalize_csr(csr(device, {}, {}, "", {{"SERIAL1", std::nullopt}}), req).error().type,
      "badCSR");
  EXPECT_EQ(check_finalize_csr(csr(device, {}, {}, "", {{"SERIAL2", std::string("1.2.3")}}), req)
                .error()
                .type,
            "badCSR");
  // Not the attested key.
  auto other = check_finalize_csr(csr(key(pki::KeySpec::p384()), {}), req);
  EXPECT_EQ(other.error().type, "badCSR");
  EXPECT_EQ(other.error().detail, "CSR public key does not match the attested key");
  // Device orders carry no dns names.
  EXPECT_EQ(check_finalize_csr(csr(device, {"a.example"}), req).error().type, "badCSR");
}

TEST(FinalizeCsr, AttestedKeyComparedAsAKeyWhateverItsPointEncoding) {
  // The attested SPKI with the point compressed: other bytes than the CSR's (uncompressed),
  // the same key, so accepted; another key in the same compressed form is still refused.
  auto compressed_spki = [](const pki::PrivateKey& k) {
    EVP_PKEY* copy = EVP_PKEY_dup(k.public_key().get());
    EXPECT_EQ(EVP_PKEY_set_utf8_string_param(copy, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                             OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
              1);
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(copy, &der);
    Bytes out(der, der + std::max(len, 0));
    OPENSSL_free(der);
    EVP_PKEY_free(copy);
    return out;
  };
  auto device = key(pki::KeySpec::p384());
  auto req = requirements({{"permanent-identifier", "SERIAL1/1.2.3"}});
  req.attested_spkis = {compressed_spki(device)};
  ASSERT_NE(req.attested_spkis.front(), device.public_key().spki_der());
  EXPECT_TRUE(check_finalize_csr(csr(device, {}), req).ok());
  req.attested_spkis = {compressed_spki(key(pki::KeySpec::p384()))};
  auto other = check_finalize_csr(csr(device, {}), req);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().detail, "CSR public key does not match the attested key");
}

TEST(FinalizeCsr, HardwareModuleSan) {
  auto device = key();
  auto req = requirements({{"hardware-module", "HW42/1.3.6.1.4.1.99"}});
  req.attested_spkis = {device.public_key().spki_der()};
  pki::CsrSpec spec;
  spec.sans.hardware_modules = {{"1.3.6.1.4.1.99", to_bytes("HW42")}};
  EXPECT_TRUE(check_finalize_csr(pki::build_csr(spec, device)->to_der(), req).ok());
  spec.sans.hardware_modules = {{"1.3.6.1.4.1.98", to_bytes("HW42")}};
  EXPECT_EQ(check_finalize_csr(pki::build_csr(spec, device)->to_der(), req).error().type, "badCSR");
}

}  // namespace
}  // namespace attestlab::server

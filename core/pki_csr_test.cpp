#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>

#include "core/pki.h"
#include "core/pki_internal.h"
#include "testing/openssl_spki.h"

namespace attestlab::pki {
namespace {

PrivateKey key_for(KeySpec spec) {
  auto key = PrivateKey::generate(spec);
  EXPECT_TRUE(key.ok());
  return key.ok() ? *key : PrivateKey();
}

// A signed CSR whose subjectAltName extnValue is exactly `san_value` (build_csr only
// writes valid GeneralNames, so this goes through OpenSSL directly).
Csr csr_with_raw_san(const Bytes& san_value) {
  PrivateKey key = key_for(KeySpec::p256());
  ossl::ReqPtr req(X509_REQ_new());
  auto ext = detail::make_extension("2.5.29.17", san_value, false);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  const bool built = req && ext.ok() && exts != nullptr &&
                     X509_REQ_set_pubkey(req.get(), key.get()) == 1 &&
                     sk_X509_EXTENSION_push(exts, ext->get()) > 0 &&
                     X509_REQ_add_extensions(req.get(), exts) == 1 &&
                     X509_REQ_sign(req.get(), key.get(), EVP_sha256()) > 0;
  sk_X509_EXTENSION_free(exts);  // borrows the extension, which `ext` still owns
  EXPECT_TRUE(built);
  return Csr(std::move(req));
}

CsrSpec device_csr_spec() {
  CsrSpec spec;
  spec.subject = {{"CN", "C02XL0GVJGH5"}, {"O", "Example"}};
  spec.sans.dns = {"device.example"};
  spec.sans.ip = {"::1", "10.0.0.1"};
  spec.sans.permanent_ids = {{"C02XL0GVJGH5", std::nullopt},
                             {"00008103-000A4C9E1E8A001E", "1.3.6.1.4.1.99999.7"}};
  spec.sans.hardware_modules = {{"1.3.6.1.4.1.99999.3", to_bytes("serial-1")}};
  spec.sans.upn = {"user@corp.example"};
  spec.key_usage_digital_signature = true;
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.2"};
  return spec;
}

TEST(PkiCsr, BuildParseVerifyEveryKeyKind) {
  for (auto ks : {KeySpec::p256(), KeySpec::p384(), KeySpec::p521(), KeySpec::rsa(2048),
                  KeySpec::ed25519()}) {
    SCOPED_TRACE(ks.name());
    PrivateKey key = key_for(ks);
    auto built = build_csr(device_csr_spec(), key);
    ASSERT_TRUE(built.ok()) << built.error().detail;
    const Bytes der = built->to_der();
    auto csr = Csr::from_der(der);
    ASSERT_TRUE(csr.ok()) << csr.error().detail;
    EXPECT_TRUE(csr->verify_signature());
    EXPECT_EQ(csr->to_der(), der);
    EXPECT_EQ(csr->spki_der(), key.public_key().spki_der());
    ASSERT_NE(csr->key(), nullptr);
    EXPECT_TRUE(csr->public_key().equals(key.public_key()));
    EXPECT_EQ(csr->common_name(), "C02XL0GVJGH5");
    EXPECT_EQ(csr->subject(), (DistinguishedName{{"CN", "C02XL0GVJGH5"}, {"O", "Example"}}));
    auto sans = csr->subject_alt_names();
    ASSERT_TRUE(sans.ok()) << sans.error().detail;
    EXPECT_EQ(sans->dns, (std::vector<std::string>{"device.example"}));
    EXPECT_EQ(sans->ip, (std::vector<std::string>{"::1", "10.0.0.1"}));
    EXPECT_EQ(sans->upn, (std::vector<std::string>{"user@corp.example"}));
    ASSERT_EQ(sans->permanent_ids.size(), 2u);
    EXPECT_EQ(sans->permanent_ids[0].value, "C02XL0GVJGH5");
    EXPECT_FALSE(sans->permanent_ids[0].assigner.has_value());
    EXPECT_EQ(sans->permanent_ids[1].value, "00008103-000A4C9E1E8A001E");
    EXPECT_EQ(sans->permanent_ids[1].assigner, "1.3.6.1.4.1.99999.7");
    EXPECT_EQ(sans->hardware_modules, device_csr_spec().sans.hardware_modules);
  }
}

// build_csr writes a named-curve key from its point, not through OpenSSL's encoder: OpenSSL
// itself (d2i_X509_REQ in the default context, which decodes the key) reads the same key
// and verifies the signature, for every kind of key and for an EC key kept in compressed
// form (which takes X509_REQ_set_pubkey).
TEST(PkiCsr, BuiltCsrIsReadByOpenSslItself) {
  std::vector<PrivateKey> keys;
  for (auto ks :
       {KeySpec::p256(), KeySpec::p384(), KeySpec::p521(), KeySpec::rsa(2048), KeySpec::ed25519()})
    keys.push_back(key_for(ks));
  ossl::PKey compressed(EVP_PKEY_dup(keys.front().get()));
  ASSERT_TRUE(compressed);
  ASSERT_EQ(EVP_PKEY_set_utf8_string_param(
                compressed.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
            1);
  keys.emplace_back(std::move(compressed));
  for (const auto& key : keys) {
    SCOPED_TRACE(key.spec().name() + " " + std::to_string(testing::openssl_spki(key.get()).size()));
    auto built = build_csr(device_csr_spec(), key);
    ASSERT_TRUE(built.ok()) << built.error().detail;
    EXPECT_TRUE(built->verify_signature());
    EXPECT_TRUE(built->public_key().equals(key.public_key()));
    EXPECT_EQ(built->spki_der(), testing::openssl_spki(key.get()));
    const Bytes der = built->to_der();
    const unsigned char* p = der.data();
    ossl::ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
    ASSERT_TRUE(req);
    EVP_PKEY* read = X509_REQ_get0_pubkey(req.get());
    ASSERT_NE(read, nullptr);
    EXPECT_EQ(EVP_PKEY_eq(read, key.get()), 1);
    EXPECT_EQ(testing::openssl_spki(read), testing::openssl_spki(key.get()));
    EXPECT_EQ(X509_REQ_verify(req.get(), read), 1);
    // A byte of the key changed: OpenSSL's own verify refuses it.
    Bytes tampered = der;
    const Bytes spki = testing::openssl_spki(key.get());
    auto at = std::search(tampered.begin(), tampered.end(), spki.begin(), spki.end());
    ASSERT_NE(at, tampered.end());
    *(at + static_cast<std::ptrdiff_t>(spki.size()) - 2) ^= 0x01;
    p = tampered.data();
    ossl::ReqPtr bad(d2i_X509_REQ(nullptr, &p, static_cast<long>(tampered.size())));
    EVP_PKEY* bad_key = bad ? X509_REQ_get0_pubkey(bad.get()) : nullptr;
    EXPECT_FALSE(bad_key != nullptr && X509_REQ_verify(bad.get(), bad_key) == 1);
    ERR_clear_error();
  }
}

TEST(PkiCsr, SignatureAlgorithmNames) {
  auto p256 = build_csr(device_csr_spec(), key_for(KeySpec::p256()));
  auto p384 = build_csr(device_csr_spec(), key_for(KeySpec::p384()));
  auto rsa = build_csr(device_csr_spec(), key_for(KeySpec::rsa(2048)));
  auto ed = build_csr(device_csr_spec(), key_for(KeySpec::ed25519()));
  ASSERT_TRUE(p256.ok() && p384.ok() && rsa.ok() && ed.ok());
  EXPECT_EQ(p256->signature_algorithm(), "ecdsa-with-SHA256");
  EXPECT_EQ(p384->signature_algorithm(), "ecdsa-with-SHA384");
  EXPECT_EQ(rsa->signature_algorithm(), "sha256WithRSAEncryption");
  EXPECT_EQ(ed->signature_algorithm(), "ED25519");
}

TEST(PkiCsr, PemRoundTrip) {
  auto csr = build_csr(device_csr_spec(), key_for(KeySpec::p256()));
  ASSERT_TRUE(csr.ok());
  const std::string pem = csr->to_pem();
  EXPECT_NE(pem.find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
  auto back = Csr::from_pem(pem);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->to_der(), csr->to_der());
  auto bad = Csr::from_pem(
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().type, "badCSR");
}

TEST(PkiCsr, NoSansAndNoSubject) {
  CsrSpec spec;
  auto csr = build_csr(spec, key_for(KeySpec::p256()));
  ASSERT_TRUE(csr.ok()) << csr.error().detail;
  auto parsed = Csr::from_der(csr->to_der());
  ASSERT_TRUE(parsed.ok());
  auto sans = parsed->subject_alt_names();
  ASSERT_TRUE(sans.ok());
  EXPECT_TRUE(sans->empty());
  EXPECT_FALSE(parsed->common_name().has_value());
  EXPECT_TRUE(parsed->verify_signature());
}

TEST(PkiCsr, PermanentIdentifierWithOnlyAnAssigner) {
  CsrSpec spec;
  spec.sans.permanent_ids = {{"", "1.2.3.4"}};
  auto csr = build_csr(spec, key_for(KeySpec::p256()));
  ASSERT_TRUE(csr.ok()) << csr.error().detail;
  auto sans = Csr::from_der(csr->to_der())->subject_alt_names();
  ASSERT_TRUE(sans.ok());
  ASSERT_EQ(sans->permanent_ids.size(), 1u);
  EXPECT_EQ(sans->permanent_ids[0], (PermanentIdentifier{"", "1.2.3.4"}));
}

// Every single-byte change either makes the CSR unparsable or breaks its signature, and
// none crashes; where OpenSSL's own parse and X509_REQ_verify see the change, they agree
// (ECDSA with SHA-2 is checked over the request's bytes, P-384 through Nettle).
TEST(PkiCsr, TamperedBytesNeverVerify) {
  for (auto ks : {KeySpec::p256(), KeySpec::p384(), KeySpec::p521()}) {
    SCOPED_TRACE(ks.name());
    auto csr = build_csr(device_csr_spec(), key_for(ks));
    ASSERT_TRUE(csr.ok());
    const Bytes der = csr->to_der();
    ASSERT_TRUE(Csr::from_der(der)->verify_signature());
    int parsed_but_rejected = 0, compared = 0;
    for (std::size_t i = 0; i < der.size(); ++i) {
      Bytes tampered = der;
      tampered[i] ^= 0x01;
      auto t = Csr::from_der(tampered);
      if (!t.ok()) {
        EXPECT_EQ(t.error().type, "badCSR");
        continue;
      }
      (void)t->subject_alt_names();
      EXPECT_FALSE(t->verify_signature()) << "byte " << i;
      ++parsed_but_rejected;
      const unsigned char* p = tampered.data();
      ossl::ReqPtr raw(d2i_X509_REQ(nullptr, &p, static_cast<long>(tampered.size())));
      EVP_PKEY* raw_key = raw ? X509_REQ_get0_pubkey(raw.get()) : nullptr;
      if (raw_key != nullptr) {
        EXPECT_NE(X509_REQ_verify(raw.get(), raw_key), 1) << "byte " << i;
        ++compared;
      }
      ERR_clear_error();
    }
    EXPECT_GT(parsed_but_rejected, 0);
    EXPECT_GT(compared, 0);
  }
}

// A CSR whose key is off its curve parses (as d2i_X509_REQ does) with no key, never verifies,
// and is refused by the finalize checks for having no usable key.
TEST(PkiCsr, OffCurveKeyParsesWithoutAKey) {
  for (auto ks : {KeySpec::p256(), KeySpec::p384()}) {
    SCOPED_TRACE(ks.name());
    PrivateKey key = key_for(ks);
    auto built = build_csr(device_csr_spec(), key);
    ASSERT_TRUE(built.ok());
    Bytes der = built->to_der();
    const Bytes spki = key.public_key().spki_der();
    auto at = std::search(der.begin(), der.end(), spki.begin(), spki.end());
    ASSERT_NE(at, der.end());
    *(at + static_cast<long>(spki.size()) - 1) ^= 0x01;  // the point's last byte
    auto csr = Csr::from_der(der);
    ASSERT_TRUE(csr.ok()) << csr.error().detail;
    EXPECT_FALSE(csr->public_key().valid());
    EXPECT_EQ(csr->key(), nullptr);
    EXPECT_FALSE(csr->verify_signature());
    // OpenSSL's own parse agrees: the request decodes, its key does not.
    const unsigned char* p = der.data();
    ossl::ReqPtr raw(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
    ASSERT_TRUE(raw);
    EXPECT_EQ(X509_REQ_get0_pubkey(raw.get()), nullptr);
    ERR_clear_error();
  }
}

TEST(PkiCsr, TruncationsAreBadCsr) {
  auto csr = build_csr(device_csr_spec(), key_for(KeySpec::p256()));
  ASSERT_TRUE(csr.ok());
  const Bytes der = csr->to_der();
  for (std::size_t n = 0; n < der.size(); ++n) {
    auto t = Csr::from_der(Bytes(der.begin(), der.begin() + static_cast<long>(n)));
    ASSERT_FALSE(t.ok()) << "length " << n;
    EXPECT_EQ(t.error().type, "badCSR");
  }
}

TEST(PkiCsr, GarbageIsBadCsr) {
  for (const Bytes& garbage :
       {Bytes{}, to_bytes("hello"), Bytes(100, 0x30), Bytes{0x30, 0x82, 0xff, 0xff}}) {
    auto r = Csr::from_der(garbage);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().type, "badCSR");
  }
}

// A CSR whose subjectAltName extension value is not GeneralNames: parses and verifies, but
// its SANs are Error("badCSR").
TEST(PkiCsr, UndecodableSanExtensionIsBadCsr) {
  for (const Bytes& value : {to_bytes("garbage"), Bytes{0x30, 0x03, 0x87, 0x01, 0x01},
                             Bytes{0x30, 0x05, 0xa0, 0x03, 0x06, 0x01, 0x2a}}) {
    auto csr = Csr::from_der(csr_with_raw_san(value).to_der());
    ASSERT_TRUE(csr.ok());
    EXPECT_TRUE(csr->verify_signature());
    auto sans = csr->subject_alt_names();
    ASSERT_FALSE(sans.ok());
    EXPECT_EQ(sans.error().type, "badCSR");
  }
}

// otherName values that violate RFC 4043 / RFC 4108 are refused, never half-read.
TEST(PkiCsr, MalformedOtherNamesAreBadCsr) {
  const std::string pi_oid = "06082b06010505070803";  // 1.3.6.1.5.5.7.8.3
  const std::string hw_oid = "06082b06010505070804";  // 1.3.6.1.5.5.7.8.4
  auto other_name = [](const std::string& oid_hex, const std::string& value_hex) {
    Bytes oid = *hex_decode(oid_hex);
    Bytes value = *hex_decode(value_hex);
    Bytes wrapped = {0xa0, static_cast<std::uint8_t>(value.size())};
    wrapped.insert(wrapped.end(), value.begin(), value.end());
    Bytes inner = oid;
    inner.insert(inner.end(), wrapped.begin(), wrapped.end());
    Bytes name = {0xa0, static_cast<std::uint8_t>(inner.size())};
    name.insert(name.end(), inner.begin(), inner.end());
    Bytes seq = {0x30, static_cast<std::uint8_t>(name.size())};
    seq.insert(seq.end(), name.begin(), name.end());
    return seq;
  };
  const std::vector<Bytes> bad = {
      other_name(pi_oid, "0c0141"),            // not a SEQUENCE
      other_name(pi_oid, "30060c0141020101"),  // extra INTEGER
      other_name(pi_oid,
                 "3006060100"
                 "0c0141"),              // assigner before value
      other_name(pi_oid, "30030c0541"),  // inner length past end
      other_name(hw_oid, "3003040141"),  // missing hwType
      other_name(hw_oid,
                 "30050603"
                 "2a0304"),  // missing serial
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    Csr csr = csr_with_raw_san(bad[i]);
    ASSERT_TRUE(csr.verify_signature());
    auto sans = csr.subject_alt_names();
    ASSERT_FALSE(sans.ok()) << "case " << i;
    EXPECT_EQ(sans.error().type, "badCSR");
  }
}

TEST(PkiCsr, InvalidSpecIsRefused) {
  CsrSpec spec;
  spec.sans.ip = {"localhost"};
  EXPECT_FALSE(build_csr(spec, key_for(KeySpec::p256())).ok());
  CsrSpec bad_dn;
  bad_dn.subject = {{"NoSuchAttribute", "x"}};
  EXPECT_FALSE(build_csr(bad_dn, key_for(KeySpec::p256())).ok());
  EXPECT_FALSE(build_csr(CsrSpec{}, PrivateKey()).ok());
}

}  // namespace
}  // namespace attestlab::pki

// issue_certificate for CSR subject keys, signature digest choice, and the SPKI accessors.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "core/der.h"
#include "core/pki.h"

namespace attestlab::pki {
namespace {

constexpr std::int64_t kNow = 1795000000;  // 2026-11-18T11:06:40Z
constexpr std::int64_t kDay = 86400;
constexpr const char* kOidEcPublicKey = "1.2.840.10045.2.1";
constexpr const char* kOidRsaEncryption = "1.2.840.113549.1.1.1";
constexpr const char* kOidEd25519 = "1.3.101.112";

PrivateKey key_for(KeySpec spec) {
  auto key = PrivateKey::generate(spec);
  EXPECT_TRUE(key.ok());
  return key.ok() ? *key : PrivateKey();
}

struct Ca {
  PrivateKey key;
  Certificate cert;
};

Ca make_ca(KeySpec spec) {
  Ca ca;
  ca.key = key_for(spec);
  CertificateSpec cs;
  cs.subject = {{"O", "attestlab tests"}, {"CN", "issuing " + spec.name()}};
  cs.not_before = kNow - kDay;
  cs.not_after = kNow + 365 * kDay;
  cs.is_ca = true;
  cs.path_len = 0;
  auto cert = issue_certificate(cs, ca.key.public_key(), nullptr, ca.key);
  EXPECT_TRUE(cert.ok()) << (cert.ok() ? "" : cert.error().detail);
  if (cert.ok()) ca.cert = *cert;
  return ca;
}

Csr csr_for(const PrivateKey& key) {
  CsrSpec spec;
  spec.subject = {{"CN", "ignored by the issuer"}};
  spec.sans.dns = {"csr.example"};
  auto csr = build_csr(spec, key);
  EXPECT_TRUE(csr.ok()) << (csr.ok() ? "" : csr.error().detail);
  return csr.ok() ? std::move(*csr) : Csr();
}

CertificateSpec leaf_spec() {
  CertificateSpec spec;
  spec.subject = {{"CN", "device.example"}};
  spec.sans.dns = {"device.example"};
  spec.sans.ip = {"192.0.2.7"};
  spec.sans.permanent_ids = {{"C02XL0GVJGH5", std::nullopt}};
  spec.sans.hardware_modules = {{"1.3.6.1.4.1.99999.2", Bytes{0xde, 0xad}}};
  spec.not_before = kNow - 60;
  spec.not_after = kNow + 7 * kDay;
  spec.key_usage_key_encipherment = true;
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.2"};
  return spec;
}

Certificate reparsed(const Certificate& cert) {
  auto again = Certificate::from_der(cert.to_der());
  EXPECT_TRUE(again.ok());
  return again.ok() ? *again : Certificate();
}

// The SHA-1 key identifier of a SubjectPublicKeyInfo (RFC 5280 §4.2.1.2 method 1).
Bytes sha1_of_key_bits(const Bytes& spki) {
  der::Reader outer(spki);
  auto seq = outer.next(der::kSequence);
  EXPECT_TRUE(seq.ok());
  der::Reader fields(seq->content);
  EXPECT_TRUE(fields.next(der::kSequence).ok());
  auto bits = fields.next(der::kBitString);
  EXPECT_TRUE(bits.ok());
  Bytes key(bits->content.begin() + 1, bits->content.end());  // past the unused-bits octet
  unsigned char md[20];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(key.data(), key.size(), md, &len, EVP_sha1(), nullptr), 1);
  return Bytes(md, md + len);
}

class IssueFromCsr : public ::testing::TestWithParam<KeySpec> {};

TEST_P(IssueFromCsr, CopiesTheKeyAndBuildsTheSpec) {
  Ca ca = make_ca(KeySpec::p256());
  PrivateKey subject = key_for(GetParam());
  Csr csr = csr_for(subject);
  auto cert = issue_certificate(leaf_spec(), csr, ca.cert, ca.key);
  ASSERT_TRUE(cert.ok()) << cert.error().detail;

  EXPECT_EQ(cert->spki_der(), subject.public_key().spki_der());
  EXPECT_TRUE(cert->signed_by(ca.cert.public_key()));
  Certificate parsed = reparsed(*cert);
  EXPECT_TRUE(parsed.public_key().equals(subject.public_key()));
  EXPECT_TRUE(verify_chain(parsed, {}, {ca.cert}, kNow).ok());

  EXPECT_FALSE(parsed.is_ca());
  EXPECT_EQ(parsed.not_before(), kNow - 60);
  EXPECT_EQ(parsed.not_after(), kNow + 7 * kDay);
  EXPECT_EQ(parsed.subject(), "CN=device.example");
  EXPECT_EQ(parsed.issuer(), ca.cert.subject());
  EXPECT_EQ(parsed.subject_alt_names().dns, std::vector<std::string>{"device.example"});
  EXPECT_EQ(parsed.subject_alt_names().ip, std::vector<std::string>{"192.0.2.7"});
  EXPECT_EQ(parsed.subject_alt_names().permanent_ids, leaf_spec().sans.permanent_ids);
  EXPECT_EQ(parsed.subject_alt_names().hardware_modules, leaf_spec().sans.hardware_modules);
  EXPECT_EQ(parsed.extended_key_usages(), std::vector<std::string>{"1.3.6.1.5.5.7.3.2"});
  // basicConstraints CA:FALSE (empty SEQUENCE); keyUsage digitalSignature|keyEncipherment.
  EXPECT_EQ(parsed.extension_value("2.5.29.19"), (Bytes{0x30, 0x00}));
  EXPECT_EQ(parsed.extension_value("2.5.29.15"), (Bytes{0x03, 0x02, 0x05, 0xa0}));
  EXPECT_EQ(parsed.extension_value("2.5.29.14"),
            der::tlv(der::kOctetString, sha1_of_key_bits(subject.public_key().spki_der())));
  EXPECT_EQ(parsed.extension_value("2.5.29.35"),
            der::tlv(der::kSequence, der::tlv(der::kContext | 0,
                                              sha1_of_key_bits(ca.key.public_key().spki_der()))));
}

INSTANTIATE_TEST_SUITE_P(KeyKinds, IssueFromCsr,
                         ::testing::Values(KeySpec::p256(), KeySpec::p384(), KeySpec::rsa(2048),
                                           KeySpec::ed25519()),
                         [](const auto& info) {
                           std::string name = info.param.name();
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

// With a deterministic signature (RSA PKCS#1 v1.5) and a fixed serial, a CSR's key and the
// same key given as a PublicKey give the same certificate, byte for byte.
TEST(IssueCertificate, CsrAndKeyPathsAgreeByteForByte) {
  Ca ca = make_ca(KeySpec::rsa(2048));
  for (KeySpec spec : {KeySpec::p256(), KeySpec::rsa(2048)}) {
    PrivateKey subject = key_for(spec);
    Csr csr = csr_for(subject);
    CertificateSpec cs = leaf_spec();
    cs.serial = {0x41, 0x02, 0x03};
    auto from_csr = issue_certificate(cs, csr, ca.cert, ca.key);
    auto from_key = issue_certificate(cs, subject.public_key(), &ca.cert, ca.key);
    ASSERT_TRUE(from_csr.ok() && from_key.ok());
    EXPECT_EQ(from_csr->to_der(), from_key->to_der()) << spec.name();
  }
}

TEST(IssueCertificate, EmptySubjectMakesTheSanCritical) {
  Ca ca = make_ca(KeySpec::p256());
  Csr csr = csr_for(key_for(KeySpec::p256()));
  CertificateSpec spec = leaf_spec();
  spec.subject = {};
  auto cert = issue_certificate(spec, csr, ca.cert, ca.key);
  ASSERT_TRUE(cert.ok()) << cert.error().detail;
  EXPECT_EQ(cert->subject(), "");
  const int index = X509_get_ext_by_NID(cert->get(), NID_subject_alt_name, -1);
  ASSERT_GE(index, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert->get(), index)), 1);
}

TEST(IssueCertificate, CsrPathRefusesBadInput) {
  Ca ca = make_ca(KeySpec::p256());
  Ca other = make_ca(KeySpec::p256());
  Csr csr = csr_for(key_for(KeySpec::p256()));
  // The issuer key must match the issuer certificate.
  EXPECT_FALSE(issue_certificate(leaf_spec(), csr, ca.cert, other.key).ok());
  EXPECT_FALSE(issue_certificate(leaf_spec(), csr, Certificate(), ca.key).ok());
  EXPECT_FALSE(issue_certificate(leaf_spec(), Csr(), ca.cert, ca.key).ok());
  EXPECT_FALSE(issue_certificate(leaf_spec(), csr, ca.cert, PrivateKey()).ok());
  CertificateSpec bad_san = leaf_spec();
  bad_san.sans.ip = {"999.1.1.1"};
  auto refused = issue_certificate(bad_san, csr, ca.cert, ca.key);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().type, "malformed");
  CertificateSpec bad_eku = leaf_spec();
  bad_eku.extended_key_usages = {"not an oid"};
  EXPECT_FALSE(issue_certificate(bad_eku, csr, ca.cert, ca.key).ok());
  CertificateSpec bad_name = leaf_spec();
  bad_name.subject = {{"C", "not a country"}};
  EXPECT_FALSE(issue_certificate(bad_name, csr, ca.cert, ca.key).ok());
}

// A CSR whose EC key parameters are an INTEGER instead of the curve OID still parses
// (OpenSSL keeps undecodable keys), but its key cannot be copied into a certificate.
TEST(IssueCertificate, UnsupportedKeyParametersAreBadCsr) {
  Ca ca = make_ca(KeySpec::p256());
  Bytes der = csr_for(key_for(KeySpec::p256())).to_der();
  const Bytes curve = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  auto at = std::search(der.begin(), der.end(), curve.begin(), curve.end());
  ASSERT_NE(at, der.end());
  *at = 0x02;  // OBJECT IDENTIFIER -> INTEGER, same length and content
  auto csr = Csr::from_der(der);
  ASSERT_TRUE(csr.ok()) << csr.error().detail;
  auto cert = issue_certificate(leaf_spec(), *csr, ca.cert, ca.key);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().type, "badCSR");
}

TEST(IssueCertificate, SignatureDigestFollowsTheIssuerKeyUnlessSet) {
  Ca p384 = make_ca(KeySpec::p384());
  PrivateKey subject = key_for(KeySpec::p256());
  CertificateSpec spec = leaf_spec();
  auto by_key = issue_certificate(spec, subject.public_key(), &p384.cert, p384.key);
  ASSERT_TRUE(by_key.ok());
  EXPECT_EQ(X509_get_signature_nid(by_key->get()), NID_ecdsa_with_SHA384);

  spec.signature_digest = Digest::SHA256;
  auto sha256 = issue_certificate(spec, subject.public_key(), &p384.cert, p384.key);
  ASSERT_TRUE(sha256.ok()) << sha256.error().detail;
  EXPECT_EQ(X509_get_signature_nid(sha256->get()), NID_ecdsa_with_SHA256);
  EXPECT_TRUE(sha256->signed_by(p384.cert.public_key()));

  spec.signature_digest = Digest::SHA512;
  auto from_csr = issue_certificate(spec, csr_for(subject), p384.cert, p384.key);
  ASSERT_TRUE(from_csr.ok()) << from_csr.error().detail;
  EXPECT_EQ(X509_get_signature_nid(from_csr->get()), NID_ecdsa_with_SHA512);

  // A digest that does not suit the key is refused rather than silently replaced.
  spec.signature_digest = Digest::None;
  auto none = issue_certificate(spec, subject.public_key(), &p384.cert, p384.key);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().type, "malformed");
  Ca ed = make_ca(KeySpec::ed25519());
  spec.signature_digest = Digest::SHA256;
  EXPECT_FALSE(issue_certificate(spec, subject.public_key(), &ed.cert, ed.key).ok());
  spec.signature_digest = Digest::None;
  auto pure = issue_certificate(spec, subject.public_key(), &ed.cert, ed.key);
  ASSERT_TRUE(pure.ok()) << pure.error().detail;
  EXPECT_TRUE(pure->signed_by(ed.cert.public_key()));
}

// issue_certificate_der writes DER itself. OpenSSL parses what it writes and, encoding the
// parsed TBSCertificate and certificate again, gets the same bytes (DER has one encoding, so
// a non-minimal length or integer, or a FALSE written out, would differ); the signature
// verifies; each time has the type and text ASN1_TIME_set gives it; the serial and the
// fields returned beside the DER are the certificate's.
TEST(IssueCertificate, WritesTheDerOpenSslWouldEncode) {
  struct Case {
    std::string name;
    CertificateSpec spec;
  };
  std::vector<Case> cases;
  cases.push_back({"leaf", leaf_spec()});
  CertificateSpec ca_spec = leaf_spec();
  ca_spec.subject = {{"C", "US"}, {"O", "attestlab"}, {"emailAddress", "ca@example.org"}};
  ca_spec.is_ca = true;
  ca_spec.path_len = 0;
  ca_spec.extended_key_usages.clear();
  ca_spec.extra_extensions = {{"1.2.840.113635.100.8.9.1", Bytes{0x04, 0x01, 0x07}, true}};
  cases.push_back({"ca", ca_spec});
  CertificateSpec bare = leaf_spec();
  bare.subject = {};
  bare.is_ca = true;  // no pathLenConstraint
  bare.key_usage_digital_signature = false;
  bare.key_usage_key_encipherment = false;
  bare.subject_key_id = false;
  bare.authority_key_id = false;
  cases.push_back({"bare", bare});
  // Serials: high bit set (a 0x00 goes before it), leading zeros (dropped), zero.
  const std::vector<Bytes> serials = {{0x80, 0x01}, {0x00, 0x00, 0x12, 0x34}, {0x00}, {0x7f}};
  // Times around the UTCTime/GeneralizedTime switches (1950, 2050) and at the far end.
  const std::vector<std::pair<std::int64_t, std::int64_t>> windows = {
      {-631152001, -631152000},  // 1949-12-31T23:59:59Z, 1950-01-01T00:00:00Z
      {2524607999, 2524608000},  // 2049-12-31T23:59:59Z, 2050-01-01T00:00:00Z
      {kNow, 253402300799},      // 9999-12-31T23:59:59Z
  };
  std::size_t checked = 0;
  for (KeySpec issuer_spec :
       {KeySpec::p256(), KeySpec::p384(), KeySpec::rsa(2048), KeySpec::ed25519()}) {
    Ca ca = make_ca(issuer_spec);
    for (KeySpec subject_spec : {KeySpec::p256(), KeySpec::rsa(2048)}) {
      const PrivateKey subject = key_for(subject_spec);
      for (std::size_t i = 0; i < cases.size(); ++i) {
        CertificateSpec spec = cases[i].spec;
        spec.serial = serials[(i + checked) % serials.size()];
        std::tie(spec.not_before, spec.not_after) = windows[(i + checked) % windows.size()];
        const std::string what =
            issuer_spec.name() + " issuing " + cases[i].name + " for " + subject_spec.name();
        auto issued =
            issue_certificate_der(spec, subject.public_key().spki_der(), &ca.cert, ca.key);
        ASSERT_TRUE(issued.ok()) << what << ": " << issued.error().detail;

        const unsigned char* in = issued->der.data();
        ossl::X509Ptr parsed(d2i_X509(nullptr, &in, static_cast<long>(issued->der.size())));
        ASSERT_TRUE(parsed) << what;
        ASSERT_EQ(in, issued->der.data() + issued->der.size()) << what;
        unsigned char* reencoded = nullptr;
        const int length = i2d_re_X509_tbs(parsed.get(), &reencoded);
        ASSERT_GT(length, 0) << what;
        const Bytes tbs(reencoded, reencoded + length);
        OPENSSL_free(reencoded);
        der::Reader outer(issued->der);
        auto certificate = outer.next(der::kSequence);
        ASSERT_TRUE(certificate.ok()) << what;
        der::Reader parts(certificate->content);
        auto written_tbs = parts.next(der::kSequence);
        ASSERT_TRUE(written_tbs.ok()) << what;
        EXPECT_EQ(der::tlv(der::kSequence, written_tbs->content), tbs) << what;
        Certificate cert(std::move(parsed));
        EXPECT_EQ(cert.to_der(), issued->der) << what;
        EXPECT_EQ(X509_verify(cert.get(), ca.cert.public_key().get()), 1) << what;

        for (auto [time, when] : {std::pair{X509_get0_notBefore(cert.get()), spec.not_before},
                                  std::pair{X509_get0_notAfter(cert.get()), spec.not_after}}) {
          ossl::Asn1StringPtr expected(ASN1_TIME_set(nullptr, static_cast<time_t>(when)));
          ASSERT_TRUE(expected) << what;
          EXPECT_EQ(ASN1_STRING_type(time), ASN1_STRING_type(expected.get()))
              << what << " " << when;
          EXPECT_EQ(ASN1_STRING_cmp(time, expected.get()), 0) << what << " " << when;
        }
        EXPECT_EQ(issued->serial_hex, cert.serial_hex()) << what;
        EXPECT_EQ(issued->spki_der, cert.spki_der()) << what;
        EXPECT_EQ(issued->not_before, cert.not_before()) << what;
        EXPECT_EQ(issued->not_after, cert.not_after()) << what;
        EXPECT_EQ(issued->to_pem(), cert.to_pem()) << what;
        EXPECT_EQ(cert.issuer(), ca.cert.subject()) << what;
        EXPECT_EQ(cert.is_ca(), spec.is_ca) << what;
        EXPECT_EQ(X509_get_ext_count(cert.get()),
                  2 +
                      (spec.key_usage_digital_signature || spec.key_usage_key_encipherment ||
                               spec.key_usage_cert_sign || spec.is_ca
                           ? 1
                           : 0) +
                      (spec.extended_key_usages.empty() ? 0 : 1) + (spec.subject_key_id ? 1 : 0) +
                      (spec.authority_key_id ? 1 : 0) +
                      static_cast<int>(spec.extra_extensions.size()))
            << what;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 4u * 2u * cases.size());
}

// The serial's hex is Certificate::serial_hex's: no leading zeros, "0" for zero.
TEST(IssueCertificate, SerialHexIsTheCertificates) {
  Ca ca = make_ca(KeySpec::p256());
  const PublicKey subject = key_for(KeySpec::p256()).public_key();
  for (const Bytes& serial : std::vector<Bytes>{{0x00}, {0x00, 0x0a}, {0x0a, 0xbc}, {0xff}}) {
    CertificateSpec spec = leaf_spec();
    spec.serial = serial;
    auto issued = issue_certificate_der(spec, subject.spki_der(), &ca.cert, ca.key);
    ASSERT_TRUE(issued.ok()) << issued.error().detail;
    auto cert = Certificate::from_der(issued->der);
    ASSERT_TRUE(cert.ok());
    EXPECT_EQ(issued->serial_hex, cert->serial_hex());
  }
  CertificateSpec spec = leaf_spec();
  spec.serial = {0x00, 0x0a};
  EXPECT_EQ(issue_certificate_der(spec, subject.spki_der(), &ca.cert, ca.key)->serial_hex, "a");
  spec.serial = {0x00};
  EXPECT_EQ(issue_certificate_der(spec, subject.spki_der(), &ca.cert, ca.key)->serial_hex, "0");
}

// A key whose BIT STRING has unused bits, or which is not a SubjectPublicKeyInfo at all, is
// not put in a certificate; nor is a time past year 9999.
TEST(IssueCertificate, RefusesWhatACertificateCannotCarry) {
  Ca ca = make_ca(KeySpec::p256());
  Bytes spki = key_for(KeySpec::p256()).public_key().spki_der();
  // The P-256 SPKI ends in BIT STRING 03 42 00 04 ...: set one unused bit.
  ASSERT_GE(spki.size(), 66u);
  ASSERT_EQ(spki[spki.size() - 66], 0x00);
  Bytes unused = spki;
  unused[unused.size() - 66] = 0x01;
  auto refused = issue_certificate_der(leaf_spec(), unused, &ca.cert, ca.key);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().type, "badCSR");
  EXPECT_FALSE(issue_certificate_der(leaf_spec(), Bytes{0x30, 0x00}, &ca.cert, ca.key).ok());
  EXPECT_FALSE(issue_certificate_der(leaf_spec(), Bytes{}, &ca.cert, ca.key).ok());
  Bytes trailing = spki;
  trailing.push_back(0x00);
  EXPECT_FALSE(issue_certificate_der(leaf_spec(), trailing, &ca.cert, ca.key).ok());
  CertificateSpec far = leaf_spec();
  far.not_after = 253402300800;  // 10000-01-01T00:00:00Z
  auto too_far = issue_certificate_der(far, spki, &ca.cert, ca.key);
  ASSERT_FALSE(too_far.ok());
  EXPECT_EQ(too_far.error().type, "malformed");
  EXPECT_TRUE(issue_certificate_der(leaf_spec(), spki, &ca.cert, ca.key).ok());

  // An RSA-PSS issuer key would sign with PSS under a PKCS#1 v1.5 algorithm: refused.
  ossl::PKeyCtx keygen(EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr));
  EVP_PKEY* generated = nullptr;
  ASSERT_TRUE(keygen && EVP_PKEY_keygen_init(keygen.get()) == 1 &&
              EVP_PKEY_CTX_set_rsa_keygen_bits(keygen.get(), 2048) == 1 &&
              EVP_PKEY_generate(keygen.get(), &generated) == 1);
  PrivateKey pss{ossl::PKey(generated)};
  ASSERT_EQ(EVP_PKEY_get_base_id(pss.get()), EVP_PKEY_RSA_PSS);
  auto refused_pss = issue_certificate_der(leaf_spec(), pss.public_key().spki_der(), nullptr, pss);
  ASSERT_FALSE(refused_pss.ok());
  EXPECT_NE(refused_pss.error().detail.find("RSA-PSS"), std::string::npos);
}

TEST(PkiSpki, CertificateSpkiIsTheKeysSpki) {
  Ca ca = make_ca(KeySpec::p384());
  EXPECT_EQ(ca.cert.spki_der(), ca.key.public_key().spki_der());
  EXPECT_EQ(reparsed(ca.cert).spki_der(), ca.key.public_key().spki_der());
  EXPECT_TRUE(Certificate().spki_der().empty());
}

TEST(PkiSpki, CsrSpkiIsTheKeysSpki) {
  const PrivateKey key = key_for(KeySpec::p384());
  const Csr csr = csr_for(key);
  EXPECT_EQ(csr.spki_der(), key.public_key().spki_der());
  EXPECT_EQ(Csr::from_der(csr.to_der())->spki_der(), key.public_key().spki_der());
  EXPECT_TRUE(Csr().spki_der().empty());
}

TEST(PkiSpki, CsrPublicKeyAlgorithm) {
  EXPECT_EQ(csr_for(key_for(KeySpec::p256())).public_key_algorithm(), kOidEcPublicKey);
  EXPECT_EQ(csr_for(key_for(KeySpec::p384())).public_key_algorithm(), kOidEcPublicKey);
  EXPECT_EQ(csr_for(key_for(KeySpec::rsa(2048))).public_key_algorithm(), kOidRsaEncryption);
  EXPECT_EQ(csr_for(key_for(KeySpec::ed25519())).public_key_algorithm(), kOidEd25519);
  EXPECT_EQ(Csr().public_key_algorithm(), "");
}

}  // namespace
}  // namespace attestlab::pki

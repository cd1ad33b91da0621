#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <set>
#include <string>

#include "core/bytes.h"
#include "core/pki.h"

namespace attestlab::pki {
namespace {

constexpr std::int64_t kNow = 1795000000;  // 2026-11-18T11:06:40Z
constexpr std::int64_t kDay = 86400;

struct Issued {
  PrivateKey key;
  Certificate cert;
};

// root (self-signed CA, P-384) -> intermediate (CA, P-256) -> leaf (P-256).
struct TestChain {
  Issued root, intermediate, leaf;
};

Issued issue(const CertificateSpec& spec, KeySpec key_spec, const Issued* issuer) {
  Issued out;
  auto key = PrivateKey::generate(key_spec);
  EXPECT_TRUE(key.ok());
  out.key = *key;
  auto cert = issue_certificate(spec, out.key.public_key(), issuer ? &issuer->cert : nullptr,
                                issuer ? issuer->key : out.key);
  EXPECT_TRUE(cert.ok()) << (cert.ok() ? "" : cert.error().detail);
  if (cert.ok()) out.cert = *cert;
  return out;
}

CertificateSpec ca_spec(const std::string& cn, int path_len) {
  CertificateSpec spec;
  spec.subject = {{"CN", cn}, {"O", "attestlab tests"}};
  spec.not_before = kNow - kDay;
  spec.not_after = kNow + 365 * kDay;
  spec.is_ca = true;
  spec.path_len = path_len;
  spec.key_usage_cert_sign = true;
  return spec;
}

CertificateSpec leaf_spec() {
  CertificateSpec spec;
  spec.subject = {{"CN", "device.example"}};
  spec.not_before = kNow - 60;
  spec.not_after = kNow + 7 * kDay;
  spec.sans.dns = {"device.example", "*.device.example"};
  spec.sans.ip = {"192.0.2.7", "2001:db8:0:0:0:0:0:1"};
  spec.sans.email = {"ops@example.com"};
  spec.sans.uri = {"urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"};
  spec.sans.upn = {"device@corp.example"};
  spec.sans.permanent_ids = {{"C02XL0GVJGH5", std::nullopt},
                             {"00008103-000A4C9E1E8A001E", "1.3.6.1.4.1.99999.1"}};
  spec.sans.hardware_modules = {{"1.3.6.1.4.1.99999.2", Bytes{0xde, 0xad, 0xbe, 0xef}}};
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"};
  spec.extra_extensions = {{"1.2.840.113635.100.8.9.1", to_bytes("C02XL0GVJGH5"), false}};
  spec.serial = {0x00, 0x12, 0xab};
  return spec;
}

TestChain make_chain() {
  TestChain c;
  c.root = issue(ca_spec("Test Root", 1), KeySpec::p384(), nullptr);
  c.intermediate = issue(ca_spec("Test Intermediate", 0), KeySpec::p256(), &c.root);
  c.leaf = issue(leaf_spec(), KeySpec::p256(), &c.intermediate);
  return c;
}

TEST(PkiCertificate, IssuedFieldsParseBack) {
  TestChain c = make_chain();
  ASSERT_TRUE(c.leaf.cert.valid());
  auto parsed = Certificate::from_der(c.leaf.cert.to_der());
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  const Certificate& leaf = *parsed;

  EXPECT_EQ(leaf.subject(), "CN=device.example");
  EXPECT_EQ(leaf.issuer(), "O=attestlab tests,CN=Test Intermediate");
  EXPECT_EQ(leaf.serial_hex(), "12ab");
  EXPECT_EQ(leaf.not_before(), kNow - 60);
  EXPECT_EQ(leaf.not_after(), kNow + 7 * kDay);
  EXPECT_FALSE(leaf.is_ca());
  EXPECT_TRUE(c.intermediate.cert.is_ca());
  EXPECT_TRUE(c.root.cert.is_ca());
  EXPECT_TRUE(leaf.public_key().equals(c.leaf.key.public_key()));
  EXPECT_EQ(leaf.extended_key_usages(),
            (std::vector<std::string>{"1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"}));

  const SubjectAltNames sans = leaf.subject_alt_names();
  EXPECT_EQ(sans.dns, leaf_spec().sans.dns);
  EXPECT_EQ(sans.ip, (std::vector<std::string>{"192.0.2.7", "2001:db8::1"}));  // canonical
  EXPECT_EQ(sans.email, leaf_spec().sans.email);
  EXPECT_EQ(sans.uri, leaf_spec().sans.uri);
  EXPECT_EQ(sans.upn, leaf_spec().sans.upn);
  EXPECT_EQ(sans.permanent_ids, leaf_spec().sans.permanent_ids);
  EXPECT_EQ(sans.hardware_modules, leaf_spec().sans.hardware_modules);

  auto raw = leaf.extension_value("1.2.840.113635.100.8.9.1");
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(to_string(*raw), "C02XL0GVJGH5");
  EXPECT_FALSE(leaf.extension_value("1.2.840.113635.100.8.9.2").has_value());
  EXPECT_FALSE(leaf.extension_value("not an oid").has_value());

  EXPECT_EQ(leaf.fingerprint_sha256(), sha256(c.leaf.cert.to_der()));
  EXPECT_TRUE(leaf.signed_by(c.intermediate.cert.public_key()));
  EXPECT_FALSE(leaf.signed_by(c.root.cert.public_key()));
  EXPECT_TRUE(c.root.cert.signed_by(c.root.cert.public_key()));
}

TEST(PkiCertificate, KeyIdentifiersLinkTheChain) {
  TestChain c = make_chain();
  auto root_ski = c.root.cert.extension_value("2.5.29.14");
  auto inter_aki = c.intermediate.cert.extension_value("2.5.29.35");
  ASSERT_TRUE(root_ski && inter_aki);
  // SKI = OCTET STRING(id); AKI = SEQUENCE { [0] id }: same 20 identifier bytes.
  ASSERT_EQ(root_ski->size(), 22u);
  ASSERT_EQ(inter_aki->size(), 24u);
  EXPECT_TRUE(std::equal(root_ski->begin() + 2, root_ski->end(), inter_aki->begin() + 4));
}

TEST(PkiCertificate, PemRoundTripAndBundles) {
  TestChain c = make_chain();
  auto one = Certificate::from_pem(c.leaf.cert.to_pem());
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->to_der(), c.leaf.cert.to_der());
  auto bundle = Certificate::bundle_from_pem(c.leaf.cert.to_pem() + c.intermediate.cert.to_pem() +
                                             c.root.cert.to_pem());
  ASSERT_TRUE(bundle.ok());
  ASSERT_EQ(bundle->size(), 3u);
  EXPECT_EQ((*bundle)[2].to_der(), c.root.cert.to_der());
  EXPECT_FALSE(Certificate::bundle_from_pem("").ok());
  EXPECT_FALSE(Certificate::from_pem("garbage").ok());
  EXPECT_FALSE(Certificate::from_der(to_bytes("garbage")).ok());
  Bytes trailing = c.leaf.cert.to_der();
  trailing.push_back(0);
  EXPECT_FALSE(Certificate::from_der(trailing).ok());
}

// to_pem armours the DER itself: the text must be what OpenSSL's PEM_write_bio_X509 writes,
// for every length of the last base64 line (DER lengths of every residue modulo 48: one
// more SAN byte at a time).
TEST(PkiCertificate, ToPemIsOpenSslsText) {
  TestChain c = make_chain();
  auto openssl_pem = [](const Certificate& cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    EXPECT_EQ(PEM_write_bio_X509(bio, cert.get()), 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string text(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return text;
  };
  // An Ed25519 issuer signs in 64 bytes every time, so each extra character lengthens the
  // DER by exactly one (an ECDSA issuer's signature length varies, and whether all 48 tails
  // were seen in 400 tries was left to chance: one run in a few hundred missed one).
  const Issued fixed = issue(ca_spec("fixed-length signer", 0), KeySpec::ed25519(), nullptr);
  std::set<std::size_t> tails;
  for (int extra = 0; extra < 48 + 8; ++extra) {
    CertificateSpec spec = leaf_spec();
    spec.sans.dns = {std::string(static_cast<std::size_t>(1 + extra), 'a') + ".example"};
    Issued leaf = issue(spec, KeySpec::p256(), &fixed);
    tails.insert(leaf.cert.to_der().size() % 48);
    EXPECT_EQ(leaf.cert.to_pem(), openssl_pem(leaf.cert)) << leaf.cert.to_der().size();
  }
  EXPECT_EQ(tails.size(), 48u);  // every length of the last line was seen
  for (const Certificate* cert : {&c.root.cert, &c.intermediate.cert})
    EXPECT_EQ(cert->to_pem(), openssl_pem(*cert));
  EXPECT_EQ(Certificate().to_pem(), "");
}

TEST(PkiCertificate, RandomSerialIsPositiveAndUnique) {
  PrivateKey key = *PrivateKey::generate(KeySpec::p256());
  CertificateSpec spec = ca_spec("serial", -1);
  auto a = issue_certificate(spec, key.public_key(), nullptr, key);
  auto b = issue_certificate(spec, key.public_key(), nullptr, key);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->serial_hex(), b->serial_hex());
  EXPECT_EQ(a->serial_hex().size(), 32u);
  EXPECT_NE(a->serial_hex()[0], '-');
  EXPECT_EQ(a->serial_hex().substr(0, 2), "40");
}

TEST(PkiCertificate, NewSerialsSortByTimeAndCarry72RandomBits) {
  const std::int64_t times[] = {
      0, 255, 256, 1733400000000, 1733400000001, 1733400001000, 4102444800000};
  std::string previous;
  for (std::int64_t t : times) {
    const Bytes serial = new_serial(t);
    ASSERT_EQ(serial.size(), 16u);
    EXPECT_EQ(serial[0], 0x40);  // positive, 16 significant bytes
    std::uint64_t millis = 0;
    for (int i = 1; i <= 6; ++i) millis = millis << 8 | serial[i];
    EXPECT_EQ(millis, static_cast<std::uint64_t>(t));
    const std::string hex = hex_encode(serial);
    if (!previous.empty()) {
      EXPECT_LT(previous, hex) << "at " << t;
    }
    previous = hex;
  }
  // 72 random bits: 50 serials of one millisecond all differ, in their last nine bytes.
  std::set<Bytes> tails;
  for (int i = 0; i < 50; ++i) {
    const Bytes serial = new_serial(1733400000000);
    tails.insert(Bytes(serial.begin() + 7, serial.end()));
  }
  EXPECT_EQ(tails.size(), 50u);
  // What issuing uses when the spec names no serial, taken now.
  PrivateKey key = *PrivateKey::generate(KeySpec::p256());
  const std::string before = hex_encode(new_serial());
  auto cert = issue_certificate(ca_spec("serial", -1), key.public_key(), nullptr, key);
  ASSERT_TRUE(cert.ok());
  EXPECT_LE(before.substr(0, 14), cert->serial_hex().substr(0, 14));
  EXPECT_GE(hex_encode(new_serial()).substr(0, 14), cert->serial_hex().substr(0, 14));
}

TEST(PkiCertificate, SelfSignedNeedsMatchingKey) {
  PrivateKey key = *PrivateKey::generate(KeySpec::p256());
  PrivateKey other = *PrivateKey::generate(KeySpec::p256());
  EXPECT_FALSE(issue_certificate(ca_spec("x", -1), key.public_key(), nullptr, other).ok());
  auto root = issue_certificate(ca_spec("x", -1), key.public_key(), nullptr, key);
  ASSERT_TRUE(root.ok());
  // issuer key must match the issuer certificate
  EXPECT_FALSE(issue_certificate(leaf_spec(), other.public_key(), &*root, other).ok());
}

TEST(PkiCertificate, InvalidSansAreRefused) {
  PrivateKey key = *PrivateKey::generate(KeySpec::p256());
  CertificateSpec spec = leaf_spec();
  spec.sans = {};
  spec.sans.ip = {"999.1.1.1"};
  EXPECT_FALSE(issue_certificate(spec, key.public_key(), nullptr, key).ok());
  spec.sans = {};
  spec.sans.dns = {std::string("a.example\0.evil", 15)};
  EXPECT_FALSE(issue_certificate(spec, key.public_key(), nullptr, key).ok());
  spec.sans = {};
  spec.sans.hardware_modules = {{"not.an.oid", {}}};
  EXPECT_FALSE(issue_certificate(spec, key.public_key(), nullptr, key).ok());
}

TEST(PkiCertificate, Ed25519AndRsaIssuers) {
  for (auto ks : {KeySpec::ed25519(), KeySpec::rsa(2048)}) {
    Issued root = issue(ca_spec("root " + ks.name(), -1), ks, nullptr);
    Issued leaf = issue(leaf_spec(), KeySpec::p256(), &root);
    ASSERT_TRUE(leaf.cert.valid());
    EXPECT_TRUE(leaf.cert.signed_by(root.cert.public_key()));
    EXPECT_TRUE(verify_chain(leaf.cert, {}, {root.cert}, kNow).ok());
  }
}

// Single-byte corruptions of a certificate with every SAN form: parsing either fails or
// every accessor returns normally.
TEST(PkiCertificate, CorruptedCertificatesNeverCrash) {
  TestChain c = make_chain();
  const Bytes der = c.leaf.cert.to_der();
  int parsed = 0;
  for (std::size_t i = 0; i < der.size(); ++i) {
    for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = der;
      bad[i] ^= mask;
      auto cert = Certificate::from_der(bad);
      if (!cert.ok()) continue;
      ++parsed;
      (void)cert->subject_alt_names();
      (void)cert->extended_key_usages();
      (void)cert->extension_value("1.2.840.113635.100.8.9.1");
      (void)cert->subject();
      (void)cert->serial_hex();
      (void)cert->is_ca();
      (void)cert->not_after();
      (void)cert->public_key().spki_der();
      EXPECT_FALSE(verify_chain(*cert, {c.intermediate.cert}, {c.root.cert}, kNow).ok() &&
                   bad != der)
          << "corrupted certificate verified, byte " << i;
    }
  }
  EXPECT_GT(parsed, 0);
}

// ---- verify_chain ----

TEST(PkiChain, VerifiesThroughIntermediate) {
  TestChain c = make_chain();
  auto r = verify_chain(c.leaf.cert, {c.intermediate.cert}, {c.root.cert}, kNow);
  EXPECT_TRUE(r.ok()) << r.error().detail;
}

TEST(PkiChain, WrongRootFails) {
  TestChain c = make_chain();
  TestChain other = make_chain();
  auto r = verify_chain(c.leaf.cert, {c.intermediate.cert}, {other.root.cert}, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "unauthorized");
  EXPECT_EQ(r.error().detail, "unable to get local issuer certificate");
}

TEST(PkiChain, AfterNotAfterFails) {
  TestChain c = make_chain();
  auto r = verify_chain(c.leaf.cert, {c.intermediate.cert}, {c.root.cert}, kNow + 8 * kDay);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "unauthorized");
  EXPECT_EQ(r.error().detail, "certificate has expired");
  auto early = verify_chain(c.leaf.cert, {c.intermediate.cert}, {c.root.cert}, kNow - 3600);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().detail, "certificate is not yet valid");
}

TEST(PkiChain, IntermediateIsNotATrustAnchor) {
  TestChain c = make_chain();
  // No partial chains: trusting only the intermediate is not enough.
  EXPECT_FALSE(verify_chain(c.leaf.cert, {}, {c.intermediate.cert}, kNow).ok());
  // Missing intermediate.
  EXPECT_FALSE(verify_chain(c.leaf.cert, {}, {c.root.cert}, kNow).ok());
  // Roots passed as intermediates are not trusted.
  EXPECT_FALSE(verify_chain(c.leaf.cert, {c.intermediate.cert, c.root.cert}, {}, kNow).ok());
  TestChain other = make_chain();
  EXPECT_FALSE(
      verify_chain(c.leaf.cert, {c.intermediate.cert, c.root.cert}, {other.root.cert}, kNow).ok());
}

TEST(PkiChain, AnIntermediateAnchorsOnlyWhenAskedFor) {
  // Anchors::AsGiven: the intermediate given as the anchor ends the chain; the leaf's
  // signature and the validity of both are still checked.
  TestChain c = make_chain();
  EXPECT_TRUE(verify_chain(c.leaf.cert, {}, {c.intermediate.cert}, kNow, Anchors::AsGiven).ok());
  TestChain other = make_chain();
  auto foreign = verify_chain(c.leaf.cert, {}, {other.intermediate.cert}, kNow, Anchors::AsGiven);
  EXPECT_FALSE(foreign.ok());
  auto late =
      verify_chain(c.leaf.cert, {}, {c.intermediate.cert}, kNow + 8 * kDay, Anchors::AsGiven);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().detail, "certificate has expired");
}

TEST(PkiChain, PathLenIsEnforced) {
  Issued root = issue(ca_spec("root", 0), KeySpec::p256(), nullptr);
  Issued inter = issue(ca_spec("inter", -1), KeySpec::p256(), &root);
  Issued leaf = issue(leaf_spec(), KeySpec::p256(), &inter);
  auto r = verify_chain(leaf.cert, {inter.cert}, {root.cert}, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail, "path length constraint exceeded");
}

TEST(PkiChain, UnknownCriticalExtensionFailsNonCriticalPasses) {
  Issued root = issue(ca_spec("root", -1), KeySpec::p256(), nullptr);
  CertificateSpec spec = leaf_spec();
  spec.extra_extensions = {{"1.2.840.113635.100.8.11.1", Bytes(32, 0xab), false}};
  Issued ok_leaf = issue(spec, KeySpec::p256(), &root);
  EXPECT_TRUE(verify_chain(ok_leaf.cert, {}, {root.cert}, kNow).ok());
  spec.extra_extensions[0].critical = true;
  Issued critical_leaf = issue(spec, KeySpec::p256(), &root);
  auto r = verify_chain(critical_leaf.cert, {}, {root.cert}, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail, "unhandled critical extension");
}

// ---- from_der_lean and verify_issued_by ----

Certificate lean_of(const Certificate& cert) {
  auto lean = Certificate::from_der_lean(cert.to_der());
  EXPECT_TRUE(lean.ok()) << (lean.ok() ? "" : lean.error().detail);
  return lean.ok() ? *lean : Certificate();
}

TEST(PkiLean, ReadsAsTheFullParse) {
  TestChain c = make_chain();
  for (KeySpec spec : {KeySpec::p256(), KeySpec::p384(), KeySpec::p521(), KeySpec::rsa(2048),
                       KeySpec::ed25519()}) {
    Issued leaf = issue(leaf_spec(), spec, &c.intermediate);
    Certificate lean = lean_of(leaf.cert);
    ASSERT_TRUE(lean.valid());
    EXPECT_TRUE(lean.lean());
    EXPECT_FALSE(leaf.cert.lean());
    EXPECT_EQ(lean.to_der(), leaf.cert.to_der());
    EXPECT_EQ(lean.spki_der(), leaf.cert.spki_der());
    EXPECT_TRUE(lean.public_key().equals(leaf.key.public_key())) << spec.name();
    EXPECT_EQ(lean.subject(), leaf.cert.subject());
    EXPECT_EQ(lean.issuer(), leaf.cert.issuer());
    EXPECT_EQ(lean.serial_hex(), leaf.cert.serial_hex());
    EXPECT_EQ(lean.not_before(), leaf.cert.not_before());
    EXPECT_EQ(lean.not_after(), leaf.cert.not_after());
    EXPECT_EQ(lean.is_ca(), leaf.cert.is_ca());
    EXPECT_EQ(lean.extended_key_usages(), leaf.cert.extended_key_usages());
    EXPECT_EQ(lean.subject_alt_names().dns, leaf.cert.subject_alt_names().dns);
    EXPECT_EQ(lean.extension_value("1.2.840.113635.100.8.9.1"),
              leaf.cert.extension_value("1.2.840.113635.100.8.9.1"));
    EXPECT_EQ(lean.fingerprint_sha256(), leaf.cert.fingerprint_sha256());
    EXPECT_TRUE(lean.signed_by(c.intermediate.key.public_key()));
    EXPECT_FALSE(lean.signed_by(c.root.key.public_key()));
    // A copy stays lean, with its key.
    Certificate copy = lean;
    EXPECT_TRUE(copy.lean());
    EXPECT_TRUE(copy.public_key().equals(leaf.key.public_key()));
    // verify_chain parses it again and decides as for the full parse.
    EXPECT_TRUE(verify_chain(lean, {c.intermediate.cert}, {c.root.cert}, kNow).ok());
    EXPECT_TRUE(verify_chain(leaf.cert, {lean_of(c.intermediate.cert)}, {c.root.cert}, kNow).ok());
  }
  EXPECT_FALSE(Certificate::from_der_lean(to_bytes("garbage")).ok());
  Bytes trailing = c.leaf.cert.to_der();
  trailing.push_back(0);
  EXPECT_FALSE(Certificate::from_der_lean(trailing).ok());
}

// verify_issued_by against OpenSSL's own chain check, verify_chain(leaf, {}, {issuer}, at,
// Anchors::AsGiven), case by case: the same verdict and, for a refusal, the same reason,
// with the leaf parsed either way.
void expect_same_verdict(const Certificate& leaf, const Certificate& issuer, std::int64_t at,
                         bool expect_ok, const std::string& what) {
  auto openssl = verify_chain(leaf, {}, {issuer}, at, Anchors::AsGiven);
  EXPECT_EQ(openssl.ok(), expect_ok)
      << what << ": " << (openssl.ok() ? "" : openssl.error().detail);
  for (const Certificate& l : {leaf, lean_of(leaf)}) {
    auto here = verify_issued_by(l, issuer, at);
    ASSERT_EQ(here.ok(), openssl.ok())
        << what << (l.lean() ? " (lean)" : "") << ": " << (here.ok() ? "" : here.error().detail);
    if (!openssl.ok()) {
      EXPECT_EQ(here.error().type, "unauthorized") << what;
      EXPECT_EQ(here.error().detail, openssl.error().detail) << what;
    }
  }
}

TEST(PkiLean, VerifyIssuedByDecidesAsOpenSsl) {
  TestChain c = make_chain();
  expect_same_verdict(c.leaf.cert, c.intermediate.cert, kNow, true, "good");
  expect_same_verdict(c.leaf.cert, c.intermediate.cert, kNow + 8 * kDay, false, "leaf expired");
  expect_same_verdict(c.leaf.cert, c.intermediate.cert, c.leaf.cert.not_after(), false,
                      "at notAfter");
  expect_same_verdict(c.leaf.cert, c.intermediate.cert, c.leaf.cert.not_before(), true,
                      "at notBefore");
  expect_same_verdict(c.leaf.cert, c.intermediate.cert, kNow - 3600, false, "leaf not yet valid");
  TestChain other = make_chain();  // same names, other keys
  expect_same_verdict(c.leaf.cert, other.intermediate.cert, kNow, false, "foreign issuer");
  expect_same_verdict(c.leaf.cert, c.root.cert, kNow, false, "the root, not the issuer");

  // The issuer expired while the leaf is still valid.
  CertificateSpec short_ca = ca_spec("Short Intermediate", 0);
  short_ca.not_after = kNow + kDay;
  Issued short_inter = issue(short_ca, KeySpec::p256(), &c.root);
  Issued long_leaf = issue(leaf_spec(), KeySpec::p256(), &short_inter);
  expect_same_verdict(long_leaf.cert, short_inter.cert, kNow + 2 * kDay, false, "issuer expired");

  // Issuers that may not issue: not a CA, or a CA without keyCertSign.
  CertificateSpec plain = leaf_spec();
  plain.subject = {{"CN", "not a CA"}};
  Issued not_ca = issue(plain, KeySpec::p256(), &c.root);
  expect_same_verdict(issue(leaf_spec(), KeySpec::p256(), &not_ca).cert, not_ca.cert, kNow, false,
                      "issuer is no CA");
  // A CA whose key usage lacks keyCertSign (the spec's CAs always have it: the extension is
  // replaced with OpenSSL and the certificate signed again by the root).
  Issued no_sign_ca = issue(ca_spec("No keyCertSign", 0), KeySpec::p256(), &c.root);
  {
    X509* x = X509_dup(no_sign_ca.cert.get());
    ASSERT_NE(x, nullptr);
    X509_EXTENSION* old_usage = X509_delete_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1));
    X509_EXTENSION_free(old_usage);
    ASN1_BIT_STRING* usage = ASN1_BIT_STRING_new();
    ASN1_BIT_STRING_set_bit(usage, 0, 1);  // digitalSignature
    ASSERT_EQ(X509_add1_ext_i2d(x, NID_key_usage, usage, 1, X509V3_ADD_DEFAULT), 1);
    ASN1_BIT_STRING_free(usage);
    ASSERT_GT(X509_sign(x, c.root.key.get(), EVP_sha384()), 0);
    no_sign_ca.cert = Certificate(ossl::X509Ptr(x));
  }
  ASSERT_TRUE(no_sign_ca.cert.is_ca());
  ASSERT_TRUE(verify_chain(no_sign_ca.cert, {}, {c.root.cert}, kNow).ok());
  expect_same_verdict(issue(leaf_spec(), KeySpec::p256(), &no_sign_ca).cert, no_sign_ca.cert, kNow,
                      false, "issuer without keyCertSign");

  // Unhandled critical extensions, on the leaf and on the issuer.
  CertificateSpec critical = leaf_spec();
  critical.extra_extensions = {{"1.2.840.113635.100.8.11.1", Bytes(32, 0xab), true}};
  expect_same_verdict(issue(critical, KeySpec::p256(), &c.intermediate).cert, c.intermediate.cert,
                      kNow, false, "critical leaf extension");
  CertificateSpec critical_ca = ca_spec("Critical Intermediate", 0);
  critical_ca.extra_extensions = {{"1.2.840.113635.100.8.11.1", Bytes(32, 0xab), true}};
  Issued critical_inter = issue(critical_ca, KeySpec::p256(), &c.root);
  expect_same_verdict(issue(leaf_spec(), KeySpec::p256(), &critical_inter).cert,
                      critical_inter.cert, kNow, false, "critical issuer extension");

  // A P-384 issuer signs with SHA-384; an RSA issuer's signature is left to OpenSSL.
  Issued p384_inter = issue(ca_spec("P-384 Intermediate", 0), KeySpec::p384(), &c.root);
  expect_same_verdict(issue(leaf_spec(), KeySpec::p384(), &p384_inter).cert, p384_inter.cert, kNow,
                      true, "P-384");
  Issued rsa_inter = issue(ca_spec("RSA Intermediate", 0), KeySpec::rsa(2048), &c.root);
  Issued rsa_leaf = issue(leaf_spec(), KeySpec::p256(), &rsa_inter);
  expect_same_verdict(rsa_leaf.cert, rsa_inter.cert, kNow, true, "RSA issuer");
  expect_same_verdict(rsa_leaf.cert, rsa_inter.cert, kNow + 8 * kDay, false, "RSA issuer, late");
}

TEST(PkiLean, VerifyIssuedByRefusesEveryAlteredByte) {
  TestChain c = make_chain();
  const Bytes der = c.leaf.cert.to_der();
  int parsed = 0;
  // Every byte of the leaf flipped in turn: whatever still parses must not verify, and
  // OpenSSL agrees on each.
  for (std::size_t i = 0; i < der.size(); ++i) {
    Bytes altered = der;
    altered[i] ^= 0x01;
    auto full = Certificate::from_der(altered);
    auto lean = Certificate::from_der_lean(altered);
    ASSERT_EQ(full.ok(), lean.ok()) << "byte " << i;
    if (!full.ok()) continue;
    ++parsed;
    auto openssl = verify_chain(*full, {}, {c.intermediate.cert}, kNow, Anchors::AsGiven);
    auto here = verify_issued_by(*lean, c.intermediate.cert, kNow);
    EXPECT_FALSE(here.ok()) << "byte " << i;
    EXPECT_EQ(here.ok(), openssl.ok()) << "byte " << i;
    if (!here.ok() && !openssl.ok()) {
      EXPECT_EQ(here.error().detail, openssl.error().detail) << "byte " << i;
    }
  }
  EXPECT_GT(parsed, static_cast<int>(der.size() / 2));
}

TEST(PkiChain, NoRootsIsAnError) {
  TestChain c = make_chain();
  EXPECT_FALSE(verify_chain(c.leaf.cert, {c.intermediate.cert}, {}, kNow).ok());
  EXPECT_FALSE(verify_chain(Certificate(), {}, {c.root.cert}, kNow).ok());
}

}  // namespace
}  // namespace attestlab::pki

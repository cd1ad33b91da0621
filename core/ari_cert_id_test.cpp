// RFC 9773 §4.1 certificate identifiers: the serial encoding of the RFC's example, the
// AKI taken from the issuer, round trips and the refusals of parse_cert_id.
#include "core/ari_cert_id.h"

#include <gtest/gtest.h>

namespace attestlab::ari {
namespace {

struct Issued {
  pki::Certificate ca;
  pki::Certificate leaf;
};

Issued issue_with_serial(const Bytes& serial) {
  auto ca_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  pki::CertificateSpec ca_spec;
  ca_spec.subject = {{"CN", "ARI test CA"}};
  ca_spec.not_before = 1'700'000'000;
  ca_spec.not_after = ca_spec.not_before + 86400;
  ca_spec.is_ca = true;
  ca_spec.key_usage_cert_sign = true;
  auto ca = *pki::issue_certificate(ca_spec, ca_key.public_key(), nullptr, ca_key);
  auto key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  pki::CertificateSpec spec;
  spec.subject = {{"CN", "leaf"}};
  spec.serial = serial;
  spec.not_before = ca_spec.not_before;
  spec.not_after = ca_spec.not_after;
  auto leaf = pki::issue_certificate(spec, key.public_key(), &ca, ca_key);
  EXPECT_TRUE(leaf.ok()) << leaf.error().detail;
  return {ca, *leaf};
}

TEST(AriCertId, SerialAsInTheRfcExampleAndAkiOfTheIssuer) {
  // RFC 9773 §4.1: serial 0x87654321 encodes as 00 87 65 43 21 -> "AIdlQyE".
  Issued issued = issue_with_serial(Bytes{0x87, 0x65, 0x43, 0x21});
  ASSERT_EQ(issued.leaf.serial_hex(), "87654321");
  auto id = cert_id(issued.leaf);
  ASSERT_TRUE(id.ok()) << id.error().detail;
  EXPECT_EQ(id->substr(id->find('.') + 1), "AIdlQyE");
  auto ski = issued.ca.extension_value("2.5.29.14");  // SubjectKeyIdentifier OCTET STRING
  ASSERT_TRUE(ski.has_value());
  ASSERT_GT(ski->size(), 2u);
  Bytes key_id(ski->begin() + 2, ski->end());
  EXPECT_EQ(id->substr(0, id->find('.')), base64url_encode(key_id));

  auto parsed = parse_cert_id(*id);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->authority_key_id, key_id);
  EXPECT_EQ(serial_hex(*parsed), "87654321");
  EXPECT_EQ(base64url_encode(parsed->authority_key_id) + "." + base64url_encode(parsed->serial),
            *id);
}

TEST(AriCertId, RefusesMalformedIdentifiers) {
  for (const char* bad : {"", ".", "abc", "a.b.c", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.", ".AIdlQyE",
                          "aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE",
                          "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE=", "a+b.AIdlQyE",
                          "aYhba4dGQEHhs3uEe6CuLN4ByNQ.gA",      // negative serial 0x80
                          "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AAE"}) {  // 00 01: not minimal
    auto parsed = parse_cert_id(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().type, "malformed") << bad;
    }
  }
  EXPECT_TRUE(parse_cert_id("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE").ok());
}

TEST(AriCertId, CertificateWithoutAkiHasNoIdentifier) {
  auto key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  pki::CertificateSpec spec;
  spec.subject = {{"CN", "self"}};
  spec.not_before = 1'700'000'000;
  spec.not_after = spec.not_before + 86400;
  spec.authority_key_id = false;
  auto self = *pki::issue_certificate(spec, key.public_key(), nullptr, key);
  EXPECT_FALSE(cert_id(self).ok());
  EXPECT_FALSE(cert_id(pki::Certificate{}).ok());
}

}  // namespace
}  // namespace attestlab::ari

#include "client/pem_chain.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "client/acme_types.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/pki.h"

namespace attestlab::client {
namespace {

// A self-signed certificate's PEM as OpenSSL writes it (strict: 64-character lines, LF).
std::string certificate_pem(const std::string& cn) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  EXPECT_TRUE(key.ok());
  pki::CertificateSpec spec;
  spec.subject = {{"CN", cn}};
  spec.not_before = SystemClock().now() - 60;
  spec.not_after = spec.not_before + 3600;
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  EXPECT_TRUE(cert.ok());
  return cert->to_pem();
}

class PemChain : public ::testing::Test {
 protected:
  const std::string leaf_ = certificate_pem("leaf");
  const std::string issuer_ = certificate_pem("issuer");
};

std::string detail_of(std::string_view text) {
  auto parsed = parse_pem_certificate_chain(text);
  EXPECT_FALSE(parsed.ok()) << text;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().type, kErrorUnexpectedResponse);
  return parsed.error().detail;
}

TEST_F(PemChain, StrictChainsParseInOrder) {
  auto two = parse_pem_certificate_chain(leaf_ + issuer_);
  ASSERT_TRUE(two.ok()) << two.error().detail;
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0], pki::Certificate::from_pem(leaf_)->to_der());
  EXPECT_EQ((*two)[1], pki::Certificate::from_pem(issuer_)->to_der());
  // §9.1's published ABNF puts an eol between blocks; erratum 5983 drops it: both parse.
  EXPECT_TRUE(parse_pem_certificate_chain(leaf_ + "\n" + issuer_).ok());
  std::string crlf;
  for (char c : leaf_) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_TRUE(parse_pem_certificate_chain(crlf).ok());
}

TEST_F(PemChain, ExplanatoryTextIsRefusedWhereverItStands) {
  EXPECT_NE(detail_of("Subject: CN=leaf\n" + leaf_)
                .find("line 1: explanatory text before the first block: \"Subject: CN=leaf\""),
            std::string::npos);
  const auto lines_in_leaf = std::count(leaf_.begin(), leaf_.end(), '\n');
  EXPECT_NE(detail_of(leaf_ + "issuer:\n" + issuer_)
                .find("line " + std::to_string(lines_in_leaf + 1) +
                      ": explanatory text after block 1: \"issuer:\""),
            std::string::npos);
  EXPECT_NE(detail_of(leaf_ + "\n\n" + issuer_).find("an empty line after block 1"),
            std::string::npos);
  EXPECT_NE(detail_of("\n" + leaf_).find("line 1: an empty line before the first block"),
            std::string::npos);
  EXPECT_NE(detail_of(leaf_ + "\n").find("an empty line after block 1"), std::string::npos);
}

TEST_F(PemChain, BrokenOrTruncatedBlocksAreRefusedByName) {
  // The last block cut in the middle of its base64.
  const std::string cut = leaf_ + issuer_.substr(0, issuer_.size() / 2);
  EXPECT_NE(detail_of(cut).find("block 2 is truncated: no -----END CERTIFICATE----- line"),
            std::string::npos);
  // A block in the middle cut short, the next one complete.
  EXPECT_NE(detail_of(leaf_.substr(0, leaf_.find('\n', leaf_.size() / 2) + 1) + issuer_)
                .find("block 1 is truncated: a BEGIN line before its END line"),
            std::string::npos);
  // Cut after its END line's text but before the line break.
  EXPECT_NE(detail_of(leaf_.substr(0, leaf_.size() - 1))
                .find("the END line of block 1 has no line break after it"),
            std::string::npos);
  // A line shortened inside the block.
  std::string short_line = leaf_;
  short_line.erase(short_line.find('\n') + 10, 1);
  EXPECT_NE(detail_of(short_line).find("line 2: 63 base64 characters before the last line"),
            std::string::npos);
  // Whitespace and another label.
  std::string spaced = leaf_;
  spaced.insert(spaced.find('\n') + 1, " ");
  EXPECT_NE(detail_of(spaced).find("line 2: character \" \" at column 1"), std::string::npos);
  std::string key = leaf_;
  key.replace(0, 27, "-----BEGIN PRIVATE KEY------");
  EXPECT_NE(detail_of(key).find("line 1: block 1 begins \"-----BEGIN PRIVATE KEY"),
            std::string::npos);
  // Good base64 that is no certificate.
  EXPECT_NE(detail_of("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .find("block 1 is not a DER X.509 certificate"),
            std::string::npos);
  EXPECT_NE(detail_of("").find("empty"), std::string::npos);
}

// Which blocks count as certificates is OpenSSL's d2i_X509 decision, with or without its
// decoding of the key: every byte of a leaf flipped in turn (an RSA and a P-256 key) gives
// a chain that parses exactly when Certificate::from_der accepts the altered DER.
TEST_F(PemChain, BlocksAreCertificatesExactlyWhenOpenSslParsesThem) {
  for (pki::KeySpec spec : {pki::KeySpec::p256(), pki::KeySpec::rsa(2048)}) {
    auto key = pki::PrivateKey::generate(spec);
    ASSERT_TRUE(key.ok());
    pki::CertificateSpec cert_spec;
    cert_spec.subject = {{"CN", "flipped"}};
    cert_spec.not_before = SystemClock().now() - 60;
    cert_spec.not_after = cert_spec.not_before + 3600;
    auto cert = pki::issue_certificate(cert_spec, key->public_key(), nullptr, *key);
    ASSERT_TRUE(cert.ok());
    const Bytes der = cert->to_der();
    int accepted = 0;
    int refused = 0;
    for (std::size_t i = 0; i < der.size(); ++i) {
      Bytes altered = der;
      altered[i] ^= 0x01;
      const bool openssl = pki::Certificate::from_der(altered).ok();
      auto parsed = parse_pem_certificate_chain(pem_encode("CERTIFICATE", altered) + issuer_);
      ASSERT_EQ(parsed.ok(), openssl) << spec.name() << ", byte " << i;
      if (parsed.ok()) {
        ASSERT_EQ(parsed->size(), 2u);
        EXPECT_EQ(parsed->front(), altered);
        ++accepted;
      } else {
        EXPECT_NE(parsed.error().detail.find("block 1 is not a DER X.509 certificate"),
                  std::string::npos)
            << parsed.error().detail;
        ++refused;
      }
    }
    // Both outcomes occur (a flipped bit in a signature or a name still parses; in a length
    // it does not).
    EXPECT_GT(accepted, 0) << spec.name();
    EXPECT_GT(refused, 0) << spec.name();
  }
}

}  // namespace
}  // namespace attestlab::client

#include "server/acme/acme_syntax.h"

#include <gtest/gtest.h>

namespace attestlab::server {
namespace {

TEST(AcmeSyntax, DnsNames) {
  for (const char* text : {"example.com", "a-b.c1.example", "localhost"})
    EXPECT_TRUE(is_valid_dns_name(text)) << text;
  EXPECT_FALSE(is_valid_dns_name(""));
  EXPECT_FALSE(
      is_valid_dns_name("Example.com"));  // normalised before, so uppercase is refused here
  for (const char* text : {"-a.example", "a-.example", "a..example", "example.com.",
                           "under_score.example", "10.0.0.1"})
    EXPECT_FALSE(is_valid_dns_name(text)) << text;
  EXPECT_FALSE(is_valid_dns_name(std::string(64, 'a') + ".example"));
  EXPECT_TRUE(is_valid_dns_name(std::string(63, 'a') + ".example"));
  std::string long_name;
  for (int i = 0; i < 50; ++i) long_name += "abcd.";
  long_name += "example";
  EXPECT_FALSE(is_valid_dns_name(long_name));
}

TEST(AcmeSyntax, CanonicalIp) {
  EXPECT_EQ(canonical_ip("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(canonical_ip("::1"), "::1");
  EXPECT_EQ(canonical_ip("2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(canonical_ip("2001:db8:0:0:0:0:0:1"), "2001:db8::1");
  for (const char* text : {"256.0.0.1", "example.com", ""})
    EXPECT_FALSE(canonical_ip(text)) << text;
}

TEST(AcmeSyntax, NormalizeIdentifier) {
  auto dns = normalize_identifier(Json{{"type", "dns"}, {"value", "WWW.Example.COM"}});
  ASSERT_TRUE(dns.ok());
  EXPECT_EQ(dns->value, "www.example.com");
  EXPECT_TRUE(normalize_identifier(Json{{"type", "dns"}, {"value", "*.example.com"}}).ok());
  EXPECT_EQ(normalize_identifier(Json{{"type", "dns"}, {"value", "*.com"}}).error().type,
            "malformed");
  EXPECT_EQ(normalize_identifier(Json{{"type", "dns"}, {"value", "*"}}).error().type, "malformed");
  EXPECT_EQ(normalize_identifier(Json{{"type", "ip"}, {"value", "2001:DB8::1"}}).error().type,
            "malformed");
  EXPECT_TRUE(normalize_identifier(Json{{"type", "ip"}, {"value", "2001:db8::1"}}).ok());
  EXPECT_EQ(normalize_identifier(Json{{"type", "uri"}, {"value", "x"}}).error().type,
            "unsupportedIdentifier");
  EXPECT_EQ(normalize_identifier(Json{{"type", "dns"}}).error().type, "malformed");
  EXPECT_EQ(normalize_identifier(Json::array()).error().type, "malformed");
  EXPECT_TRUE(
      normalize_identifier(Json{{"type", "permanent-identifier"}, {"value", "C02XL0GVJGH5"}}).ok());
  EXPECT_TRUE(
      normalize_identifier(Json{{"type", "hardware-module"}, {"value", "SN1/1.2.3.4"}}).ok());
  EXPECT_EQ(
      normalize_identifier(Json{{"type", "permanent-identifier"}, {"value", ""}}).error().type,
      "malformed");
}

TEST(AcmeSyntax, ChallengeTypes) {
  EXPECT_EQ(challenge_types_for({"dns", "a.example"}, false),
            (std::vector<std::string>{"http-01", "dns-01"}));
  EXPECT_EQ(challenge_types_for({"dns", "a.example"}, true), (std::vector<std::string>{"dns-01"}));
  EXPECT_EQ(challenge_types_for({"ip", "::1"}, false), (std::vector<std::string>{"http-01"}));
  EXPECT_EQ(challenge_types_for({"permanent-identifier", "X"}, false),
            (std::vector<std::string>{"device-attest-01"}));
  EXPECT_EQ(challenge_types_for({"hardware-module", "X/1.2"}, false),
            (std::vector<std::string>{"device-attest-01"}));
}

TEST(AcmeSyntax, DeviceIdentifierForms) {
  auto plain = permanent_identifier_of({"permanent-identifier", "SERIAL"});
  EXPECT_EQ(plain.value, "SERIAL");
  EXPECT_FALSE(plain.assigner);
  auto assigned = permanent_identifier_of({"permanent-identifier", "SERIAL/1.2.840.1"});
  EXPECT_EQ(assigned.value, "SERIAL");
  EXPECT_EQ(assigned.assigner, "1.2.840.1");
  auto hw = hardware_module_of({"hardware-module", "ABC123/1.3.6.1.4.1.1"});
  EXPECT_EQ(hw.hw_type, "1.3.6.1.4.1.1");
  EXPECT_EQ(to_string(hw.serial), "ABC123");
}

TEST(AcmeSyntax, Contacts) {
  EXPECT_TRUE(check_contact("mailto:admin@example.com").ok());
  EXPECT_TRUE(check_contact("MAILTO:a.b+c@sub.example.org").ok());
  EXPECT_EQ(check_contact("tel:+15551234").error().type, "unsupportedContact");
  EXPECT_EQ(check_contact("https://example.com").error().type, "unsupportedContact");
  EXPECT_EQ(check_contact("mailto:a@example.com?subject=hi").error().type, "invalidContact");
  EXPECT_EQ(check_contact("mailto:a@example.com,b@example.com").error().type, "invalidContact");
  EXPECT_EQ(check_contact("mailto:").error().type, "invalidContact");
  EXPECT_EQ(check_contact("mailto:@example.com").error().type, "invalidContact");
  EXPECT_EQ(check_contact("mailto:a@localhost").error().type, "invalidContact");
  EXPECT_EQ(check_contact("mailto:a b@example.com").error().type, "invalidContact");
  EXPECT_EQ(check_contact("mailto:a@b@example.com").error().type, "invalidContact");
  EXPECT_TRUE(parse_contacts(Json::array()).ok());
  EXPECT_EQ(parse_contacts(Json("mailto:a@example.com")).error().type, "malformed");
  EXPECT_EQ(parse_contacts(Json{1}).error().type, "malformed");
  Json many = Json::array();
  for (int i = 0; i < 11; ++i) many.push_back("mailto:a@example.com");
  EXPECT_EQ(parse_contacts(many).error().type, "invalidContact");
}

}  // namespace
}  // namespace attestlab::server

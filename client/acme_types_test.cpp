// The pure ACME helpers: resource parsing, problem types, Link and Retry-After headers,
// and the challenge values of RFC 8555 §8.
#include "client/acme_types.h"

#include <gtest/gtest.h>

namespace attestlab::client {
namespace {

std::string describe(const Error& e) {
  return e.type + " (" + std::to_string(e.status) + "): " + e.detail;
}

TEST(AcmeTypes, ParsesLinkHeaders) {
  auto links = parse_link_header(
      R"(<https://ca.example/cert/1/alt/1>;rel="alternate", <https://ca.example/dir>; rel=index,)"
      R"( <https://ca.example/a,b>;title="x, y";rel="alternate")");
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0], std::make_pair(std::string("https://ca.example/cert/1/alt/1"),
                                     std::string("alternate")));
  EXPECT_EQ(links[1].second, "index");
  EXPECT_EQ(links[2].first, "https://ca.example/a,b");
  EXPECT_EQ(links[2].second, "alternate");
  EXPECT_TRUE(parse_link_header("").empty());
  EXPECT_TRUE(parse_link_header("garbage <unterminated").empty());
}

TEST(AcmeTypes, ParsesRetryAfterSecondsAndDates) {
  const std::int64_t now = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("3", now), 3);
  EXPECT_EQ(parse_retry_after(" 120 ", now), 120);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now), 0);  // in the past
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("-5", now).has_value());
  EXPECT_FALSE(parse_retry_after("", now).has_value());
}

TEST(AcmeTypes, ProblemTypesAreShortenedOnlyInTheAcmeNamespace) {
  auto e = problem_to_error(
      Json{{"type", "urn:ietf:params:acme:error:badNonce"}, {"detail", "stale"}}, 400);
  EXPECT_EQ(e.type, "badNonce");
  EXPECT_EQ(e.detail, "stale");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(problem_to_error(Json{{"type", "https://example.com/oops"}}, 500).type,
            "https://example.com/oops");
  EXPECT_EQ(problem_to_error(Json::object(), 500).type, kErrorUnexpectedResponse);
  EXPECT_EQ(problem_to_error(Json::array(), 500).type, kErrorUnexpectedResponse);
}

TEST(AcmeTypes, ResourcesParseLenientlyButNeedTheirCoreMembers) {
  EXPECT_EQ(Directory::from_json(Json{{"newNonce", "n"}, {"newAccount", "a"}}).error().type,
            kErrorUnexpectedResponse);
  auto dir = Directory::from_json(Json{{"newNonce", "n"},
                                       {"newAccount", "a"},
                                       {"newOrder", "o"},
                                       {"meta",
                                        {{"externalAccountRequired", true},
                                         {"termsOfService", "https://tos"},
                                         {"caaIdentities", {"ca.example", 7}}}}});
  ASSERT_TRUE(dir.ok()) << describe(dir.error());
  EXPECT_TRUE(dir->external_account_required);
  EXPECT_EQ(dir->terms_of_service, "https://tos");
  EXPECT_EQ(dir->caa_identities, std::vector<std::string>{"ca.example"});
  EXPECT_TRUE(dir->key_change.empty());

  auto authz = Authorization::from_json(
      Json{{"status", "pending"},
           {"identifier", {{"type", "dns"}, {"value", "a.example"}}},
           {"challenges",
            {{{"type", "dns-01"}, {"url", "u1"}, {"status", "pending"}, {"token", "t"}},
             {{"type", "device-attest-01"}, {"url", "u2"}, {"status", "pending"}}}},
           {"wildcard", "yes"}},
      "https://authz");
  ASSERT_TRUE(authz.ok()) << describe(authz.error());
  EXPECT_EQ(authz->identifier, (Identifier{"dns", "a.example"}));
  ASSERT_NE(authz->find("device-attest-01"), nullptr);
  EXPECT_EQ(authz->find("device-attest-01")->url, "u2");
  EXPECT_EQ(authz->find("http-01"), nullptr);
  EXPECT_FALSE(authz->wildcard);  // wrong type reads as absent

  EXPECT_FALSE(Authorization::from_json(
                   Json{{"status", "pending"}, {"challenges", {{{"type", "dns-01"}}}}}, "u")
                   .ok());
  EXPECT_FALSE(Order::from_json(Json::array(), "u").ok());
  auto order = Order::from_json(Json{{"status", "valid"}, {"certificate", "c"}, {"error", 5}}, "u");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->certificate, "c");
  EXPECT_FALSE(order->error.has_value());
}

TEST(AcmeTypes, ChallengeValuesFollowRfc8555) {
  EXPECT_EQ(key_authorization("tok", "thumb"), "tok.thumb");
  // base64url(SHA-256("abc")), the FIPS 180-2 test vector.
  EXPECT_EQ(dns01_txt_value("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  EXPECT_EQ(dns01_record_name("*.a.example"), "_acme-challenge.a.example");
  EXPECT_EQ(dns01_record_name("a.example"), "_acme-challenge.a.example");
  EXPECT_EQ(http01_path("tok"), "/.well-known/acme-challenge/tok");
}

TEST(AcmeTypes, RenewalInfoNeedsAWindowThatEndsAfterItStarts) {
  auto info = RenewalInfo::from_json(Json::parse(
      R"({"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"},
          "explanationURL": "https://acme.example.com/docs/ari"})"));
  ASSERT_TRUE(info.ok()) << info.error().detail;
  EXPECT_EQ(info->end - info->start, 86400);
  EXPECT_EQ(info->explanation_url, "https://acme.example.com/docs/ari");
  // RFC 9773 §4.2: end equal to or before start is no answer at all.
  for (const char* bad :
       {R"({})", R"({"suggestedWindow": {"start": "2025-01-02T04:00:00Z"}})",
        R"({"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-02T04:00:00Z"}})",
        R"({"suggestedWindow": {"start": "2025-01-03T04:00:00Z", "end": "2025-01-02T04:00:00Z"}})",
        R"({"suggestedWindow": {"start": "tomorrow", "end": "2025-01-02T04:00:00Z"}})"}) {
    auto parsed = RenewalInfo::from_json(Json::parse(bad));
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().type, kErrorUnexpectedResponse) << bad;
  }
}

TEST(AcmeTypes, DirectoryAndOrderCarryAriAndProfileMembers) {
  auto dir = Directory::from_json(Json::parse(
      R"({"newNonce": "n", "newAccount": "a", "newOrder": "o", "renewalInfo": "https://x/ri",
          "meta": {"profiles": {"classic": "c", "shortlived": "s"}}})"));
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->renewal_info, "https://x/ri");
  EXPECT_EQ(dir->profiles.size(), 2u);
  auto order = Order::from_json(
      Json::parse(R"({"status": "pending", "profile": "classic", "replaces": "aa.AQ"})"), "u");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->profile, "classic");
  EXPECT_EQ(order->replaces, "aa.AQ");
  EXPECT_FALSE(Order::from_json(Json::parse(R"({"status": "pending"})"), "u")->replaces);
}

}  // namespace
}  // namespace attestlab::client

#include "server/store/model.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "server/store/stored_json.h"

namespace attestlab::server {
namespace {

Account full_account() {
  return {.id = "acct-1", .status = "deactivated",
          .jwk = Json{{"kty", "EC"}, {"crv", "P-256"}, {"x", "abc"}, {"y", "def"}},
          .thumbprint = "tp-1", .contact = {"mailto:a@example.com", "mailto:b@example.com"},
          .tos_agreed = true, .eab_kid = "kid-7", .created = 1'700'000'000};
}

Challenge full_challenge(const std::string& id) {
  return {.id = id, .type = "device-attest-01", .status = "invalid", .token = "tok-" + id,
          .validated = 1'700'000'100,
          .error = Json{{"type", "urn:ietf:params:acme:error:badAttestationStatement"},
                        {"detail", "x"}},
          .evidence = Json{{"serial", "C02XYZ"}, {"spki_sha256", "AAAA"}}};
}

Authorization full_authz() {
  return {.id = "authz-1", .account_id = "acct-1",
          .identifier = {"permanent-identifier", "C02XYZ"}, .status = "valid",
          .expires = 1'700'086'400, .wildcard = true,
          .challenges = {full_challenge("ch-1"), full_challenge("ch-2")}};
}

Order full_order() {
  return {.id = "order-1", .account_id = "acct-1", .status = "valid", .expires = 1'700'086'400,
          .identifiers = {{"dns", "a.example"}, {"permanent-identifier", "C02XYZ"}},
          .not_before = "2026-01-01T00:00:00Z", .not_after = "2026-02-01T00:00:00Z",
          .authorization_ids = {"authz-1", "authz-2"},
          .error = Json{{"type", "urn:ietf:params:acme:error:badCSR"}},
          .certificate_id = "cert-1", .created = 1'700'000'000};
}

CertificateRecord full_certificate() {
  return {.id = "cert-1", .account_id = "acct-1", .order_id = "order-1", .serial_hex = "0a1b2c",
          .chain_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
          .spki_sha256 = "spki", .device_id = "C02XYZ", .status = "revoked",
          .revocation_reason = 4, .revoked_at = 1'700'000'500, .not_after = 1'800'000'000,
          .issued = 1'700'000'200};
}

// Every listed member survives the round trip.
template <class R, class... M>
void expect_same(const R& a, const R& b, M R::*... members) {
  ([&] { EXPECT_EQ(b.*members, a.*members); }(), ...);
}

TEST(ModelTest, AccountRoundTripsEveryField) {
  const Account a = full_account();
  const Account b = account_from_json(to_json(a));
  expect_same(a, b, &Account::id, &Account::status, &Account::jwk, &Account::thumbprint,
              &Account::contact, &Account::tos_agreed, &Account::eab_kid, &Account::created);
}

TEST(ModelTest, ChallengeRoundTripsEveryField) {
  const Challenge a = full_challenge("ch-9");
  const Challenge b = challenge_from_json(to_json(a));
  expect_same(a, b, &Challenge::id, &Challenge::type, &Challenge::status, &Challenge::token,
              &Challenge::validated, &Challenge::error, &Challenge::evidence);
}

TEST(ModelTest, AuthorizationRoundTripsEveryField) {
  const Authorization a = full_authz();
  const Authorization b = authorization_from_json(to_json(a));
  expect_same(a, b, &Authorization::id, &Authorization::account_id, &Authorization::identifier,
              &Authorization::status, &Authorization::expires, &Authorization::wildcard);
  ASSERT_EQ(b.challenges.size(), 2u);
  EXPECT_EQ(b.challenges[1].id, "ch-2");
  EXPECT_EQ(to_json(b.challenges[0]), to_json(a.challenges[0]));
}

TEST(ModelTest, OrderRoundTripsEveryField) {
  const Order a = full_order();
  const Order b = order_from_json(to_json(a));
  expect_same(a, b, &Order::id, &Order::account_id, &Order::status, &Order::expires,
              &Order::identifiers, &Order::not_before, &Order::not_after, &Order::authorization_ids,
              &Order::error, &Order::certificate_id, &Order::created);
}

TEST(ModelTest, CertificateRoundTripsEveryField) {
  const CertificateRecord a = full_certificate();
  const CertificateRecord b = certificate_from_json(to_json(a));
  expect_same(a, b, &CertificateRecord::id, &CertificateRecord::account_id,
              &CertificateRecord::order_id, &CertificateRecord::serial_hex,
              &CertificateRecord::chain_pem, &CertificateRecord::spki_sha256,
              &CertificateRecord::device_id, &CertificateRecord::status,
              &CertificateRecord::revocation_reason, &CertificateRecord::revoked_at,
              &CertificateRecord::not_after, &CertificateRecord::issued);
}

TEST(ModelTest, RoundTripSurvivesSerialisedText) {
  // The store keeps dump() output; parsing it back must give the same object.
  const Order a = full_order();
  const Order b = order_from_json(Json::parse(to_json(a).dump()));
  EXPECT_EQ(to_json(b), to_json(a));
}

// An authorization whose first challenge's error detail is `detail` and whose second
// carries evidence with numbers of every kind.
Authorization awkward_authz(const std::string& detail) {
  Authorization a = full_authz();
  a.challenges[0].error["detail"] = detail;
  a.challenges[1].evidence = Json{{"ratio", 0.1},
                                  {"big", std::numeric_limits<std::uint64_t>::max()},
                                  {"negative", std::numeric_limits<std::int64_t>::min()},
                                  {"nested", {{"z", Json::array({1, "2", nullptr, false})}}}};
  return a;
}

// Store::update_authz_if compares the stored text with the text of the authorization the
// writer read (both stores; re-serialised when the store did not read it): a row read back and
// written again must give the same bytes, or every compare-and-set of it would fail. Escapes,
// non-ASCII text, invalid UTF-8 (replaced when first written), numbers of every kind in the
// evidence.
TEST(ModelTest, AuthorizationTextIsStableThroughTheStore) {
  const Authorization a = awkward_authz("caf\u00e9 \"quoted\" back\\slash \x01 tab\t \xff\xfe end");
  const std::string stored = stored_json::dump(to_json(a));
  for (int round = 0; round < 3; ++round) {
    auto parsed = stored_json::parse_stored(stored);
    ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
    EXPECT_EQ(stored_json::dump(to_json(authorization_from_json(*parsed))), stored);
  }
  EXPECT_NE(stored.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD for the invalid bytes
}

// The SQLite store remembers what it wrote as the parse of that text
// (ParsedRows::remember_written): true for every record whose strings are UTF-8, and not
// for invalid UTF-8, which the written text replaces; remember_written keeps no such record.
TEST(ModelTest, WrittenRecordsAreTheirOwnParseUnlessTextWasReplaced) {
  const Authorization a = awkward_authz("caf\u00e9 \"quoted\" back\\slash \x01 tab\t end");
  const Order o = full_order();
  const std::string a_text = stored_json::dump(to_json(a)), o_text = stored_json::dump(to_json(o));
  EXPECT_EQ(authorization_from_json(*stored_json::parse_stored(a_text)), a);
  EXPECT_EQ(order_from_json(*stored_json::parse_stored(o_text)), o);

  stored_json::ParsedRows<Authorization> memo(8);
  memo.remember_written(a.id, a_text, a);
  ASSERT_TRUE(memo.find(a.id, a_text).has_value());
  EXPECT_EQ(*memo.find(a.id, a_text), a);
  EXPECT_FALSE(memo.find(a.id, a_text + " ").has_value());  // other text: a parse, not the memo
  ASSERT_NE(memo.text_holding(a.id, a), nullptr);           // the text a compare-and-set compares
  EXPECT_EQ(*memo.text_holding(a.id, a), a_text);
  Authorization changed = a;
  changed.status = "invalid";
  EXPECT_EQ(memo.text_holding(a.id, changed), nullptr);
  EXPECT_EQ(memo.text_holding("other", a), nullptr);

  Authorization bad = a;
  bad.challenges[0].error["detail"] = "invalid \xff\xfe bytes";
  const std::string bad_text = stored_json::dump(to_json(bad));
  EXPECT_NE(authorization_from_json(*stored_json::parse_stored(bad_text)), bad);
  memo.remember_written(bad.id, bad_text, bad);
  EXPECT_FALSE(memo.find(bad.id, bad_text).has_value());
}

// stored_text writes what the stores always kept, stored_json::dump(to_json(r)), byte for
// byte: rows written before it, and by the other backend, compare equal in a compare-and-set.
// Strings with every escape Json::dump writes, valid and invalid UTF-8, empty arrays, null
// and nested free-form members, the integers' extremes.
TEST(ModelTest, StoredTextIsTheDumpOfTheTree) {
  const std::vector<std::string> strings = {"",
                                            "plain",
                                            "quote\" backslash\\ slash/",
                                            std::string("\b\f\n\r\t\x01\x1f\x7f", 8),
                                            std::string("nul\0inside", 10),
                                            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                            "bad \xff\xfe utf-8",
                                            "cut \xe2\x82",
                                            "-----BEGIN CERTIFICATE-----\nMIIB\n"};
  std::size_t compared = 0;
  auto same = [&](const auto& record) {
    EXPECT_EQ(stored_text(record), stored_json::dump(to_json(record)));
    ++compared;
  };
  same(Account{});
  same(Challenge{});
  same(Authorization{});
  same(Order{});
  same(CertificateRecord{});
  same(full_account());
  same(full_challenge("ch"));
  same(full_authz());
  same(full_order());
  same(full_certificate());
  for (const std::string& text : strings) {
    Account a = full_account();
    a.id = text;
    a.contact = {text, text};
    a.jwk = Json{{"kty", text}, {"n", {1, 2, text}}};
    a.created = std::numeric_limits<std::int64_t>::min();
    same(a);
    Authorization z = full_authz();
    z.identifier = {text, text};
    z.challenges[0].token = text;
    z.challenges[1].evidence = Json::array({text, nullptr, 1.5, true});
    z.expires = std::numeric_limits<std::int64_t>::max();
    same(z);
    Order o = full_order();
    o.identifiers = {{text, "v"}, {"dns", text}};
    o.authorization_ids = {};
    o.error = Json();
    o.replaces = text;
    o.processing_since = -1;
    same(o);
    CertificateRecord c = full_certificate();
    c.chain_pem = text;
    c.replaced_by = text;
    c.revocation_reason = std::numeric_limits<int>::min();
    same(c);
  }
  EXPECT_EQ(compared, 10 + 4 * strings.size());
}

TEST(ModelTest, MissingMembersGiveDefaults) {
  const Json empty = Json::object();
  const Account a = account_from_json(empty);
  EXPECT_EQ(a.status, "valid");
  EXPECT_TRUE(a.id.empty());
  EXPECT_TRUE(a.jwk.is_null());
  EXPECT_FALSE(a.tos_agreed);
  EXPECT_EQ(a.created, 0);

  const Challenge c = challenge_from_json(empty);
  EXPECT_EQ(c.status, "pending");
  EXPECT_TRUE(c.error.is_null());

  const Authorization z = authorization_from_json(Json{{"id", "z1"}});
  EXPECT_EQ(z.id, "z1");
  EXPECT_EQ(z.status, "pending");
  EXPECT_TRUE(z.challenges.empty());
  EXPECT_TRUE(z.identifier.type.empty());

  const Order o = order_from_json(Json{{"id", "o1"}, {"status", "ready"}});
  EXPECT_EQ(o.id, "o1");
  EXPECT_EQ(o.status, "ready");
  EXPECT_TRUE(o.identifiers.empty());
  EXPECT_TRUE(o.authorization_ids.empty());

  const CertificateRecord r = certificate_from_json(empty);
  EXPECT_EQ(r.status, "valid");
  EXPECT_EQ(r.revocation_reason, -1);
}

TEST(ModelTest, NonObjectInputGivesDefaultsWithoutThrowing) {
  for (const Json& j : {Json(), Json::array({1, 2}), Json("text"), Json(42), Json(true)}) {
    EXPECT_NO_THROW({
      EXPECT_EQ(account_from_json(j).status, "valid");
      EXPECT_EQ(challenge_from_json(j).status, "pending");
      EXPECT_EQ(authorization_from_json(j).status, "pending");
      EXPECT_EQ(order_from_json(j).status, "pending");
      EXPECT_EQ(certificate_from_json(j).revocation_reason, -1);
    });
  }
}

TEST(ModelTest, WrongTypedMembersAreIgnored) {
  const Json j = {{"id", 17},
                  {"status", Json::array()},
                  {"created", "yesterday"},
                  {"tos_agreed", "yes"},
                  {"contact", Json::array({"mailto:a@x", 3, nullptr, "mailto:b@x"})},
                  {"thumbprint", 1.5}};
  const Account a = account_from_json(j);
  EXPECT_TRUE(a.id.empty());
  EXPECT_EQ(a.status, "valid");
  EXPECT_EQ(a.created, 0);
  EXPECT_FALSE(a.tos_agreed);
  EXPECT_EQ(a.contact, (std::vector<std::string>{"mailto:a@x", "mailto:b@x"}));
  EXPECT_TRUE(a.thumbprint.empty());

  const Authorization z = authorization_from_json(
      Json{{"identifier", "dns:a.example"},
           {"challenges", Json::array({"not-an-object", Json{{"id", "c1"}}, 5})}});
  EXPECT_TRUE(z.identifier.value.empty());
  ASSERT_EQ(z.challenges.size(), 1u);
  EXPECT_EQ(z.challenges[0].id, "c1");

  const Order o = order_from_json(
      Json{{"identifiers", Json{{"type", "dns"}}}, {"authorization_ids", "authz-1"}});
  EXPECT_TRUE(o.identifiers.empty());
  EXPECT_TRUE(o.authorization_ids.empty());
}

TEST(ModelTest, IntegersKeepTheirRangeAndRejectOverflow) {
  Order o;
  o.created = std::numeric_limits<std::int64_t>::max();
  o.expires = std::numeric_limits<std::int64_t>::min();
  const Order b = order_from_json(to_json(o));
  EXPECT_EQ(b.created, o.created);
  EXPECT_EQ(b.expires, o.expires);

  // Larger than int64: left at the default rather than wrapped.
  const Json huge = {{"created", std::numeric_limits<std::uint64_t>::max()},
                     {"revocation_reason", std::int64_t{1} << 40},
                     {"issued", 2.5}};
  EXPECT_EQ(order_from_json(huge).created, 0);
  const CertificateRecord c = certificate_from_json(huge);
  EXPECT_EQ(c.revocation_reason, -1);
  EXPECT_EQ(c.issued, 0);
}

TEST(ModelTest, SerialisedFormUsesFieldNames) {
  // Other tools (admin API, reports) read these names; keep them stable.
  const Json j = to_json(full_certificate());
  EXPECT_EQ(j.at("serial_hex"), "0a1b2c");
  EXPECT_EQ(j.at("device_id"), "C02XYZ");
  EXPECT_EQ(j.at("revocation_reason"), 4);
  const Json o = to_json(full_order());
  EXPECT_EQ(o.at("identifiers").at(1).at("type"), "permanent-identifier");
  EXPECT_EQ(o.at("authorization_ids").size(), 2u);
}

// ParsedRows gives back a parse only for the same key and the very same text, and starts
// over when full.
TEST(ParsedRowsTest, AKnownParseIsReusedOnlyForTheSameText) {
  stored_json::ParsedRows<std::string> memo(2);
  EXPECT_FALSE(memo.find("a", "{1}").has_value());
  memo.remember("a", "{1}", "one");
  EXPECT_EQ(memo.find("a", "{1}").value_or(""), "one");
  EXPECT_FALSE(memo.find("a", "{1} ").has_value());  // any other text: parse again
  EXPECT_FALSE(memo.find("b", "{1}").has_value());
  memo.remember("a", "{2}", "two");  // the same key, new text: replaced
  EXPECT_EQ(memo.find("a", "{2}").value_or(""), "two");
  EXPECT_FALSE(memo.find("a", "{1}").has_value());
  memo.remember("b", "{3}", "three");
  EXPECT_EQ(memo.size(), 2u);
  memo.remember("c", "{4}", "four");  // full: starts over with the new entry
  EXPECT_EQ(memo.size(), 1u);
  EXPECT_FALSE(memo.find("a", "{2}").has_value());
  EXPECT_EQ(memo.find("c", "{4}").value_or(""), "four");
  stored_json::ParsedRows<std::string> off(0);
  off.remember("a", "{1}", "one");
  EXPECT_EQ(off.size(), 0u);
}

}  // namespace
}  // namespace attestlab::server

#include "reports/statement.h"

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/jose.h"

namespace attestlab::reports {
namespace {

RunResult sample_run() {
  const CaseResult a{.id = "rfc8555-6.5-nonce-reuse", .level = "MUST", .outcome = Outcome::Pass};
  const CaseResult b{.id = "rfc8555-7.1-directory", .level = "SHOULD", .outcome = Outcome::Fail};
  return {.kind = "conformance",
          .targets = {{.name = "embedded",
                       .directory_url = "https://127.0.0.1:4443/directory",
                       .cases = {a, b}}}};
}

StatementInput sample_input() {
  return {.tool_version = "attestlab 0.1.0", .suite_hash = "abc123",
          .date = "2026-12-04T20:00:00Z", .selection = {{"only", {"rfc8555"}}},
          .tls_fingerprints = {"00ff"}};
}

bool all_ok(const std::vector<StatementCheck>& checks) {
  for (const auto& c : checks)
    if (!c.ok) return false;
  return !checks.empty();
}

bool check_ok(const std::vector<StatementCheck>& checks, const std::string& name) {
  for (const auto& c : checks)
    if (c.name == name) return c.ok;
  ADD_FAILURE() << "no check " << name;
  return false;
}

class StatementTest : public ::testing::TestWithParam<pki::KeySpec> {};

TEST_P(StatementTest, SignedStatementVerifies) {
  auto key = pki::PrivateKey::generate(GetParam());
  ASSERT_TRUE(key);
  const Json statement = make_statement(sample_run(), sample_input());
  EXPECT_EQ(statement["targets"][0]["tls_sha256"], "00ff");
  EXPECT_EQ(statement["targets"][0]["summary"]["fail"], 1);
  EXPECT_EQ(statement["targets"][0]["cases"][1]["outcome"], "fail");
  EXPECT_EQ(statement["targets"][0]["cases"][1]["level"], "SHOULD");
  auto doc = sign_statement(statement, *key);
  ASSERT_TRUE(doc) << doc.error().detail;
  EXPECT_EQ((*doc)["signature"]["alg"],
            GetParam() == pki::KeySpec::ed25519() ? "Ed25519" : "ES256");
  // Round trip through text, as a file would.
  auto parsed = parse_json((*doc).dump(2));
  ASSERT_TRUE(parsed);
  auto checks = verify_statement(*parsed, key->public_key(), "abc123");
  ASSERT_TRUE(checks) << checks.error().detail;
  EXPECT_TRUE(all_ok(*checks));
}

TEST_P(StatementTest, ChangedOutcomeFailsSignature) {
  auto key = pki::PrivateKey::generate(GetParam());
  ASSERT_TRUE(key);
  auto doc = sign_statement(make_statement(sample_run(), sample_input()), *key);
  ASSERT_TRUE(doc);
  (*doc)["statement"]["targets"][0]["cases"][1]["outcome"] = "pass";
  auto checks = verify_statement(*doc, key->public_key(), "abc123");
  ASSERT_TRUE(checks);
  EXPECT_FALSE(check_ok(*checks, "signature"));
  EXPECT_TRUE(check_ok(*checks, "signer key"));
  EXPECT_FALSE(all_ok(*checks));
}

TEST_P(StatementTest, DifferentKeyFails) {
  auto key = pki::PrivateKey::generate(GetParam());
  auto other = pki::PrivateKey::generate(GetParam());
  ASSERT_TRUE(key && other);
  auto doc = sign_statement(make_statement(sample_run(), sample_input()), *key);
  ASSERT_TRUE(doc);
  auto checks = verify_statement(*doc, other->public_key(), "abc123");
  ASSERT_TRUE(checks);
  EXPECT_FALSE(check_ok(*checks, "signer key"));
  EXPECT_FALSE(check_ok(*checks, "signature"));
  // Swapping in the other key's JWK does not help: the signature was made by `key`.
  (*doc)["signature"]["public_key_jwk"] = jose::Jwk(other->public_key()).to_json();
  checks = verify_statement(*doc, other->public_key(), "abc123");
  ASSERT_TRUE(checks);
  EXPECT_TRUE(check_ok(*checks, "signer key"));
  EXPECT_FALSE(check_ok(*checks, "signature"));
}

TEST_P(StatementTest, OtherSuiteHashFails) {
  auto key = pki::PrivateKey::generate(GetParam());
  ASSERT_TRUE(key);
  auto doc = sign_statement(make_statement(sample_run(), sample_input()), *key);
  ASSERT_TRUE(doc);
  auto checks = verify_statement(*doc, key->public_key(), "def456");
  ASSERT_TRUE(checks);
  EXPECT_TRUE(check_ok(*checks, "signature"));
  EXPECT_FALSE(check_ok(*checks, "suite hash"));
}

INSTANTIATE_TEST_SUITE_P(Keys, StatementTest,
                         ::testing::Values(pki::KeySpec::ed25519(), pki::KeySpec::p256()),
                         [](const auto& info) {
                           return info.param == pki::KeySpec::ed25519() ? std::string("Ed25519")
                                                                        : std::string("P256");
                         });

TEST(Statement, OtherKeyKindsDoNotSign) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p384());
  ASSERT_TRUE(key);
  auto doc = sign_statement(make_statement(sample_run(), sample_input()), *key);
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().type, "malformed");
}

TEST(Statement, MalformedDocumentsAreErrors) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::ed25519());
  ASSERT_TRUE(key);
  EXPECT_FALSE(verify_statement(Json::array(), key->public_key(), "x"));
  EXPECT_FALSE(verify_statement(Json{{"statement", Json::object()}}, key->public_key(), "x"));
  auto doc = sign_statement(make_statement(sample_run(), sample_input()), *key);
  ASSERT_TRUE(doc);
  Json bad = *doc;
  bad["signature"]["value"] = "not base64url!";
  EXPECT_FALSE(verify_statement(bad, key->public_key(), "abc123"));
  bad = *doc;
  bad["signature"]["alg"] = "none";
  EXPECT_FALSE(verify_statement(bad, key->public_key(), "abc123"));
}

TEST(Statement, SummaryAndHtmlNameFingerprintHashAndSigner) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::ed25519());
  ASSERT_TRUE(key);
  auto doc = sign_statement(make_statement(sample_run(), sample_input()), *key);
  ASSERT_TRUE(doc);
  const Json summary = statement_summary(*doc, "out/statement.json");
  EXPECT_EQ(summary["suite_hash"], "abc123");
  EXPECT_FALSE(summary["signer"].get<std::string>().empty());
  RunResult run = sample_run();
  run.statement = summary;
  auto back = RunResult::from_json(run.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->statement, summary);
  const std::string html = render_html(*back);
  EXPECT_NE(html.find("Signed statement"), std::string::npos);
  EXPECT_NE(html.find("00ff"), std::string::npos);
  EXPECT_NE(html.find("abc123"), std::string::npos);
  EXPECT_NE(html.find(summary["signer"].get<std::string>()), std::string::npos);
  EXPECT_EQ(render_html(sample_run()).find("Signed statement"), std::string::npos);
}

}  // namespace
}  // namespace attestlab::reports

#include "conformance/harness.h"

#include <gtest/gtest.h>

#include "conformance/checks.h"
#include "core/utf8.h"

namespace attestlab::conformance {
namespace {

TEST(DeviceIdentities, StablePerCaseAndDifferentAcrossCases) {
  Case a;
  a.id = "mda-a";
  a.devices = {device_slot(), device_slot(sim::DeviceKind::Mac, "retired", "13.6")};
  Case b = a;
  b.id = "mda-b";
  const auto first = device_identities(a);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first, device_identities(a));
  EXPECT_NE(first[0].serial, device_identities(b)[0].serial);
  EXPECT_NE(first[0].serial, first[1].serial);
  EXPECT_EQ(first[1].os_version, "13.6");

  const Json inventory = inventory_json({a});
  ASSERT_EQ(inventory.size(), 2u);
  EXPECT_EQ(inventory[1]["status"], "retired");
  EXPECT_EQ(inventory[1]["platform"], "macOS");
  EXPECT_EQ(inventory[0]["udid"], first[0].udid);
  Case unlisted = a;
  unlisted.devices = {device_slot(sim::DeviceKind::IPhone, "")};
  EXPECT_TRUE(inventory_json({unlisted}).empty());
}

// describe() feeds a case's observed text, which result.json must hold: a foreign body
// with stray bytes, or cut inside a character, still comes out as UTF-8.
TEST(Checks, DescribeKeepsForeignBytesValidUtf8) {
  std::string accented;
  for (int i = 0; i < 150; ++i) accented += "\xC3\xA9";
  http::Response body;
  body.status = 500;
  body.body = "\xFF" + accented;  // the cut at 120 bytes falls inside a character
  const std::string d = describe(body);
  EXPECT_EQ(utf8_or_replaced(d), d);
  EXPECT_NE(d.find("..."), std::string::npos);

  http::Response problem;
  problem.status = 400;
  problem.set("Content-Type", "application/problem+json");
  problem.body =
      Json{{"type", "urn:ietf:params:acme:error:malformed"}, {"detail", accented}}.dump();
  const std::string p = describe(problem);
  EXPECT_EQ(utf8_or_replaced(p), p);
}

TEST(Checks, ProblemDocumentsAreRecognised) {
  http::Response r;
  r.status = 400;
  r.set("Content-Type", "application/problem+json; charset=utf-8");
  r.body = R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"stale"})";
  EXPECT_EQ(problem_type(r), "badNonce");
  EXPECT_TRUE(is_bad_nonce(r));
  EXPECT_EQ(media_type(r), "application/problem+json");
  EXPECT_TRUE(expect_problem(r, 400, {"badNonce"}).passed());
  EXPECT_TRUE(expect_problem(r, 0, {"malformed", "badNonce"}).passed());
  Verdict wrong = expect_problem(r, 400, {"malformed"});
  EXPECT_EQ(wrong.outcome, reports::Outcome::Fail);
  EXPECT_NE(wrong.observed.find("badNonce"), std::string::npos);
  EXPECT_EQ(expect_problem(r, 403, {"badNonce"}).outcome, reports::Outcome::Fail);

  http::Response ok;
  ok.status = 200;
  ok.body = R"({"status":"valid"})";
  EXPECT_FALSE(problem_type(ok).has_value());
  EXPECT_EQ(expect_refused(ok).outcome, reports::Outcome::Fail);
  EXPECT_EQ(expect_problem(ok, 0, {}).outcome, reports::Outcome::Fail);

  http::Response other;
  other.status = 404;
  other.body = R"({"type":"about:blank"})";
  EXPECT_EQ(problem_type(other), "about:blank");
  EXPECT_TRUE(expect_refused(other).passed());

  Result<http::Response> transport = Error::make("connection", "refused");
  EXPECT_EQ(expect_status(transport, 200).outcome, reports::Outcome::Fail);
}

TEST(Checks, SyntaxHelpers) {
  EXPECT_TRUE(looks_like_rfc3339("2026-11-25T16:00:00Z"));
  EXPECT_TRUE(looks_like_rfc3339("2026-11-25T16:00:00.123+01:00"));
  EXPECT_FALSE(looks_like_rfc3339("2026-11-25 16:00:00"));
  EXPECT_FALSE(looks_like_rfc3339("yesterday"));
  EXPECT_TRUE(is_base64url("abc-_09XY"));
  EXPECT_FALSE(is_base64url("abc="));
  EXPECT_FALSE(is_base64url("a+b/"));
  EXPECT_FALSE(is_base64url(""));
  EXPECT_EQ(first_failure({Verdict::pass("a"), Verdict::fail("x", "y"), Verdict::fail("z", "w")})
                .expected,
            "x");
  EXPECT_EQ(first_failure({Verdict::pass("a"), Verdict::pass("b")}).reason, "a; b");
}

}  // namespace
}  // namespace attestlab::conformance

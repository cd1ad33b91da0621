#include <gtest/gtest.h>

#include "server/acme/acme_context.h"

namespace attestlab::server {
namespace {

Authorization authz(std::string status, std::int64_t expires = 1000) {
  Authorization a;
  a.id = "o.0";
  a.status = std::move(status);
  a.expires = expires;
  a.identifier = {"dns", "a.example"};
  return a;
}

Order order(std::string status = "pending", std::int64_t expires = 1000) {
  Order o;
  o.id = "o";
  o.status = std::move(status);
  o.expires = expires;
  return o;
}

TEST(AcmeState, AuthzExpiresOnRead) {
  EXPECT_EQ(effective_authz_status(authz("pending"), 999), "pending");
  EXPECT_EQ(effective_authz_status(authz("pending"), 1000), "expired");
  EXPECT_EQ(effective_authz_status(authz("valid"), 1001), "expired");
  EXPECT_EQ(effective_authz_status(authz("invalid"), 5000), "invalid");
  EXPECT_EQ(effective_authz_status(authz("deactivated"), 5000), "deactivated");
}

TEST(AcmeState, OrderFollowsAuthorizations) {
  EXPECT_EQ(compute_order_status(order(), {authz("pending"), authz("valid")}, 10).status,
            "pending");
  EXPECT_EQ(compute_order_status(order(), {authz("valid"), authz("valid")}, 10).status, "ready");
  auto deactivated = compute_order_status(order(), {authz("valid"), authz("deactivated")}, 10);
  EXPECT_EQ(deactivated.status, "invalid");
  EXPECT_FALSE(deactivated.error.is_null());

  Authorization failed = authz("invalid");
  Challenge c;
  c.status = "invalid";
  c.error = Json{{"type", "urn:ietf:params:acme:error:incorrectResponse"}};
  failed.challenges.push_back(c);
  auto invalid = compute_order_status(order(), {authz("valid"), failed}, 10);
  EXPECT_EQ(invalid.status, "invalid");
  EXPECT_EQ(invalid.error["type"], "urn:ietf:params:acme:error:incorrectResponse");
}

TEST(AcmeState, OrderExpiry) {
  EXPECT_EQ(compute_order_status(order("pending", 100), {authz("pending", 2000)}, 100).status,
            "invalid");
  EXPECT_EQ(compute_order_status(order("ready", 100), {authz("valid", 2000)}, 150).status,
            "invalid");
  // Final states do not move.
  EXPECT_EQ(compute_order_status(order("valid", 100), {authz("valid", 50)}, 150).status, "valid");
  EXPECT_EQ(compute_order_status(order("processing", 100), {}, 150).status, "processing");
}

TEST(AcmeState, AuthzIdsNameTheirOrder) {
  EXPECT_EQ(order_id_of_authz("abcDEF_-12.0"), "abcDEF_-12");
  EXPECT_EQ(order_id_of_authz("x.y.12"), "x.y");
  EXPECT_EQ(order_id_of_authz("nodot"), "");
}

TEST(AcmeUrlsTest, Layout) {
  auto u = AcmeUrls::make("127.0.0.1", 14000);
  EXPECT_EQ(u.directory, "https://127.0.0.1:14000/acme/directory");
  EXPECT_EQ(u.account("A1"), "https://127.0.0.1:14000/acme/acct/A1");
  EXPECT_EQ(u.finalize("O"), "https://127.0.0.1:14000/acme/order/O/finalize");
  EXPECT_EQ(u.index_link, "<https://127.0.0.1:14000/acme/directory>;rel=\"index\"");
  EXPECT_EQ(AcmeUrls::make("::1", 443).base, "https://[::1]:443");
}

}  // namespace
}  // namespace attestlab::server

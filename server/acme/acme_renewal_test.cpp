// ACME Renewal Information (RFC 9773) and certificate profiles (draft-ietf-acme-profiles)
// against an in-process AcmeServer: directory members, renewalInfo windows and errors,
// newOrder "replaces" and "profile".
#include "server/acme/acme_renewal.h"

#include <gtest/gtest.h>

#include <latch>
#include <set>
#include <thread>

#include "core/ari_cert_id.h"
#include "core/pki.h"
#include "server/acme/cert_profiles.h"
#include "server/store/store.h"
#include "testing/acme_server_fixture.h"

namespace attestlab::server::testing {
namespace {

class AcmeRenewalTest : public AcmeServerFixture {
 protected:
  // Orders 127.0.0.1 (with `extra` members), validates it and returns the issued leaf.
  pki::Certificate issue_ip_cert(TestAcmeClient& c, Json extra = {});
};

pki::Certificate AcmeRenewalTest::issue_ip_cert(TestAcmeClient& c, Json extra) {
  Json payload = Json{{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}}};
  if (extra.is_object()) payload.update(extra);
  Reply order = c.post(c.url("newOrder"), payload);
  EXPECT_EQ(order.status, 201) << order.response.body;
  Reply authz = c.post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
  responder.provision(challenge["token"], c.key_authorization(challenge["token"]));
  c.post(challenge["url"], Json::object());
  EXPECT_EQ(c.poll(order.location()).status_field(), "ready");
  auto key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Reply fin = c.post(order.body["finalize"],
                     Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"})}});
  EXPECT_EQ(fin.status, 200) << fin.response.body;
  Reply cert = c.post_as_get(fin.body["certificate"]);
  auto chain = pki::Certificate::bundle_from_pem(cert.response.body);
  EXPECT_TRUE(chain.ok());
  return chain.ok() ? chain->at(0) : pki::Certificate{};
}

TEST_F(AcmeRenewalTest, DirectoryAdvertisesRenewalInfoAndProfiles) {
  start_server();
  auto c = make_client();
  Reply dir = c->get(server->directory_url());
  ASSERT_EQ(dir.status, 200);
  EXPECT_EQ(
      dir.body["renewalInfo"],
      server->directory_url().substr(0, server->directory_url().rfind('/')) + "/renewal-info");
  ASSERT_TRUE(dir.body["meta"]["profiles"].is_object());
  EXPECT_TRUE(dir.body["meta"]["profiles"].contains(kDeviceProfile));
  EXPECT_TRUE(dir.body["meta"]["profiles"].contains(kShortLivedProfile));
}

TEST_F(AcmeRenewalTest, RenewalInfoWindowAndErrors) {
  start_server();
  auto c = account_client();
  pki::Certificate leaf = issue_ip_cert(*c);
  auto id = ari::cert_id(leaf);
  ASSERT_TRUE(id.ok()) << id.error().detail;
  std::string base = c->url("renewalInfo");
  Reply info = c->get(base + "/" + *id);
  ASSERT_EQ(info.status, 200) << info.response.body;
  EXPECT_EQ(info.header("Retry-After"), "21600");
  std::int64_t start = 0, end = 0;
  ASSERT_TRUE(parse_rfc3339(info.body["suggestedWindow"]["start"], start));
  ASSERT_TRUE(parse_rfc3339(info.body["suggestedWindow"]["end"], end));
  std::int64_t lifetime = leaf.not_after() - leaf.not_before();
  EXPECT_LT(start, end);
  EXPECT_GE(start, leaf.not_before() + lifetime * 2 / 3);
  EXPECT_LE(end, leaf.not_after());

  // The same identifier with a serial this server never issued: 404.
  auto parts = *ari::parse_cert_id(*id);
  parts.serial.back() ^= 0x01;
  Reply unknown = c->get(base + "/" + base64url_encode(parts.authority_key_id) + "." +
                         base64url_encode(parts.serial));
  EXPECT_EQ(unknown.status, 404) << unknown.response.body;
  Reply malformed = c->get(base + "/not-a-cert-id");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.problem(), "malformed");
  Reply padded = c->get(base + "/" + *id + "=");
  EXPECT_EQ(padded.status, 400);
  EXPECT_EQ(c->post(base + "/" + *id, std::nullopt).status, 405);

  // Revoked: the window moves into the past (renew now).
  Reply revoked =
      c->post(c->url("revokeCert"), Json{{"certificate", base64url_encode(leaf.to_der())}});
  ASSERT_EQ(revoked.status, 200) << revoked.response.body;
  Reply after = c->get(base + "/" + *id);
  ASSERT_EQ(after.status, 200);
  ASSERT_TRUE(parse_rfc3339(after.body["suggestedWindow"]["end"], end));
  EXPECT_LE(end, clock->now());
}

TEST_F(AcmeRenewalTest, ReplacesIsCheckedRecordedAndExclusive) {
  start_server();
  auto c = account_client();
  pki::Certificate leaf = issue_ip_cert(*c);
  std::string id = *ari::cert_id(leaf);
  const Json ip = {{{"type", "ip"}, {"value", "127.0.0.1"}}};

  auto stranger = account_client();
  Reply foreign = stranger->post(c->url("newOrder"), Json{{"identifiers", ip}, {"replaces", id}});
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(foreign.problem(), "unauthorized");
  Reply disjoint =
      c->post(c->url("newOrder"),
              Json{{"identifiers", {{{"type", "ip"}, {"value", "10.0.0.1"}}}}, {"replaces", id}});
  EXPECT_EQ(disjoint.status, 400);
  EXPECT_EQ(disjoint.problem(), "malformed");
  Reply garbage = c->post(c->url("newOrder"), Json{{"identifiers", ip}, {"replaces", "x.y.z"}});
  EXPECT_EQ(garbage.problem(), "malformed");
  Reply not_string = c->post(c->url("newOrder"), Json{{"identifiers", ip}, {"replaces", 7}});
  EXPECT_EQ(not_string.problem(), "malformed");

  Reply first = c->post(c->url("newOrder"), Json{{"identifiers", ip}, {"replaces", id}});
  ASSERT_EQ(first.status, 201) << first.response.body;
  EXPECT_EQ(first.body["replaces"], id);
  EXPECT_EQ(c->post_as_get(first.location()).body["replaces"], id);
  Reply second = c->post(c->url("newOrder"), Json{{"identifiers", ip}, {"replaces", id}});
  EXPECT_EQ(second.status, 409);
  EXPECT_EQ(second.problem(), "alreadyReplaced");

  // Once the replacing order is invalid (expired), the certificate may be replaced again.
  clock->advance(config.order_lifetime + 1);
  // The cached nonce expired with the jump: this answer is badNonce with a fresh one.
  EXPECT_EQ(c->post_as_get(first.location()).problem(), "badNonce");
  Reply third = c->post(c->url("newOrder"), Json{{"identifiers", ip}, {"replaces", id}});
  EXPECT_EQ(third.status, 201) << third.response.body;
}

// Two servers on one store (as two processes would be) get newOrders replacing the same
// certificate at once: the claim is a compare-and-set in the store, so exactly one order is
// created and the other is alreadyReplaced (RFC 9773 §5). The loser leaves nothing behind:
// no order and no pending authorization counting against the account's quota.
TEST_F(AcmeRenewalTest, ReplacesIsExclusiveAcrossServersOnOneStore) {
  start_server();
  auto second = AcmeServer::start(config, clock, LogLevel::Quiet);
  ASSERT_TRUE(second.ok()) << second.error().detail;
  auto store = open_store("sqlite:" + data_dir + "/attestlab.db");
  ASSERT_TRUE(store.ok()) << store.error().detail;
  const Json ip = {{{"type", "ip"}, {"value", "127.0.0.1"}}};
  for (int round = 0; round < 16; ++round) {
    SCOPED_TRACE(round);
    auto c = account_client();
    const std::string account_id = c->kid.substr(c->kid.rfind('/') + 1);
    const std::string id = *ari::cert_id(issue_ip_cert(*c));
    auto via_second = same_account_at(**second, *c);
    (void)via_second->nonce();
    (void)c->nonce();
    Reply a, b;
    std::latch start(2);
    std::thread t1([&] {
      start.arrive_and_wait();
      a = c->post(c->url("newOrder"), Json{{"identifiers", ip}, {"replaces", id}});
    });
    std::thread t2([&] {
      start.arrive_and_wait();
      b = via_second->post(via_second->url("newOrder"), Json{{"identifiers", ip}, {"replaces", id}});
    });
    t1.join();
    t2.join();
    const int created = (a.status == 201) + (b.status == 201);
    EXPECT_EQ(created, 1) << a.response.body << " / " << b.response.body;
    const Reply& loser = a.status == 201 ? b : a;
    EXPECT_EQ(loser.status, 409) << loser.response.body;
    EXPECT_EQ(loser.problem(), "alreadyReplaced");
    // The issued certificate's order and the winner's; one pending authorization, its.
    EXPECT_EQ((*store)->order_ids_by_account(account_id).value().size(), 2u);
    EXPECT_EQ((*store)->count_authzs(account_id, "pending").value(), 1);
  }
  (*second)->stop();
}

TEST_F(AcmeRenewalTest, ProfilesSelectValidityAndUnknownIsRefused) {
  config.cert_validity = 90 * 86400;
  start_server();
  auto c = account_client();
  const Json ip = {{{"type", "ip"}, {"value", "127.0.0.1"}}};
  Reply unknown = c->post(c->url("newOrder"), Json{{"identifiers", ip}, {"profile", "no-such"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.problem(), "invalidProfile");
  Reply defaulted = c->post(c->url("newOrder"), Json{{"identifiers", ip}});
  EXPECT_EQ(defaulted.body["profile"], kDeviceProfile);

  pki::Certificate short_lived = issue_ip_cert(*c, Json{{"profile", kShortLivedProfile}});
  EXPECT_LE(short_lived.not_after() - clock->now(), kShortLivedValidity);
  EXPECT_GT(short_lived.not_after() - clock->now(), kShortLivedValidity - 3600);
  pki::Certificate device = issue_ip_cert(*c, Json{{"profile", kDeviceProfile}});
  EXPECT_EQ(device.not_after() - clock->now(), 90 * 86400);
}

TEST(RenewalWindow, SpreadsAFleetExpiringTogether) {
  std::set<std::int64_t> starts;
  const std::int64_t nb = 1'700'000'000, na = nb + 90 * 86400, lifetime = na - nb;
  for (int i = 0; i < 200; ++i) {
    CertificateRecord r;
    r.serial_hex = "5e7a1" + std::to_string(i);
    r.not_before = nb;
    r.not_after = na;
    RenewalWindow w = renewal_window(r, nb + 1);
    EXPECT_LT(w.start, w.end);
    EXPECT_GE(w.start, nb + lifetime * 2 / 3);
    EXPECT_LE(w.end, na - lifetime / 12);
    EXPECT_EQ(w.end - w.start, lifetime / 24);
    EXPECT_EQ(renewal_window(r, nb + 5000).start, w.start) << "not deterministic";
    starts.insert(w.start);
  }
  EXPECT_GE(starts.size(), 195u);
  EXPECT_GT(*starts.rbegin() - *starts.begin(), lifetime / 6);
}

}  // namespace
}  // namespace attestlab::server::testing

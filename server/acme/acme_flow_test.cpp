// End-to-end ACME flows against an in-process AcmeServer over HTTPS: http-01 (ip
// identifier, in-test responder), dns-01 (pebble-challtestsrv as DNS), device-attest-01
// (fake validator), key rollover, revocation, deactivation, restart persistence, metrics.
#include <gtest/gtest.h>

#include <fstream>

#include "core/pki.h"
#include "server/acme/cert_profiles.h"
#include "server/store/store.h"
#include "testing/acme_server_fixture.h"
#include "testing/sanitizers.h"

namespace attestlab::server::testing {
namespace {

using AcmeFlowTest = AcmeServerFixture;

std::vector<pki::Certificate> download_chain(TestAcmeClient& c, const std::string& cert_url) {
  Reply cert = c.post_as_get(cert_url);
  EXPECT_EQ(cert.status, 200);
  EXPECT_EQ(cert.header("Content-Type"), "application/pem-certificate-chain");
  auto chain = pki::Certificate::bundle_from_pem(cert.response.body);
  EXPECT_TRUE(chain.ok());
  return chain.ok() ? *chain : std::vector<pki::Certificate>{};
}

TEST_F(AcmeFlowTest, DirectoryAndNonce) {
  start_server();
  auto c = make_client();
  EXPECT_EQ(c->url("newNonce"),
            server->directory_url().substr(0, server->directory_url().size() - 9) + "new-nonce");
  for (const char* name : {"newAccount", "newOrder", "revokeCert", "keyChange"})
    EXPECT_FALSE(c->url(name).empty()) << name;
  EXPECT_EQ(c->directory["meta"]["externalAccountRequired"], false);
  EXPECT_TRUE(c->directory["meta"]["termsOfService"].is_string());

  Reply head = c->request("HEAD", c->url("newNonce"));
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.header("Replay-Nonce").empty());
  EXPECT_EQ(head.header("Cache-Control"), "no-store");
  EXPECT_NE(head.header("Link").find("rel=\"index\""), std::string::npos);
  Reply get = c->request("GET", c->url("newNonce"));
  EXPECT_EQ(get.status, 204);
  EXPECT_FALSE(get.header("Replay-Nonce").empty());
  EXPECT_NE(get.header("Replay-Nonce"), head.header("Replay-Nonce"));

  Reply health = c->get(server->directory_url().substr(0, server->directory_url().find("/acme/")) +
                        "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.response.body, "ok");
}

TEST_F(AcmeFlowTest, AccountCreateFetchAndExisting) {
  start_server();
  auto c = make_client();
  Reply created = c->new_account();
  ASSERT_EQ(created.status, 201) << created.response.body;
  EXPECT_EQ(created.status_field(), "valid");
  EXPECT_NE(created.location().find("/acme/acct/"), std::string::npos);
  EXPECT_FALSE(created.header("Replay-Nonce").empty());
  EXPECT_EQ(created.body["contact"][0], "mailto:t@example.com");
  EXPECT_TRUE(created.body["orders"].is_string());

  Reply again = c->new_account();
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.location(), created.location());

  SignOptions only;
  only.use_jwk = true;
  Reply existing = c->post(c->url("newAccount"), Json{{"onlyReturnExisting", true}}, only);
  EXPECT_EQ(existing.status, 200);
  EXPECT_EQ(existing.location(), created.location());

  Reply fetched = c->post_as_get(c->kid);
  EXPECT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.status_field(), "valid");

  Reply updated = c->post(c->kid, Json{{"contact", {"mailto:new@example.org"}}});
  EXPECT_EQ(updated.status, 200);
  EXPECT_EQ(updated.body["contact"][0], "mailto:new@example.org");
  EXPECT_EQ(c->post_as_get(c->kid).body["contact"][0], "mailto:new@example.org");
}

TEST_F(AcmeFlowTest, Http01IpIdentifierFullFlow) {
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  ASSERT_EQ(order.status, 201) << order.response.body;
  EXPECT_EQ(order.status_field(), "pending");
  ASSERT_EQ(order.body["authorizations"].size(), 1u);
  std::string order_url = order.location();
  EXPECT_NE(order_url.find("/acme/order/"), std::string::npos);

  Reply authz = c->post_as_get(order.body["authorizations"][0]);
  ASSERT_EQ(authz.status, 200);
  EXPECT_EQ(authz.body["identifier"]["type"], "ip");
  // RFC 8738: ip identifiers get http-01 only (no dns-01).
  ASSERT_EQ(authz.body["challenges"].size(), 1u);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
  ASSERT_FALSE(challenge.is_null());
  EXPECT_EQ(challenge["status"], "pending");

  // POST-as-GET on a challenge does not start validation.
  Reply peek = c->post_as_get(challenge["url"]);
  EXPECT_EQ(peek.status_field(), "pending");
  EXPECT_EQ(responder.hits(), 0);

  responder.provision(challenge["token"], c->key_authorization(challenge["token"]));
  // The validation (a loopback fetch) ends within the challenge response's wait: the
  // response carries the outcome, and nothing is left to poll for.
  Reply started = c->post(challenge["url"], Json::object());
  ASSERT_EQ(started.status, 200) << started.response.body;
  EXPECT_EQ(started.status_field(), "valid") << started.response.body;
  EXPECT_TRUE(started.body.contains("validated")) << started.response.body;
  EXPECT_EQ(started.header("Retry-After"), "");
  EXPECT_FALSE(started.header("Replay-Nonce").empty());
  bool up = false;
  for (const auto& link : started.response.all("Link")) {
    if (link.find(authz.body.is_null() ? "" : order.body["authorizations"][0].get<std::string>()) !=
            std::string::npos &&
        link.find("rel=\"up\"") != std::string::npos) {
      up = true;
    }
  }
  EXPECT_TRUE(up);

  Reply valid_authz = c->poll(order.body["authorizations"][0]);
  EXPECT_EQ(valid_authz.status_field(), "valid") << valid_authz.response.body;
  Reply ready = c->poll(order_url);
  ASSERT_EQ(ready.status_field(), "ready") << ready.response.body;
  EXPECT_GE(responder.hits(), 1);

  // A final challenge is returned unchanged by another POST {}.
  Reply again = c->post(challenge["url"], Json::object());
  EXPECT_EQ(again.status_field(), "valid");

  auto csr_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Reply finalized = c->post(order.body["finalize"],
                            Json{{"csr", TestAcmeClient::csr_b64(csr_key, {}, {"127.0.0.1"})}});
  ASSERT_EQ(finalized.status, 200) << finalized.response.body;
  EXPECT_EQ(finalized.status_field(), "valid");
  ASSERT_TRUE(finalized.body["certificate"].is_string());

  auto chain = download_chain(*c, finalized.body["certificate"]);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_TRUE(chain[0].public_key().equals(csr_key.public_key()));
  EXPECT_EQ(chain[0].subject_alt_names().ip, std::vector<std::string>{"127.0.0.1"});
  EXPECT_FALSE(chain[0].is_ca());
  EXPECT_TRUE(chain[1].is_ca());
  auto roots = pki::Certificate::bundle_from_pem(*pki::read_file(data_dir + "/ca/chain.pem"));
  ASSERT_TRUE(roots.ok());
  ASSERT_EQ(roots->size(), 2u);  // intermediate then root
  EXPECT_TRUE(pki::verify_chain(chain[0], {chain[1]}, {(*roots)[1]}).ok());

  EXPECT_EQ(server->metrics().certificates_issued(), 1u);
  EXPECT_EQ(server->metrics().validations(ChallengeKind::Http01, true), 1u);
  Reply metrics = c->get(server->directory_url().substr(0, server->directory_url().find("/acme/")) +
                         "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.response.body.find("attestlab_certificates_issued_total 1"), std::string::npos);
  EXPECT_NE(metrics.response.body.find(
                "attestlab_validations_total{type=\"http-01\",outcome=\"valid\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.response.body.find(
                "attestlab_http_requests_total{route=\"finalize\",status=\"200\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.response.body.find(
                "attestlab_http_request_duration_seconds_bucket{route=\"new-order\""),
            std::string::npos);
  // Gauges: this client's connection is open while it asks; the heap has bytes in use.
  auto gauge = [&](const std::string& name) -> long long {
    const auto at = metrics.response.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(metrics.response.body.substr(at + name.size() + 2));
  };
  EXPECT_GE(gauge("attestlab_http_connections"), 1);
  EXPECT_GE(gauge("attestlab_http_connections_busy"), 1);  // this request
  EXPECT_EQ(gauge("attestlab_http_connections_refused_total{reason=\"behind\"}"), 0);
  EXPECT_EQ(gauge("attestlab_http_connections_refused_total{reason=\"full\"}"), 0);
  EXPECT_EQ(gauge("attestlab_http_connections_refused_total{reason=\"busy\"}"), 0);
#ifdef ATTESTLAB_SANITIZED_ALLOCATOR
  // The sanitizer's allocator leaves glibc's statistics at zero: present, not counted.
  EXPECT_GE(gauge("attestlab_process_heap_bytes{state=\"in_use\"}"), 0);
#else
  EXPECT_GT(gauge("attestlab_process_heap_bytes{state=\"in_use\"}"), 0);
#endif
  EXPECT_GE(gauge("attestlab_process_heap_bytes{state=\"free\"}"), 0);
  EXPECT_GE(gauge("attestlab_heap_trims_total"), 0);  // present (-1: missing)
  EXPECT_GE(gauge("attestlab_heap_trim_seconds_total"), 0);

  Reply listed = c->post_as_get(c->kid + "/orders");
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.body["orders"].size(), 1u);
  EXPECT_EQ(listed.body["orders"][0], order_url);
}

TEST_F(AcmeFlowTest, Http01WrongKeyAuthorizationInvalidatesEverything) {
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  Reply authz = c->post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
  responder.provision(challenge["token"], "not-the-key-authorization");
  c->post(challenge["url"], Json::object());
  Reply final_authz = c->poll(order.body["authorizations"][0]);
  EXPECT_EQ(final_authz.status_field(), "invalid");
  Json failed = TestAcmeClient::challenge_of(final_authz.body, "http-01");
  EXPECT_EQ(failed["status"], "invalid");
  EXPECT_EQ(failed["error"]["type"], "urn:ietf:params:acme:error:incorrectResponse");
  Reply final_order = c->post_as_get(order.location());
  EXPECT_EQ(final_order.status_field(), "invalid");
  EXPECT_TRUE(final_order.body.contains("error"));
  EXPECT_EQ(server->metrics().validations(ChallengeKind::Http01, false), 1u);
}

TEST_F(AcmeFlowTest, Http01NothingListeningIsConnectionError) {
  config.http01_port = free_port();
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  Reply authz = c->post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
  c->post(challenge["url"], Json::object());
  Reply final_authz = c->poll(order.body["authorizations"][0]);
  EXPECT_EQ(final_authz.status_field(), "invalid");
  EXPECT_EQ(TestAcmeClient::challenge_of(final_authz.body, "http-01")["error"]["type"],
            "urn:ietf:params:acme:error:connection");
}

TEST_F(AcmeFlowTest, Dns01WithChallTestSrvAndWildcard) {
  ChallTestSrv dns;
  ASSERT_TRUE(dns.start()) << "pebble-challtestsrv did not start";
  config.dns_server = "127.0.0.1:" + std::to_string(dns.dns_port);
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"dns", "*.Dns01.Example"}, {"dns", "www.dns01.example"}});
  ASSERT_EQ(order.status, 201) << order.response.body;
  EXPECT_EQ(order.body["identifiers"][0]["value"], "*.dns01.example");  // lowercased
  ASSERT_EQ(order.body["authorizations"].size(), 2u);
  for (const auto& authz_url : order.body["authorizations"]) {
    Reply authz = c->post_as_get(authz_url);
    bool wildcard = authz.body.value("wildcard", false);
    if (wildcard) {
      EXPECT_EQ(authz.body["identifier"]["value"], "dns01.example");
      EXPECT_EQ(authz.body["challenges"].size(), 1u);  // dns-01 only
    } else {
      EXPECT_EQ(authz.body["challenges"].size(), 2u);
    }
    Json challenge = TestAcmeClient::challenge_of(authz.body, "dns-01");
    ASSERT_FALSE(challenge.is_null());
    std::string value = base64url_encode(sha256(c->key_authorization(challenge["token"])));
    ASSERT_TRUE(dns.set_txt(
        "_acme-challenge." + authz.body["identifier"]["value"].get<std::string>() + ".", value));
    EXPECT_EQ(c->post(challenge["url"], Json::object()).status, 200);
  }
  Reply ready = c->poll(order.location());
  ASSERT_EQ(ready.status_field(), "ready") << ready.response.body;
  auto csr_key = *pki::PrivateKey::generate(pki::KeySpec::p384());
  Reply finalized = c->post(
      order.body["finalize"],
      Json{{"csr", TestAcmeClient::csr_b64(csr_key, {"*.dns01.example", "www.dns01.example"}, {},
                                           "www.dns01.example")}});
  ASSERT_EQ(finalized.status, 200) << finalized.response.body;
  auto chain = download_chain(*c, finalized.body["certificate"]);
  ASSERT_FALSE(chain.empty());
  auto dns_names = chain[0].subject_alt_names().dns;
  std::sort(dns_names.begin(), dns_names.end());
  EXPECT_EQ(dns_names, (std::vector<std::string>{"*.dns01.example", "www.dns01.example"}));
  EXPECT_EQ(server->metrics().validations(ChallengeKind::Dns01, true), 2u);
}

TEST_F(AcmeFlowTest, Dns01MissingRecordIsInvalid) {
  ChallTestSrv dns;
  ASSERT_TRUE(dns.start());
  config.dns_server = "127.0.0.1:" + std::to_string(dns.dns_port);
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"dns", "absent.example"}});
  Reply authz = c->post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "dns-01");
  c->post(challenge["url"], Json::object());
  Reply final_authz = c->poll(order.body["authorizations"][0]);
  EXPECT_EQ(final_authz.status_field(), "invalid");
  EXPECT_EQ(TestAcmeClient::challenge_of(final_authz.body, "dns-01")["error"]["type"],
            "urn:ietf:params:acme:error:unauthorized");
}

TEST_F(AcmeFlowTest, Http01DnsNameResolvedThroughConfiguredDns) {
  ChallTestSrv dns;
  ASSERT_TRUE(dns.start());
  config.dns_server = "127.0.0.1:" + std::to_string(dns.dns_port);
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"dns", "web.example"}});
  Reply authz = c->post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
  responder.provision(challenge["token"], c->key_authorization(challenge["token"]));
  c->post(challenge["url"], Json::object());
  EXPECT_EQ(c->poll(order.location()).status_field(), "ready");
}

TEST_F(AcmeFlowTest, KeyChangeAndConflict) {
  start_server();
  auto c = account_client();
  auto other = account_client();
  auto new_key = *pki::PrivateKey::generate(pki::KeySpec::p256());

  auto rollover = [&](const pki::PrivateKey& target) {
    Json inner_header{{"url", c->url("keyChange")},
                      {"jwk", jose::Jwk(target.public_key()).to_json()}};
    Json inner_payload{{"account", c->kid}, {"oldKey", jose::Jwk(c->key.public_key()).to_json()}};
    Json inner = *jose::sign(inner_header, inner_payload, target);
    return c->post(c->url("keyChange"), inner);
  };

  // Conflict: the other account's key.
  Reply conflict = rollover(other->key);
  EXPECT_EQ(conflict.status, 409) << conflict.response.body;
  EXPECT_EQ(conflict.location(), other->kid);
  EXPECT_EQ(c->post_as_get(c->kid).status, 200);  // old key still works

  Reply changed = rollover(new_key);
  ASSERT_EQ(changed.status, 200) << changed.response.body;
  // The old key is gone; the new one signs for the same account.
  Reply old_key = c->post_as_get(c->kid);
  EXPECT_EQ(old_key.status, 400);
  EXPECT_EQ(old_key.problem(), "malformed");  // signature no longer verifies
  c->key = new_key;
  EXPECT_EQ(c->post_as_get(c->kid).status, 200);
  SignOptions jwk;
  jwk.use_jwk = true;
  Reply lookup = c->post(c->url("newAccount"), Json{{"onlyReturnExisting", true}}, jwk);
  EXPECT_EQ(lookup.status, 200);
  EXPECT_EQ(lookup.location(), c->kid);
}

TEST_F(AcmeFlowTest, RevocationByAccountKeyAndByCertificateKey) {
  start_server();
  auto c = account_client();
  auto issue = [&](pki::PrivateKey& csr_key) {
    std::string order_url = ready_ip_order(*c);
    Reply order = c->post_as_get(order_url);
    Reply finalized = c->post(order.body["finalize"],
                              Json{{"csr", TestAcmeClient::csr_b64(csr_key, {}, {"127.0.0.1"})}});
    EXPECT_EQ(finalized.status, 200) << finalized.response.body;
    return download_chain(*c, finalized.body["certificate"]).at(0);
  };
  auto key1 = *pki::PrivateKey::generate(pki::KeySpec::p256());
  auto cert1 = issue(key1);
  std::string der1 = base64url_encode(cert1.to_der());

  // Another account may not revoke it...
  auto stranger = account_client();
  Reply refused = stranger->post(c->url("revokeCert"), Json{{"certificate", der1}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.problem(), "unauthorized");
  // ... unless it holds a valid authorization for every identifier (RFC 8555 §7.6).
  auto authorized = account_client();
  ready_ip_order(*authorized);
  Reply by_authorized =
      authorized->post(c->url("revokeCert"), Json{{"certificate", der1}, {"reason", 5}});
  EXPECT_EQ(by_authorized.status, 200) << by_authorized.response.body;
  EXPECT_EQ(c->post(c->url("revokeCert"), Json{{"certificate", der1}}).problem(), "alreadyRevoked");
  cert1 = issue(key1);
  der1 = base64url_encode(cert1.to_der());

  Reply bad_reason = c->post(c->url("revokeCert"), Json{{"certificate", der1}, {"reason", 7}});
  EXPECT_EQ(bad_reason.status, 400);
  EXPECT_EQ(bad_reason.problem(), "badRevocationReason");
  Reply bad_reason2 = c->post(c->url("revokeCert"), Json{{"certificate", der1}, {"reason", 11}});
  EXPECT_EQ(bad_reason2.problem(), "badRevocationReason");

  Reply revoked = c->post(c->url("revokeCert"), Json{{"certificate", der1}, {"reason", 1}});
  EXPECT_EQ(revoked.status, 200) << revoked.response.body;
  EXPECT_TRUE(revoked.response.body.empty());
  EXPECT_FALSE(revoked.header("Replay-Nonce").empty());
  Reply twice = c->post(c->url("revokeCert"), Json{{"certificate", der1}});
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(twice.problem(), "alreadyRevoked");

  // By the certificate's own key (jwk), no account involved.
  auto key2 = *pki::PrivateKey::generate(pki::KeySpec::p256());
  auto cert2 = issue(key2);
  std::string der2 = base64url_encode(cert2.to_der());
  SignOptions wrong_key;
  wrong_key.use_jwk = true;
  auto unrelated = *pki::PrivateKey::generate(pki::KeySpec::p256());
  wrong_key.key = &unrelated;
  Reply not_cert_key = c->post(c->url("revokeCert"), Json{{"certificate", der2}}, wrong_key);
  EXPECT_EQ(not_cert_key.status, 403);
  EXPECT_EQ(not_cert_key.problem(), "unauthorized");
  SignOptions cert_key;
  cert_key.use_jwk = true;
  cert_key.key = &key2;
  Reply by_cert_key =
      c->post(c->url("revokeCert"), Json{{"certificate", der2}, {"reason", 4}}, cert_key);
  EXPECT_EQ(by_cert_key.status, 200) << by_cert_key.response.body;
  EXPECT_EQ(c->post(c->url("revokeCert"), Json{{"certificate", der2}}).problem(), "alreadyRevoked");
}

TEST_F(AcmeFlowTest, AuthzDeactivationInvalidatesOrder) {
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  std::string authz_url = order.body["authorizations"][0];
  Reply bad = c->post(authz_url, Json{{"status", "valid"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.problem(), "malformed");
  EXPECT_EQ(c->post_as_get(authz_url).status_field(), "pending");

  Reply deactivated = c->post(authz_url, Json{{"status", "deactivated"}});
  ASSERT_EQ(deactivated.status, 200) << deactivated.response.body;
  EXPECT_EQ(deactivated.status_field(), "deactivated");
  EXPECT_EQ(c->post_as_get(authz_url).status_field(), "deactivated");
  EXPECT_EQ(c->post_as_get(order.location()).status_field(), "invalid");
  Reply again = c->post(authz_url, Json{{"status", "deactivated"}});
  EXPECT_EQ(again.status, 400);
}

TEST_F(AcmeFlowTest, AccountDeactivation) {
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  ASSERT_EQ(order.status, 201);
  Reply bad = c->post(c->kid, Json{{"status", "revoked"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.problem(), "malformed");
  Reply deactivated = c->post(c->kid, Json{{"status", "deactivated"}});
  ASSERT_EQ(deactivated.status, 200);
  EXPECT_EQ(deactivated.status_field(), "deactivated");
  // RFC 8555 §7.3.6: later requests with that account fail with 401 unauthorized.
  Reply after = c->post_as_get(order.location());
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(after.problem(), "unauthorized");
  EXPECT_EQ(c->new_order({{"ip", "127.0.0.1"}}).status, 401);
  Reply via_new_account = c->new_account();
  EXPECT_EQ(via_new_account.problem(), "unauthorized");
}

TEST_F(AcmeFlowTest, NotBeforeNotAfterHonoured) {
  start_server();
  auto c = account_client();
  std::int64_t now = clock->now();
  std::string nb = format_rfc3339(now + 3600), na = format_rfc3339(now + 7 * 86400);
  Reply order =
      c->post_as_get(ready_ip_order(*c, "127.0.0.1", {{"notBefore", nb}, {"notAfter", na}}));
  EXPECT_EQ(order.body["notBefore"], nb);
  auto key = *pki::PrivateKey::generate(pki::KeySpec::rsa(2048));
  Reply fin = c->post(order.body["finalize"],
                      Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"})}});
  ASSERT_EQ(fin.status, 200) << fin.response.body;
  auto leaf = download_chain(*c, fin.body["certificate"]).at(0);
  EXPECT_EQ(leaf.not_before(), now + 3600);
  EXPECT_EQ(leaf.not_after(), now + 7 * 86400);

  Reply bad =
      c->post(c->url("newOrder"), Json{{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}},
                                       {"notBefore", "yesterday"}});
  EXPECT_EQ(bad.problem(), "malformed");
}

// The Unix epoch is a time like any other, not "absent": refused as a notAfter (in the past)
// and as a notBefore (outside the window).
TEST_F(AcmeFlowTest, EpochIsATimeNotAnAbsentMember) {
  start_server();
  auto c = account_client();
  for (const char* member : {"notAfter", "notBefore"}) {
    SCOPED_TRACE(member);
    Reply r = c->post(c->url("newOrder"),
                      Json{{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}},
                           {member, "1970-01-01T00:00:00Z"}});
    EXPECT_EQ(r.status, 400) << r.response.body;
    EXPECT_EQ(r.problem(), "malformed");
  }
}

// An order lives no longer than the validity it asked for: after its notAfter it has
// expired, and finalize issues nothing (no certificate that is over before it is issued).
TEST_F(AcmeFlowTest, FinalizeAfterTheRequestedNotAfterIssuesNothing) {
  start_server();
  auto c = account_client();
  const std::string na = format_rfc3339(clock->now() + 3600);
  const std::string order_url = ready_ip_order(*c, "127.0.0.1", {{"notAfter", na}});
  Reply order = c->post_as_get(order_url);
  EXPECT_EQ(order.body["expires"], na);

  clock->advance(3601);
  (void)c->nonce();  // the cached nonce expired with the jump
  auto key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Reply fin = c->post(order.body["finalize"],
                      Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"})}});
  EXPECT_EQ(fin.status, 403) << fin.response.body;
  EXPECT_EQ(fin.problem(), "orderNotReady");
  Reply after = c->post_as_get(order_url);
  EXPECT_EQ(after.status_field(), "invalid");
  EXPECT_FALSE(after.body.contains("certificate")) << after.body;
}

// A notBefore alone starts the profile's validity: the leaf is never longer-lived than the
// profile allows (it used to run from notBefore to now + validity).
TEST_F(AcmeFlowTest, NotBeforeAloneStartsTheProfilesValidity) {
  start_server();
  auto c = account_client();
  const std::int64_t nb = clock->now() - 1800;
  Reply order =
      c->post_as_get(ready_ip_order(*c, "127.0.0.1", {{"notBefore", format_rfc3339(nb)}}));
  auto key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Reply fin = c->post(order.body["finalize"],
                      Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"})}});
  ASSERT_EQ(fin.status, 200) << fin.response.body;
  auto leaf = download_chain(*c, fin.body["certificate"]).at(0);
  EXPECT_EQ(leaf.not_before(), nb);
  EXPECT_EQ(leaf.not_after() - leaf.not_before(), cert_profiles(config).front().validity);
}

// notBefore is bounded like the validity span: no back- or forward-dating by years.
TEST_F(AcmeFlowTest, NotBeforeOutsideWindowIsMalformed) {
  config.not_before_window = 3600;
  start_server();
  auto c = account_client();
  std::int64_t now = clock->now();
  for (std::int64_t offset : {-5 * 365 * 86400LL, -3601LL, 3601LL, 3 * 365 * 86400LL}) {
    SCOPED_TRACE(offset);
    Reply r = c->post(c->url("newOrder"),
                      Json{{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}},
                           {"notBefore", format_rfc3339(now + offset)}});
    EXPECT_EQ(r.status, 400) << r.response.body;
    EXPECT_EQ(r.problem(), "malformed");
    EXPECT_NE(r.body.value("detail", "").find("3600 seconds"), std::string::npos) << r.body;
  }
  for (std::int64_t offset : {-3600LL, -60LL, 3600LL}) {
    Reply r = c->post(c->url("newOrder"),
                      Json{{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}},
                           {"notBefore", format_rfc3339(now + offset)}});
    EXPECT_EQ(r.status, 201) << offset << r.response.body;
  }
}

TEST_F(AcmeFlowTest, OrderAndAuthzExpireOnRead) {
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  clock->advance(config.order_lifetime + 10);
  (void)c->nonce();  // the cached nonce expired with the jump; start from a fresh one
  EXPECT_EQ(c->post_as_get(order.body["authorizations"][0]).status_field(), "expired");
  EXPECT_EQ(c->post_as_get(order.location()).status_field(), "invalid");
  Reply fin = c->post(order.body["finalize"], Json{{"csr", "AAAA"}});
  EXPECT_EQ(fin.status, 403);
  EXPECT_EQ(fin.problem(), "orderNotReady");
}

TEST_F(AcmeFlowTest, RestartKeepsAccountsAndCertificates) {
  start_server();
  auto c = account_client();
  std::string order_url = ready_ip_order(*c);
  auto csr_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Reply order = c->post_as_get(order_url);
  Reply fin = c->post(order.body["finalize"],
                      Json{{"csr", TestAcmeClient::csr_b64(csr_key, {}, {"127.0.0.1"})}});
  ASSERT_EQ(fin.status, 200) << fin.response.body;
  std::string cert_url = fin.body["certificate"];
  std::string pem_before = c->post_as_get(cert_url).response.body;
  std::string tls_before = server->tls_certificate_pem();
  std::string chain_before = *pki::read_file(data_dir + "/ca/chain.pem");

  server->stop();
  server.reset();
  config.listen_port = 0;
  start_server();
  EXPECT_EQ(server->tls_certificate_pem(), tls_before);
  EXPECT_EQ(*pki::read_file(data_dir + "/ca/chain.pem"), chain_before);

  auto again = make_client();
  again->key = c->key;
  // The port changed, so the account URL is rebuilt from the old id.
  std::string id = c->kid.substr(c->kid.rfind('/') + 1);
  again->kid = again->url("newAccount").substr(0, again->url("newAccount").rfind("/new-account")) +
               "/acct/" + id;
  Reply account = again->post_as_get(again->kid);
  EXPECT_EQ(account.status, 200) << account.response.body;
  std::string cert_id = cert_url.substr(cert_url.rfind('/') + 1);
  Reply cert =
      again->post_as_get(again->kid.substr(0, again->kid.rfind("/acct/")) + "/cert/" + cert_id);
  EXPECT_EQ(cert.status, 200);
  EXPECT_EQ(cert.response.body, pem_before);
}

// Orders 127.0.0.1 and provisions its http-01 answer (the key authorization unless `answer`
// is given): the order and the challenge, or a null challenge after a failed expectation.
std::pair<Reply, Json> http01_order(TestAcmeClient& c, Http01Responder& responder,
                                    std::optional<std::string> answer = std::nullopt) {
  Reply order = c.new_order({{"ip", "127.0.0.1"}});
  EXPECT_EQ(order.status, 201) << order.response.body;
  if (order.status != 201) return {order, Json()};
  Json challenge =
      TestAcmeClient::challenge_of(c.post_as_get(order.body["authorizations"][0]).body, "http-01");
  EXPECT_FALSE(challenge.is_null());
  if (challenge.is_null()) return {order, Json()};
  responder.provision(challenge["token"],
                      answer ? *answer : c.key_authorization(challenge["token"]));
  return {order, challenge};
}

// A validation that outlasts the challenge response's wait: the response says
// "processing" (with Retry-After) when the wait is over, and the outcome comes by polling.
TEST_F(AcmeFlowTest, Http01ChallengeAnswersProcessingWhenTheValidationOutlastsTheWait) {
  config.challenge_answer_wait = std::chrono::milliseconds(30);
  start_server();
  responder.set_delay(std::chrono::milliseconds(400));
  auto c = account_client();
  auto [order, challenge] = http01_order(*c, responder);
  if (challenge.is_null()) return;
  Reply started = c->post(challenge["url"], Json::object());
  ASSERT_EQ(started.status, 200) << started.response.body;
  EXPECT_EQ(started.status_field(), "processing") << started.response.body;
  EXPECT_EQ(started.header("Retry-After"), "1");
  EXPECT_EQ(c->poll(order.body["authorizations"][0]).status_field(), "valid");
}

// The server stops while a challenge response waits for a validation that is still
// running: the worker finishes the answer before the connections' I/O contexts go (under
// ASan, the other order is a use after free), and stop() returns.
TEST_F(AcmeFlowTest, StoppingWhileAChallengeResponseWaitsIsSafe) {
  config.challenge_answer_wait = std::chrono::milliseconds(5000);
  start_server();
  responder.set_delay(std::chrono::milliseconds(300));
  auto c = account_client();
  auto [order, challenge] = http01_order(*c, responder);
  if (challenge.is_null()) return;
  Reply reply;
  const std::string url = challenge["url"];  // (clang 14 cannot capture a structured binding)
  std::thread answering([&] { reply = c->post(url, Json::object()); });
  // The responder holds its answer 300 ms: stop within that, while the worker fetches and
  // the connection holds the response (a sequencing pause, not a timing assertion).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->stop();
  answering.join();
  // The held response was written (the worker finished it in time), or the connection was
  // closed with the server: never anything else.
  if (reply.error.empty()) {
    EXPECT_EQ(reply.status, 200) << reply.response.body;
    EXPECT_TRUE(reply.status_field() == "valid" || reply.status_field() == "processing")
        << reply.response.body;
  }
  EXPECT_EQ(responder.hits(), 1);  // the validation ran to its end before stop() returned
  server.reset();
}

// challenge_answer_wait 0: the response says "processing" at once, as before the wait.
TEST_F(AcmeFlowTest, Http01ChallengeWithoutAWaitAnswersProcessing) {
  config.challenge_answer_wait = std::chrono::milliseconds(0);
  start_server();
  auto c = account_client();
  auto [order, challenge] = http01_order(*c, responder);
  if (challenge.is_null()) return;
  Reply started = c->post(challenge["url"], Json::object());
  EXPECT_EQ(started.status_field(), "processing") << started.response.body;
  EXPECT_EQ(started.header("Retry-After"), "1");
  EXPECT_EQ(c->poll(order.body["authorizations"][0]).status_field(), "valid");
}

// A failed validation within the wait: the response is the invalid challenge and its error.
TEST_F(AcmeFlowTest, Http01ChallengeAnswersTheFailureWithinTheWait) {
  start_server();
  auto c = account_client();
  auto [order, challenge] = http01_order(*c, responder, "not-the-key-authorization");
  if (challenge.is_null()) return;
  Reply started = c->post(challenge["url"], Json::object());
  ASSERT_EQ(started.status, 200) << started.response.body;
  EXPECT_EQ(started.status_field(), "invalid") << started.response.body;
  EXPECT_EQ(started.body["error"]["type"], "urn:ietf:params:acme:error:incorrectResponse")
      << started.response.body;
  EXPECT_EQ(c->post_as_get(order.location()).status_field(), "invalid");
}

TEST_F(AcmeFlowTest, ValidationOrphanedByRestartResumes) {
  start_server();
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  std::string authz_url = order.body["authorizations"][0];
  Json challenge = TestAcmeClient::challenge_of(c->post_as_get(authz_url).body, "http-01");
  server->stop();
  server.reset();
  {
    // What a crash between "processing" and the validation leaves behind.
    auto store = open_store("sqlite:" + data_dir + "/attestlab.db");
    ASSERT_TRUE(store.ok());
    std::string challenge_id = challenge["url"].get<std::string>().substr(
        challenge["url"].get<std::string>().rfind('/') + 1);
    auto authz = (*store)->authz_by_challenge(challenge_id);
    ASSERT_TRUE(authz.ok() && authz->has_value());
    Authorization stuck = **authz;
    stuck.challenges[0].status = "processing";
    ASSERT_TRUE((*store)->update_authz(stuck, "pending").ok());
  }
  start_server();
  auto again = make_client();
  again->key = c->key;
  std::string base = again->url("newOrder").substr(0, again->url("newOrder").rfind("/new-order"));
  again->kid = base + "/acct/" + c->kid.substr(c->kid.rfind('/') + 1);
  std::string new_authz_url = base + "/authz/" + authz_url.substr(authz_url.rfind('/') + 1);
  responder.provision(challenge["token"], c->key_authorization(challenge["token"]));
  Reply resumed = again->poll(new_authz_url);
  EXPECT_EQ(resumed.status_field(), "valid") << resumed.response.body;
}

// A stand-in for the Apple verifier: attObj "good" attests `attested` for `serial`.
class FakeDeviceValidator : public DeviceAttestValidator {
 public:
  FakeDeviceValidator(pki::PublicKey attested, std::string serial, int* supersede_questions)
      : attested_(std::move(attested)),
        serial_(std::move(serial)),
        supersede_questions_(supersede_questions) {}
  Result<Json> validate(const Authorization& authz, const Challenge&, const Account&,
                        const Json& payload) override {
    // "byod": a User Enrollment attestation, which proves the key but names no device.
    if (payload.value("attObj", "") == "byod") {
      if (decision_hook_) decision_hook_("accept", "ok");
      return Json{{"spki", base64url_encode(attested_.spki_der())},
                  {"device_id", ""},
                  {"user_enrollment", true}};
    }
    if (payload.value("attObj", "") != "good" || authz.identifier.value.rfind(serial_, 0) != 0) {
      if (decision_hook_) decision_hook_("reject", "chain");
      return Error::make("badAttestationStatement", "fake: not a good attestation");
    }
    if (decision_hook_) decision_hook_("accept", "ok");
    return Json{{"spki", base64url_encode(attested_.spki_der())},
                {"device_id", serial_},
                {"serial", serial_}};
  }
  bool supersedes_previous_certificates() const override {
    ++*supersede_questions_;
    return true;
  }

 private:
  pki::PublicKey attested_;
  std::string serial_;
  int* supersede_questions_;
};

TEST_F(AcmeFlowTest, DeviceAttestFlowWithFakeValidator) {
  auto device_key = *pki::PrivateKey::generate(pki::KeySpec::p384());
  int supersede_questions = 0;
  start_server(std::make_unique<FakeDeviceValidator>(device_key.public_key(), "C02XL0GVJGH5",
                                                     &supersede_questions));
  auto c = account_client();
  Reply order = c->new_order({{"permanent-identifier", "C02XL0GVJGH5"}});
  ASSERT_EQ(order.status, 201) << order.response.body;
  Reply authz = c->post_as_get(order.body["authorizations"][0]);
  ASSERT_EQ(authz.body["challenges"].size(), 1u);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "device-attest-01");
  ASSERT_FALSE(challenge.is_null());

  // A payload without attObj is refused up front and changes nothing.
  Reply no_att = c->post(challenge["url"], Json{{"foo", 1}});
  EXPECT_EQ(no_att.status, 400);
  EXPECT_EQ(no_att.problem(), "malformed");
  EXPECT_EQ(c->post_as_get(challenge["url"]).status_field(), "pending");

  // The attestation is checked in the request: the response carries the outcome, and the
  // order is ready without a poll.
  Reply started = c->post(challenge["url"], Json{{"attObj", "good"}, {"unknown", true}});
  EXPECT_EQ(started.status, 200);
  EXPECT_EQ(started.status_field(), "valid") << started.response.body;
  EXPECT_TRUE(started.body.contains("validated")) << started.response.body;
  EXPECT_EQ(started.header("Retry-After"), "");
  EXPECT_EQ(c->post_as_get(order.body["authorizations"][0]).status_field(), "valid");
  ASSERT_EQ(c->post_as_get(order.location()).status_field(), "ready");
  // Answering the decided challenge again changes nothing.
  Reply again = c->post(challenge["url"], Json{{"attObj", "forged"}});
  EXPECT_EQ(again.status_field(), "valid") << again.response.body;
  EXPECT_EQ(server->metrics().validations(ChallengeKind::DeviceAttest01, true), 1u);
  EXPECT_EQ(server->metrics().attestation_decisions("accept", "ok"), 1u);

  // The CSR key must be the attested key.
  auto other_key = *pki::PrivateKey::generate(pki::KeySpec::p384());
  pki::CsrSpec spec;
  spec.subject = {{"CN", "C02XL0GVJGH5"}};
  spec.sans.permanent_ids.push_back({"C02XL0GVJGH5", std::nullopt});
  Reply wrong = c->post(order.body["finalize"],
                        Json{{"csr", base64url_encode(pki::build_csr(spec, other_key)->to_der())}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.problem(), "badCSR");
  EXPECT_EQ(wrong.body["detail"], "CSR public key does not match the attested key");
  // A permanentIdentifier SAN that differs from the order is refused.
  pki::CsrSpec other_id = spec;
  other_id.sans.permanent_ids = {{"C02XL0GVJGH6", std::nullopt}};
  other_id.subject = {};
  Reply mismatch =
      c->post(order.body["finalize"],
              Json{{"csr", base64url_encode(pki::build_csr(other_id, device_key)->to_der())}});
  EXPECT_EQ(mismatch.problem(), "badCSR");
  EXPECT_EQ(c->post_as_get(order.location()).status_field(), "ready");

  // Privacy-preserving: the SAN may be omitted.
  pki::CsrSpec bare;
  Reply fin = c->post(order.body["finalize"],
                      Json{{"csr", base64url_encode(pki::build_csr(bare, device_key)->to_der())}});
  ASSERT_EQ(fin.status, 200) << fin.response.body;
  auto leaf = download_chain(*c, fin.body["certificate"]).at(0);
  auto sans = leaf.subject_alt_names();
  ASSERT_EQ(sans.permanent_ids.size(), 1u);
  EXPECT_EQ(sans.permanent_ids[0].value, "C02XL0GVJGH5");
  EXPECT_TRUE(leaf.public_key().equals(device_key.public_key()));
  EXPECT_EQ(supersede_questions, 1);  // asked once, by the finalize that issued
}

TEST_F(AcmeFlowTest, DeviceAttestRejectionMarksChallengeInvalid) {
  auto device_key = *pki::PrivateKey::generate(pki::KeySpec::p384());
  int calls = 0;
  start_server(std::make_unique<FakeDeviceValidator>(device_key.public_key(), "SERIAL1", &calls));
  auto c = account_client();
  Reply order = c->new_order({{"permanent-identifier", "SERIAL1"}});
  Reply authz = c->post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "device-attest-01");
  Reply answered = c->post(challenge["url"], Json{{"attObj", "forged"}});
  EXPECT_EQ(answered.status, 200);
  EXPECT_EQ(answered.status_field(), "invalid") << answered.response.body;
  EXPECT_EQ(answered.body["error"]["type"], "urn:ietf:params:acme:error:badAttestationStatement");
  Reply final_authz = c->post_as_get(order.body["authorizations"][0]);
  EXPECT_EQ(final_authz.status_field(), "invalid");
  EXPECT_EQ(TestAcmeClient::challenge_of(final_authz.body, "device-attest-01")["error"]["type"],
            "urn:ietf:params:acme:error:badAttestationStatement");
  EXPECT_EQ(c->post_as_get(order.location()).status_field(), "invalid");
  EXPECT_EQ(server->metrics().attestation_decisions("reject", "chain"), 1u);
  EXPECT_EQ(server->metrics().validations(ChallengeKind::DeviceAttest01, false), 1u);
}

// The authorization is deactivated while its attestation is being checked: the outcome is not
// written over it, and the response shows what the store holds.
TEST_F(AcmeFlowTest, DeviceAttestDecidedAfterDeactivationKeepsTheDeactivation) {
  class DeactivatingValidator : public DeviceAttestValidator {
   public:
    explicit DeactivatingValidator(std::string db) : db_(std::move(db)) {}
    Result<Json> validate(const Authorization& authz, const Challenge&, const Account&,
                          const Json&) override {
      auto store = open_store("sqlite:" + db_);
      EXPECT_TRUE(store.ok());
      if (store.ok()) {
        auto stored = (*store)->authz_by_id(authz.id);
        EXPECT_TRUE(stored.ok() && stored->has_value());
        if (stored.ok() && stored->has_value()) {
          Authorization gone = **stored;
          EXPECT_EQ(gone.challenges.at(0).status, "pending");  // nothing written before
          gone.status = "deactivated";
          EXPECT_TRUE((*store)->update_authz(gone, "pending").ok());
        }
      }
      return Json{{"spki", ""}, {"device_id", "SERIAL1"}, {"serial", "SERIAL1"}};
    }

   private:
    std::string db_;
  };
  start_server(std::make_unique<DeactivatingValidator>(data_dir + "/attestlab.db"));
  auto c = account_client();
  Reply order = c->new_order({{"permanent-identifier", "SERIAL1"}});
  ASSERT_EQ(order.status, 201) << order.response.body;
  Json challenge = TestAcmeClient::challenge_of(
      c->post_as_get(order.body["authorizations"][0]).body, "device-attest-01");
  Reply answered = c->post(challenge["url"], Json{{"attObj", "good"}});
  EXPECT_EQ(answered.status, 200) << answered.response.body;
  EXPECT_EQ(answered.status_field(), "pending") << answered.response.body;
  EXPECT_EQ(c->post_as_get(order.body["authorizations"][0]).status_field(), "deactivated");
  EXPECT_EQ(c->post_as_get(order.location()).status_field(), "invalid");
}

// A device that could not get an attestation answers with only {"error": "..."}: the
// challenge becomes invalid with the client's text, and a decision record is written
// (before, the up-front attObj check answered 400 and the challenge stayed pending).
TEST_F(AcmeFlowTest, DeviceAttestErrorOnlyPayloadInvalidatesChallenge) {
  start_server();  // the real validator
  auto c = account_client();
  Reply order = c->new_order({{"permanent-identifier", "C02XL0GVJGH5"}});
  ASSERT_EQ(order.status, 201) << order.response.body;
  Reply authz = c->post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "device-attest-01");
  ASSERT_FALSE(challenge.is_null());
  Reply answered = c->post(challenge["url"], Json{{"error", "attestation service unavailable"}});
  EXPECT_EQ(answered.status, 200) << answered.response.body;
  Reply final_authz = c->poll(order.body["authorizations"][0]);
  EXPECT_EQ(final_authz.status_field(), "invalid");
  Json error = TestAcmeClient::challenge_of(final_authz.body, "device-attest-01")["error"];
  EXPECT_EQ(error["type"], "urn:ietf:params:acme:error:badAttestationStatement");
  EXPECT_NE(error.value("detail", "").find("attestation service unavailable"), std::string::npos)
      << error;
  EXPECT_EQ(server->metrics().attestation_decisions("reject", "client_error"), 1u);
  std::ifstream decisions(config.data_dir + "/decisions.jsonl");
  std::string line, all;
  while (std::getline(decisions, line)) all += line + "\n";
  EXPECT_NE(all.find("client_error"), std::string::npos) << all;
  EXPECT_NE(all.find("attestation service unavailable"), std::string::npos) << all;
  // Neither attObj nor error: still refused up front.
  Reply order2 = c->new_order({{"permanent-identifier", "C02XL0GVJGH6"}});
  Json challenge2 = TestAcmeClient::challenge_of(
      c->post_as_get(order2.body["authorizations"][0]).body, "device-attest-01");
  EXPECT_EQ(c->post(challenge2["url"], Json{{"foo", 1}}).problem(), "malformed");
}

// Orders `identifier`, answers its device-attest-01 with attObj `att` and finalizes with a
// CSR for `device_key`; the issued leaf, or nullopt (with failures recorded).
std::optional<pki::Certificate> device_leaf(TestAcmeClient& c, const std::string& identifier,
                                            const std::string& att,
                                            const pki::PrivateKey& device_key) {
  Reply order = c.new_order({{"permanent-identifier", identifier}});
  EXPECT_EQ(order.status, 201) << order.response.body;
  if (order.status != 201) return std::nullopt;
  Json challenge = TestAcmeClient::challenge_of(c.post_as_get(order.body["authorizations"][0]).body,
                                                "device-attest-01");
  c.post(challenge["url"], Json{{"attObj", att}});
  EXPECT_EQ(c.poll(order.location()).status_field(), "ready");
  pki::CsrSpec bare;
  Reply fin = c.post(order.body["finalize"],
                     Json{{"csr", base64url_encode(pki::build_csr(bare, device_key)->to_der())}});
  EXPECT_EQ(fin.status, 200) << fin.response.body;
  if (fin.status != 200) return std::nullopt;
  return download_chain(c, fin.body["certificate"]).at(0);
}

// allow_user_enrollment: the attestation proves a key, not the serial the order claimed, so
// the leaf does not name that serial and its holder cannot revoke the real device's leaf.
TEST_F(AcmeFlowTest, UserEnrollmentLeafNamesNoUnverifiedSerialAndGrantsNoRevocation) {
  auto device_key = *pki::PrivateKey::generate(pki::KeySpec::p384());
  int calls = 0;
  start_server(
      std::make_unique<FakeDeviceValidator>(device_key.public_key(), "C02XL0GVJGH5", &calls));
  auto owner = account_client();
  auto real = device_leaf(*owner, "C02XL0GVJGH5", "good", device_key);
  ASSERT_TRUE(real);
  ASSERT_EQ(real->subject_alt_names().permanent_ids.size(), 1u);

  auto byod = account_client();
  auto claimed = device_leaf(*byod, "C02XL0GVJGH5", "byod", device_key);
  ASSERT_TRUE(claimed);
  EXPECT_TRUE(claimed->subject_alt_names().permanent_ids.empty());
  EXPECT_EQ(claimed->subject().find("C02XL0GVJGH5"), std::string::npos) << claimed->subject();
  EXPECT_NE(claimed->subject().find("attested-key"), std::string::npos) << claimed->subject();

  Reply revoke =
      byod->post(byod->url("revokeCert"), Json{{"certificate", base64url_encode(real->to_der())}});
  EXPECT_EQ(revoke.status, 403) << revoke.response.body;
  EXPECT_EQ(revoke.problem(), "unauthorized");
}

// A client-chosen assigner OID reaches the leaf only when the operator vouches for it.
TEST_F(AcmeFlowTest, ClientChosenAssignerOidNotCopiedUnlessVouched) {
  auto device_key = *pki::PrivateKey::generate(pki::KeySpec::p384());
  int calls = 0;
  config.vouched_device_oids = {"1.2.840.113635.100.6"};
  start_server(
      std::make_unique<FakeDeviceValidator>(device_key.public_key(), "C02XL0GVJGH5", &calls));
  auto c = account_client();
  auto chosen = device_leaf(*c, "C02XL0GVJGH5/1.3.6.1.4.1.99999", "good", device_key);
  ASSERT_TRUE(chosen);
  auto sans = chosen->subject_alt_names();
  ASSERT_EQ(sans.permanent_ids.size(), 1u);
  EXPECT_EQ(sans.permanent_ids[0].value, "C02XL0GVJGH5");
  EXPECT_FALSE(sans.permanent_ids[0].assigner.has_value());
  auto vouched = device_leaf(*c, "C02XL0GVJGH5/1.2.840.113635.100.6", "good", device_key);
  ASSERT_TRUE(vouched);
  auto vouched_sans = vouched->subject_alt_names();
  ASSERT_EQ(vouched_sans.permanent_ids.size(), 1u);
  EXPECT_EQ(vouched_sans.permanent_ids[0].assigner, "1.2.840.113635.100.6");
}

}  // namespace
}  // namespace attestlab::server::testing

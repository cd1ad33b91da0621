// Requests the server must refuse (RFC 8555 §6, §7): each asserts the HTTP status, the
// exact problem type, and that nothing changed (order still pending, nonce reusable ...).
#include <gtest/gtest.h>

#include <fstream>

#include "testing/acme_server_fixture.h"

namespace attestlab::server::testing {
namespace {

class AcmeNegativeTest : public AcmeServerFixture {
 protected:
  void SetUp() override {
    AcmeServerFixture::SetUp();
    if (!HasFatalFailure() && start_now) start_server();
  }
  bool start_now = true;

  // Every POST answer carries a fresh nonce and the index link.
  static void expect_post_envelope(const Reply& r) {
    EXPECT_FALSE(r.header("Replay-Nonce").empty()) << "no Replay-Nonce on " << r.status;
    EXPECT_NE(r.header("Link").find("rel=\"index\""), std::string::npos);
  }
  static void expect_problem(const Reply& r, int status, const std::string& type) {
    EXPECT_EQ(r.status, status) << r.response.body;
    EXPECT_EQ(r.problem(), type) << r.response.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
    EXPECT_EQ(r.body.value("status", 0), status);
  }
};

TEST_F(AcmeNegativeTest, MalformedJwsBody) {
  auto c = account_client();
  Reply r = c->request("POST", c->url("newOrder"), {{"content-type", "application/jose+json"}},
                       "{not json");
  expect_problem(r, 400, "malformed");
  expect_post_envelope(r);
  Reply general =
      c->request("POST", c->url("newOrder"), {{"content-type", "application/jose+json"}},
                 R"({"payload":"","signatures":[]})");
  expect_problem(general, 400, "malformed");
}

TEST_F(AcmeNegativeTest, MissingNonceOrUrlOrBothKeys) {
  auto c = account_client();
  SignOptions no_nonce;
  no_nonce.drop_nonce = true;
  // RFC 8555 §6.5: an absent nonce is badNonce, one that is not base64url is malformed.
  expect_problem(c->post(c->url("newOrder"), Json{{"identifiers", Json::array()}}, no_nonce), 400,
                 "badNonce");
  SignOptions bad_alphabet;
  bad_alphabet.nonce = "not base64url!";
  expect_problem(c->post(c->url("newOrder"), Json{{"identifiers", Json::array()}}, bad_alphabet),
                 400, "malformed");
  SignOptions both;
  both.both_jwk_and_kid = true;
  expect_problem(c->post(c->kid, std::nullopt, both), 400, "malformed");
  SignOptions jwk_elsewhere;
  jwk_elsewhere.use_jwk = true;
  expect_problem(c->post(c->kid, std::nullopt, jwk_elsewhere), 400, "malformed");
  // newAccount with kid instead of jwk.
  expect_problem(c->post(c->url("newAccount"), Json{{"termsOfServiceAgreed", true}}), 400,
                 "malformed");
}

TEST_F(AcmeNegativeTest, UnknownKid) {
  auto c = account_client();
  SignOptions opt;
  opt.kid = c->kid + "x";
  Reply r = c->post(c->url("newOrder"),
                    Json{{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}}}, opt);
  expect_problem(r, 400, "accountDoesNotExist");
  expect_post_envelope(r);
  opt.kid = "https://elsewhere.example/acct/1";
  expect_problem(c->post(c->url("newOrder"),
                         Json{{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}}}, opt),
                 400, "accountDoesNotExist");
  EXPECT_EQ(c->post_as_get(c->kid + "/orders").body["orders"].size(), 0u);
}

TEST_F(AcmeNegativeTest, ReusedAndBogusNonce) {
  auto c = account_client();
  std::string nonce = c->nonce();
  SignOptions opt;
  opt.nonce = nonce;
  Reply first = c->post_as_get(c->kid);
  (void)first;
  Reply ok = c->post(c->kid, std::nullopt, opt);
  EXPECT_EQ(ok.status, 200);
  Reply replay = c->post(c->kid, std::nullopt, opt);
  expect_problem(replay, 400, "badNonce");
  expect_post_envelope(replay);
  opt.nonce = std::string(32, 'A');  // base64url, but never issued
  expect_problem(c->post(c->kid, std::nullopt, opt), 400, "badNonce");
  // The fresh nonce from the badNonce answer works.
  EXPECT_EQ(c->post_as_get(c->kid).status, 200);
}

TEST_F(AcmeNegativeTest, RejectedRequestLeavesNonceUsable) {
  auto c = account_client();
  std::string nonce = c->nonce();
  SignOptions bad_sig;
  bad_sig.nonce = nonce;
  bad_sig.corrupt_signature = true;
  expect_problem(c->post(c->kid, std::nullopt, bad_sig), 400, "malformed");
  SignOptions good;
  good.nonce = nonce;
  EXPECT_EQ(c->post(c->kid, std::nullopt, good).status, 200);
}

TEST_F(AcmeNegativeTest, WrongUrl) {
  auto c = account_client();
  SignOptions opt;
  opt.url = c->url("newOrder");
  Reply r = c->post(c->kid, std::nullopt, opt);
  expect_problem(r, 403, "unauthorized");
  expect_post_envelope(r);
  // A Host-header trick does not change the expected URL.
  SignOptions host;
  host.url = "https://evil.example" + c->kid.substr(c->kid.find("/acme/"));
  expect_problem(c->post(c->kid, std::nullopt, host), 403, "unauthorized");
}

// RFC 7515 §4: a header with a repeated member is refused, never read as its last copy.
TEST_F(AcmeNegativeTest, DuplicateMembersInHeaderAndPayloadAreMalformed) {
  auto c = account_client();
  const Json ids = {{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}}};
  SignOptions two_urls;
  two_urls.edit_header = [](const std::string& text) {
    // {"url":"https://evil.example/x","url":<the right one>, ...}: the right one last.
    return "{\"url\":\"https://evil.example/x\"," + text.substr(1);
  };
  Reply r = c->post(c->url("newOrder"), ids, two_urls);
  expect_problem(r, 400, "malformed");
  EXPECT_NE(r.body.value("detail", "").find("duplicate"), std::string::npos) << r.body;
  expect_post_envelope(r);
  SignOptions two_payload_members;
  two_payload_members.raw_payload =
      R"({"identifiers":[{"type":"ip","value":"127.0.0.1"}],"identifiers":[]})";
  Reply p = c->post(c->url("newOrder"), std::nullopt, two_payload_members);
  expect_problem(p, 400, "malformed");
  EXPECT_NE(p.body.value("detail", "").find("duplicate"), std::string::npos) << p.body;
  EXPECT_EQ(c->post_as_get(c->kid + "/orders").body["orders"].size(), 0u);
  // The same request without the repetition is fine.
  EXPECT_EQ(c->post(c->url("newOrder"), ids).status, 201);
}

// An oversized body (8 MiB sent at full speed over TLS) gets its 413 as a problem document
// and the connection is closed gracefully, so the client reads the reason.
TEST_F(AcmeNegativeTest, OversizedBodyIs413ProblemDocument) {
  auto c = account_client();
  Reply huge = c->request("POST", c->url("newOrder"), {{"content-type", "application/jose+json"}},
                          std::string(8 << 20, 'a'));
  ASSERT_TRUE(huge.error.empty()) << huge.error;
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(huge.header("Content-Type"), "application/problem+json");
  EXPECT_EQ(huge.problem(), "malformed") << huge.response.body;
  EXPECT_NE(huge.body.value("detail", "").find(std::to_string(256 * 1024)), std::string::npos)
      << huge.body;
  // 10,000 identifiers: over the body limit too, answered the same way.
  Json ids = Json::array();
  for (int i = 0; i < 10000; ++i)
    ids.push_back(Json{{"type", "dns"}, {"value", "host" + std::to_string(i) + ".example"}});
  Reply many = c->post(c->url("newOrder"), Json{{"identifiers", ids}});
  EXPECT_EQ(many.status, 413);
  EXPECT_EQ(many.header("Content-Type"), "application/problem+json");
  EXPECT_EQ(many.problem(), "malformed") << many.response.body;
  // 101 identifiers fit in a body but not in an order: the limit is in the detail.
  ids.erase(ids.begin() + 101, ids.end());
  Reply over = c->post(c->url("newOrder"), Json{{"identifiers", ids}});
  expect_problem(over, 400, "rejectedIdentifier");
  EXPECT_NE(over.body.value("detail", "").find("100"), std::string::npos);
  // The server still serves this client normally.
  EXPECT_EQ(c->new_order({{"ip", "127.0.0.1"}}).status, 201);
}

TEST_F(AcmeNegativeTest, AlgNoneAndHs256AndBadSignature) {
  auto c = account_client();
  SignOptions none;
  none.alg = "none";
  Reply r = c->post(c->kid, std::nullopt, none);
  expect_problem(r, 400, "badSignatureAlgorithm");
  ASSERT_TRUE(r.body.contains("algorithms"));
  EXPECT_NE(std::find(r.body["algorithms"].begin(), r.body["algorithms"].end(), "ES256"),
            r.body["algorithms"].end());
  SignOptions mac;
  mac.alg = "HS256";
  expect_problem(c->post(c->kid, std::nullopt, mac), 400, "badSignatureAlgorithm");
  SignOptions mismatched;
  mismatched.alg = "ES384";  // P-256 key
  expect_problem(c->post(c->kid, std::nullopt, mismatched), 400, "badSignatureAlgorithm");
  SignOptions unknown;
  unknown.alg = "XS999";
  expect_problem(c->post(c->kid, std::nullopt, unknown), 400, "badSignatureAlgorithm");
  SignOptions corrupt;
  corrupt.corrupt_signature = true;
  expect_problem(c->post(c->kid, std::nullopt, corrupt), 400, "malformed");
}

TEST_F(AcmeNegativeTest, WrongContentType) {
  auto c = account_client();
  SignOptions opt;
  opt.content_type = "application/json";
  Reply r = c->post(c->kid, std::nullopt, opt);
  expect_problem(r, 415, "malformed");
  expect_post_envelope(r);
}

TEST_F(AcmeNegativeTest, GetOnPostResource) {
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  for (const std::string& url :
       {order.location(), order.body["authorizations"][0].get<std::string>(), c->kid,
        c->url("newOrder"), c->url("newAccount"), c->url("revokeCert")}) {
    Reply r = c->get(url);
    EXPECT_EQ(r.status, 405) << url;
    EXPECT_EQ(r.header("Allow"), "POST") << url;
  }
  Reply dir_post =
      c->request("POST", c->url("newNonce"), {{"content-type", "application/jose+json"}}, "{}");
  EXPECT_EQ(dir_post.status, 405);
}

TEST_F(AcmeNegativeTest, UnknownResource) {
  auto c = account_client();
  Reply r = c->post_as_get(c->url("newOrder").substr(0, c->url("newOrder").rfind('/')) +
                           "/order/doesnotexist");
  expect_problem(r, 404, "malformed");
  expect_post_envelope(r);
  EXPECT_EQ(c->get(c->url("newOrder") + "x").status, 404);
}

TEST_F(AcmeNegativeTest, OnlyReturnExistingForMissingAccount) {
  auto c = make_client();
  SignOptions opt;
  opt.use_jwk = true;
  Reply r = c->post(c->url("newAccount"), Json{{"onlyReturnExisting", true}}, opt);
  expect_problem(r, 400, "accountDoesNotExist");
  expect_post_envelope(r);
  EXPECT_TRUE(r.location().empty());
  // Still no account: a later onlyReturnExisting fails the same way.
  expect_problem(c->post(c->url("newAccount"), Json{{"onlyReturnExisting", true}}, opt), 400,
                 "accountDoesNotExist");
}

TEST_F(AcmeNegativeTest, BadContacts) {
  auto c = make_client();
  expect_problem(c->new_account(Json{{"termsOfServiceAgreed", true}, {"contact", {"tel:+1555"}}}),
                 400, "unsupportedContact");
  expect_problem(c->new_account(Json{{"termsOfServiceAgreed", true},
                                     {"contact", {"mailto:a@b.example?subject=x"}}}),
                 400, "invalidContact");
  expect_problem(c->new_account(Json{{"termsOfServiceAgreed", true},
                                     {"contact", {"mailto:a@b.example,c@d.example"}}}),
                 400, "invalidContact");
  expect_problem(
      c->new_account(Json{{"termsOfServiceAgreed", true}, {"contact", {"mailto:not-an-address"}}}),
      400, "invalidContact");
  expect_problem(
      c->new_account(Json{{"termsOfServiceAgreed", true}, {"contact", "mailto:a@b.example"}}), 400,
      "malformed");
  // No account was created along the way.
  SignOptions opt;
  opt.use_jwk = true;
  expect_problem(c->post(c->url("newAccount"), Json{{"onlyReturnExisting", true}}, opt), 400,
                 "accountDoesNotExist");
  // Updating an account to a bad contact leaves the old one.
  EXPECT_EQ(c->new_account().status, 201);
  expect_problem(c->post(c->kid, Json{{"contact", {"mailto:x@y.example?cc=z"}}}), 400,
                 "invalidContact");
  EXPECT_EQ(c->post_as_get(c->kid).body["contact"][0], "mailto:t@example.com");
}

TEST_F(AcmeNegativeTest, TermsOfServiceRequired) {
  auto c = make_client();
  expect_problem(c->new_account(Json{{"contact", {"mailto:a@b.example"}}}), 400, "malformed");
}

TEST_F(AcmeNegativeTest, BadIdentifiers) {
  auto c = account_client();
  auto order_with = [&](Json ids) {
    return c->post(c->url("newOrder"), Json{{"identifiers", ids}});
  };
  expect_problem(order_with(Json::array()), 400, "malformed");
  expect_problem(order_with(Json{{{"type", "email"}, {"value", "a@b.example"}}}), 400,
                 "unsupportedIdentifier");
  Reply bad_dns = order_with(Json{{{"type", "dns"}, {"value", "bad_name.example"}}});
  expect_problem(bad_dns, 400, "malformed");
  ASSERT_TRUE(bad_dns.body.contains("subproblems"));
  EXPECT_EQ(bad_dns.body["subproblems"][0]["identifier"]["value"], "bad_name.example");
  expect_problem(order_with(Json{{{"type", "dns"}, {"value", "a.*.example"}}}), 400, "malformed");
  expect_problem(order_with(Json{{{"type", "dns"}, {"value", "*.com"}}}), 400, "malformed");
  expect_problem(order_with(Json{{{"type", "dns"}, {"value", "1.2.3.4"}}}), 400, "malformed");
  expect_problem(order_with(Json{{{"type", "ip"}, {"value", "127.000.0.1"}}}), 400, "malformed");
  expect_problem(order_with(Json{{{"type", "ip"}, {"value", "::0:1"}}}), 400, "malformed");
  expect_problem(order_with(Json{{{"type", "permanent-identifier"}, {"value", "a/b/c"}}}), 400,
                 "malformed");
  expect_problem(order_with(Json{{{"type", "hardware-module"}, {"value", "no-oid"}}}), 400,
                 "malformed");
  EXPECT_EQ(c->post_as_get(c->kid + "/orders").body["orders"].size(), 0u);

  Reply v6 = order_with(Json{{{"type", "ip"}, {"value", "::1"}}});
  EXPECT_EQ(v6.status, 201) << v6.response.body;
}

TEST_F(AcmeNegativeTest, FinalizeBeforeReadyAndBadCsr) {
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  auto key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Reply early = c->post(order.body["finalize"],
                        Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"})}});
  expect_problem(early, 403, "orderNotReady");
  expect_post_envelope(early);
  EXPECT_EQ(c->post_as_get(order.location()).status_field(), "pending");

  std::string order_url = ready_ip_order(*c);
  Reply ready = c->post_as_get(order_url);
  std::string finalize = ready.body["finalize"];
  expect_problem(c->post(finalize, Json{{"csr", "!!notbase64"}}), 400, "badCSR");
  expect_problem(c->post(finalize, Json{{"csr", base64url_encode(std::string("garbage"))}}), 400,
                 "badCSR");
  // Wrong names.
  expect_problem(c->post(finalize, Json{{"csr", TestAcmeClient::csr_b64(key, {"other.example"})}}),
                 400, "badCSR");
  expect_problem(
      c->post(finalize,
              Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1", "127.0.0.2"})}}),
      400, "badCSR");
  // CN outside the order.
  expect_problem(
      c->post(finalize,
              Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"}, "x.example")}}),
      400, "badCSR");
  // The account key itself.
  expect_problem(
      c->post(finalize, Json{{"csr", TestAcmeClient::csr_b64(c->key, {}, {"127.0.0.1"})}}), 400,
      "badCSR");
  // Ed25519 and small RSA keys.
  auto ed = *pki::PrivateKey::generate(pki::KeySpec::ed25519());
  Reply ed_reply = c->post(finalize, Json{{"csr", TestAcmeClient::csr_b64(ed, {}, {"127.0.0.1"})}});
  EXPECT_EQ(ed_reply.status, 400);
  EXPECT_TRUE(ed_reply.problem() == "badCSR" || ed_reply.problem() == "badPublicKey")
      << ed_reply.problem();
  auto p521 = *pki::PrivateKey::generate(pki::KeySpec::p521());
  expect_problem(c->post(finalize, Json{{"csr", TestAcmeClient::csr_b64(p521, {}, {"127.0.0.1"})}}),
                 400, "badCSR");
  expect_problem(c->post(finalize, Json{{"nocsr", 1}}), 400, "malformed");
  // Nothing moved.
  EXPECT_EQ(c->post_as_get(order_url).status_field(), "ready");
  EXPECT_EQ(server->metrics().certificates_issued(), 0u);

  Reply fin = c->post(finalize,
                      Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"}, "127.0.0.1")}});
  EXPECT_EQ(fin.status, 200) << fin.response.body;
  expect_problem(c->post(finalize, Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"})}}),
                 403, "orderNotReady");
}

TEST_F(AcmeNegativeTest, AnotherAccountsObjects) {
  auto owner = account_client();
  auto other = account_client();
  std::string order_url = ready_ip_order(*owner);
  Reply order = owner->post_as_get(order_url);
  std::string authz_url = order.body["authorizations"][0];
  std::string chall_url =
      TestAcmeClient::challenge_of(owner->post_as_get(authz_url).body, "http-01")["url"];
  auto key = *pki::PrivateKey::generate(pki::KeySpec::p256());

  expect_problem(other->post_as_get(order_url), 403, "unauthorized");
  expect_problem(other->post_as_get(authz_url), 403, "unauthorized");
  expect_problem(other->post(authz_url, Json{{"status", "deactivated"}}), 403, "unauthorized");
  expect_problem(other->post_as_get(chall_url), 403, "unauthorized");
  expect_problem(other->post(order.body["finalize"],
                             Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"})}}),
                 403, "unauthorized");
  expect_problem(other->post_as_get(owner->kid), 403, "unauthorized");
  expect_problem(other->post(owner->kid, Json{{"status", "deactivated"}}), 403, "unauthorized");
  expect_problem(other->post_as_get(owner->kid + "/orders"), 403, "unauthorized");
  EXPECT_EQ(owner->post_as_get(authz_url).status_field(), "valid");
  EXPECT_EQ(owner->post_as_get(owner->kid).status_field(), "valid");

  Reply fin = owner->post(order.body["finalize"],
                          Json{{"csr", TestAcmeClient::csr_b64(key, {}, {"127.0.0.1"})}});
  ASSERT_EQ(fin.status, 200);
  expect_problem(other->post_as_get(fin.body["certificate"]), 403, "unauthorized");
}

TEST_F(AcmeNegativeTest, PostAsGetResourcesRefusePayloads) {
  auto c = account_client();
  Reply order = c->new_order({{"ip", "127.0.0.1"}});
  expect_problem(c->post(order.location(), Json{{"status", "ready"}}), 400, "malformed");
  expect_problem(c->post(c->kid + "/orders", Json::object()), 400, "malformed");
  SignOptions raw;
  raw.raw_payload = "[1,2]";
  expect_problem(c->post(c->kid, std::nullopt, raw), 400, "malformed");
}

class AcmeEabTest : public AcmeNegativeTest {
 protected:
  void SetUp() override {
    start_now = false;
    AcmeNegativeTest::SetUp();
    eab_key = random_bytes(32);
    std::string path = data_dir + "/eab.json";
    std::ofstream(path) << Json{{"kid-1", base64url_encode(eab_key)},
                                {"kid-2", base64url_encode(random_bytes(32))}}
                               .dump();
    config.eab_required = true;
    config.eab_keys_file = path;
    start_server();
  }
  Json binding(TestAcmeClient& c, const std::string& kid, const Bytes& mac_key,
               const std::string& url = "") {
    Json header{{"alg", "HS256"}, {"kid", kid}, {"url", url.empty() ? c.url("newAccount") : url}};
    return jose::sign_hs256(header, jose::Jwk(c.key.public_key()).to_json().dump(), mac_key);
  }
  Bytes eab_key;
};

TEST_F(AcmeEabTest, RequiredMissingWrongAndBound) {
  auto c = make_client();
  EXPECT_EQ(c->directory["meta"]["externalAccountRequired"], true);
  expect_problem(c->new_account(), 403, "externalAccountRequired");
  Json base{{"termsOfServiceAgreed", true}};

  Json unknown = base;
  unknown["externalAccountBinding"] = binding(*c, "kid-9", eab_key);
  expect_problem(c->new_account(unknown), 403, "unauthorized");
  Json bad_mac = base;
  bad_mac["externalAccountBinding"] = binding(*c, "kid-1", random_bytes(32));
  expect_problem(c->new_account(bad_mac), 403, "unauthorized");
  Json wrong_url = base;
  wrong_url["externalAccountBinding"] = binding(*c, "kid-1", eab_key, c->url("newOrder"));
  expect_problem(c->new_account(wrong_url), 403, "unauthorized");
  auto other_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Json wrong_jwk = base;
  wrong_jwk["externalAccountBinding"] =
      jose::sign_hs256(Json{{"alg", "HS256"}, {"kid", "kid-1"}, {"url", c->url("newAccount")}},
                       jose::Jwk(other_key.public_key()).to_json().dump(), eab_key);
  expect_problem(c->new_account(wrong_jwk), 400, "malformed");
  Json not_jws = base;
  not_jws["externalAccountBinding"] = "nope";
  expect_problem(c->new_account(not_jws), 400, "malformed");

  Json good = base;
  good["externalAccountBinding"] = binding(*c, "kid-1", eab_key);
  EXPECT_EQ(c->new_account(good).status, 201);

  // kid-1 is now bound: another key cannot reuse it.
  auto second = make_client();
  Json reuse = base;
  reuse["externalAccountBinding"] = binding(*second, "kid-1", eab_key);
  expect_problem(second->new_account(reuse), 403, "unauthorized");
}

}  // namespace
}  // namespace attestlab::server::testing

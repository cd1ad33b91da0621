// The device's ACME client against a lenient, recording in-process ACME server (HTTPS):
// what a device sends for each payload and each ClientFaults knob, checked on the wire
// (the verdicts of a real server are tests/device_attest_test.cpp's business).
#include "sim/device/device_acme.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "core/bytes.h"
#include "core/http.h"
#include "sim/device/apple_format.h"
#include "sim/device/attestation.h"

namespace attestlab::sim {
namespace {

namespace fs = std::filesystem;

// One signed POST as the server saw it.
struct SeenPost {
  std::string path;
  Json header;   // protected header
  Json payload;  // null for POST-as-GET
};

// Answers the device-attest flow without judging anything: every challenge answer is
// accepted, every CSR gets a certificate for its own key. Records every POST.
class RecordingAcmeServer {
 public:
  RecordingAcmeServer() {
    auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
    if (!key) return;
    ca_key_ = *key;
    pki::CertificateSpec spec;
    spec.subject = {{"CN", "recording ACME server"}};
    spec.sans.ip = {"127.0.0.1"};
    spec.sans.dns = {"localhost"};
    spec.not_before = SystemClock().now() - 3600;
    spec.not_after = SystemClock().now() + 86400;
    auto cert = pki::issue_certificate(spec, ca_key_.public_key(), nullptr, ca_key_);
    if (!cert) return;
    ca_cert_ = *cert;
    dir_ = fs::temp_directory_path() / ("attestlab-device-acme-" + random_token(8));
    fs::create_directories(dir_);
    trust_file_ = (dir_ / "tls.pem").string();
    if (!pki::write_file(trust_file_, ca_cert_.to_pem()).ok()) return;
    http::ServerOptions options;
    options.tls_cert_pem = ca_cert_.to_pem();
    options.tls_key_pem = ca_key_.to_pem();
    auto server =
        http::Server::start(options, [this](const http::Request& r) { return handle(r); });
    if (server) server_ = std::move(*server);
  }
  ~RecordingAcmeServer() {
    if (server_) server_->stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  bool up() const { return server_ != nullptr; }
  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  std::string directory() const { return url("/dir"); }
  const std::string& trust_file() const { return trust_file_; }

  void offer_challenge_types(std::vector<std::string> types) {
    std::lock_guard lock(mu_);
    challenge_types_ = std::move(types);
  }
  // The next n challenge answers get badNonce (as Pebble does at random).
  void refuse_challenge_nonces(int n) {
    std::lock_guard lock(mu_);
    bad_nonce_answers_ = n;
  }
  std::vector<SeenPost> posts() const {
    std::lock_guard lock(mu_);
    return posts_;
  }
  // POSTs whose path starts with prefix ("/chall/") or, without a trailing '/', equals it.
  std::vector<SeenPost> posts_to(const std::string& prefix) const {
    std::vector<SeenPost> out;
    const bool exact = prefix.back() != '/';
    for (auto& p : posts())
      if (exact ? p.path == prefix : p.path.rfind(prefix, 0) == 0) out.push_back(p);
    return out;
  }
  std::string token(int order) const {
    return "token-for-order-" + std::to_string(order) + "-abcdefghij";
  }

 private:
  static http::Response json(int status, const Json& body) {
    http::Response r;
    r.status = status;
    r.set("Content-Type", "application/json");
    r.body = body.dump();
    return r;
  }

  http::Response handle(const http::Request& req) {
    std::lock_guard lock(mu_);
    http::Response r = route(req);
    r.set("Replay-Nonce", "nonce-" + std::to_string(++nonces_));
    return r;
  }

  Json authz_json(int n) const {
    Json challenges = Json::array();
    for (const auto& type : challenge_types_) {
      challenges.push_back({{"type", type},
                            {"url", url("/chall/" + std::to_string(n) + "/" + type)},
                            {"status", answered_.count(n) ? "valid" : "pending"},
                            {"token", token(n)}});
    }
    return {{"status", answered_.count(n) ? "valid" : "pending"},
            {"identifier", identifiers_.at(n)},
            {"challenges", challenges}};
  }

  Json order_json(int n) const {
    std::string status = issued_.count(n) ? "valid" : answered_.count(n) ? "ready" : "pending";
    Json o = {{"status", status},
              {"identifiers", Json::array({identifiers_.at(n)})},
              {"authorizations", Json::array({url("/authz/" + std::to_string(n))})},
              {"finalize", url("/finalize/" + std::to_string(n))}};
    if (issued_.count(n)) o["certificate"] = url("/cert/" + std::to_string(n));
    return o;
  }

  static int number_after(const std::string& path, const std::string& prefix) {
    try {
      return std::stoi(path.substr(prefix.size()));
    } catch (...) {
      return 0;
    }
  }

  http::Response route(const http::Request& req) {
    const std::string& path = req.target;
    if (path == "/dir") {
      return json(200, {{"newNonce", url("/nonce")},
                        {"newAccount", url("/account")},
                        {"newOrder", url("/order")},
                        {"revokeCert", url("/revoke")},
                        {"keyChange", url("/key-change")}});
    }
    if (path == "/nonce") {
      http::Response r;
      r.status = req.method == "HEAD" ? 200 : 204;
      r.set("Cache-Control", "no-store");
      return r;
    }
    if (req.method != "POST") return json(405, Json::object());

    SeenPost seen{path, Json(), Json()};
    auto body = parse_json(req.body);
    if (body && body->is_object()) {
      if (auto* p = get_string(*body, "protected")) {
        auto raw = base64url_decode(*p);
        if (raw) {
          auto h = parse_json(attestlab::to_string(*raw));
          if (h) seen.header = *h;
        }
      }
      if (auto* p = get_string(*body, "payload"); p && !p->empty()) {
        auto raw = base64url_decode(*p);
        if (raw) {
          auto j = parse_json(attestlab::to_string(*raw));
          if (j) seen.payload = *j;
        }
      }
    }
    posts_.push_back(seen);

    if (path == "/account") {
      http::Response r = json(201, {{"status", "valid"}});
      r.set("Location", url("/acct/1"));
      return r;
    }
    if (path == "/order") {
      const int n = ++orders_;
      identifiers_[n] = seen.payload.is_object() && seen.payload.contains("identifiers")
                            ? seen.payload["identifiers"][0]
                            : Json::object();
      http::Response r = json(201, order_json(n));
      r.set("Location", url("/orders/" + std::to_string(n)));
      return r;
    }
    if (path.rfind("/authz/", 0) == 0) return json(200, authz_json(number_after(path, "/authz/")));
    if (path.rfind("/chall/", 0) == 0) {
      if (bad_nonce_answers_ > 0) {
        --bad_nonce_answers_;
        http::Response r =
            json(400, {{"type", "urn:ietf:params:acme:error:badNonce"}, {"detail", "try again"}});
        r.set("Content-Type", "application/problem+json");
        return r;
      }
      const int n = number_after(path, "/chall/");
      answered_.insert(n);
      return json(200, {{"type", "device-attest-01"},
                        {"url", url(path)},
                        {"status", "valid"},
                        {"token", token(n)}});
    }
    if (path.rfind("/orders/", 0) == 0)
      return json(200, order_json(number_after(path, "/orders/")));
    if (path.rfind("/finalize/", 0) == 0) {
      const int n = number_after(path, "/finalize/");
      auto der = base64url_decode(seen.payload.value("csr", ""));
      auto csr = der ? pki::Csr::from_der(*der) : Result<pki::Csr>(Error{});
      if (!csr)
        return json(400, {{"type", "urn:ietf:params:acme:error:badCSR"}, {"detail", "bad"}});
      pki::CertificateSpec spec;
      spec.subject = {{"CN", "device"}};
      spec.not_before = SystemClock().now() - 60;
      spec.not_after = SystemClock().now() + 86400;
      auto cert = pki::issue_certificate(spec, csr->public_key(), &ca_cert_, ca_key_);
      if (!cert) return json(500, Json::object());
      certificates_[n] = cert->to_pem() + ca_cert_.to_pem();
      issued_.insert(n);
      return json(200, order_json(n));
    }
    if (path.rfind("/cert/", 0) == 0) {
      http::Response r;
      r.set("Content-Type", "application/pem-certificate-chain");
      r.body = certificates_[number_after(path, "/cert/")];
      return r;
    }
    return json(404, Json::object());
  }

  mutable std::mutex mu_;
  std::unique_ptr<http::Server> server_;
  pki::PrivateKey ca_key_;
  pki::Certificate ca_cert_;
  fs::path dir_;
  std::string trust_file_;
  std::vector<std::string> challenge_types_ = {"device-attest-01"};
  std::vector<SeenPost> posts_;
  std::map<int, Json> identifiers_;
  std::set<int> answered_, issued_;
  std::map<int, std::string> certificates_;
  int orders_ = 0;
  int bad_nonce_answers_ = 0;
  int nonces_ = 0;
};

class DeviceAcmeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.up());
    clock_ = std::make_shared<VirtualClock>();
    auto ca = AppleCa::create(clock_->now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<AppleCa>(std::move(*ca));
    servers_ = std::make_shared<AppleAttestationServers>(ca_, clock_);
  }

  static Device make_device(DeviceKind kind = DeviceKind::IPhone) {
    FleetGenerator fleet(42);
    return fleet.device(kind);
  }

  AcmePayload payload_for(const Device& d, std::int64_t key_size = 384) const {
    return AcmePayload::for_attestation(server_.directory(), d.identity().serial, key_size);
  }

  EnrollOptions options(ClientFaults faults = {}) const {
    EnrollOptions o;
    o.trust_ca_pem_file = server_.trust_file();
    o.faults = faults;
    o.wire_log = &log_;
    o.clock = clock_;
    o.apple_ca = ca_;
    o.client.poll_interval = std::chrono::milliseconds(10);
    return o;
  }

  EnrollmentResult run(Device& d, const AcmePayload& p, const EnrollOptions& o) {
    auto it = services_.find(&d);
    if (it == services_.end())
      it = services_.emplace(&d, std::make_unique<AttestationService>(servers_)).first;
    return enroll(d, *it->second, keychains_[&d], p, o);
  }

  EnrollmentResult run_with(ClientFaults faults) {
    device_ = std::make_unique<Device>(make_device());
    return run(*device_, payload_for(*device_), options(faults));
  }

  // The attestation object and its leaf, from the challenge answer on the wire.
  SeenPost challenge_post() const {
    auto posts = server_.posts_to("/chall/");
    EXPECT_EQ(posts.size(), 1u);
    return posts.empty() ? SeenPost{} : posts.back();
  }
  pki::Certificate sent_leaf() const {
    auto object = parse_attestation_object_b64u(challenge_post().payload.value("attObj", ""));
    EXPECT_TRUE(object.ok());
    if (!object.ok() || object->x5c.empty()) return {};
    auto leaf = pki::Certificate::from_der(object->x5c.front());
    EXPECT_TRUE(leaf.ok());
    return leaf.ok() ? *leaf : pki::Certificate{};
  }
  pki::Csr sent_csr() const {
    auto posts = server_.posts_to("/finalize/");
    EXPECT_FALSE(posts.empty());
    if (posts.empty()) return {};
    auto der = base64url_decode(posts.back().payload.value("csr", ""));
    EXPECT_TRUE(der.ok());
    auto csr = der ? pki::Csr::from_der(*der) : Result<pki::Csr>(Error{});
    EXPECT_TRUE(csr.ok());
    return csr.ok() ? std::move(*csr) : pki::Csr{};
  }
  Bytes leaf_freshness(const pki::Certificate& leaf) const {
    return leaf.extension_value(kOidFreshnessCode).value_or(Bytes{});
  }
  bool chains_to_mock_root(const pki::Certificate& leaf) const {
    auto object = parse_attestation_object_b64u(challenge_post().payload.value("attObj", ""));
    if (!object || object->x5c.size() < 2) return false;
    auto sub = pki::Certificate::from_der(object->x5c[1]);
    return sub && pki::verify_chain(leaf, {*sub}, {ca_->root()}, clock_->now()).ok();
  }

  RecordingAcmeServer server_;
  mutable client::WireLog log_;
  std::shared_ptr<VirtualClock> clock_;
  std::shared_ptr<AppleCa> ca_;
  std::shared_ptr<AppleAttestationServers> servers_;
  std::map<const Device*, std::unique_ptr<AttestationService>> services_;
  std::map<const Device*, DeviceKeychain> keychains_;
  std::unique_ptr<Device> device_;
};

// --- the honest device -------------------------------------------------------------------------

TEST_F(DeviceAcmeTest, HonestEnrollmentSendsWhatAnAppleDeviceSends) {
  Device d = make_device();
  AcmePayload p = payload_for(d);
  p.usage_flags = kAcmeUsageSign | kAcmeUsageEncrypt;
  std::vector<std::string> steps;
  EnrollOptions o = options();
  o.after_step = [&](const std::string& s) { steps.push_back(s); };
  auto r = run(d, p, o);
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(steps,
            (std::vector<std::string>{"account", "order", "authz", "key", "attest", "challenge",
                                      "csr", "finalize", "download", "install"}));

  // The account key is its own software key, never the certificate key.
  auto account_posts = server_.posts_to("/account");
  ASSERT_EQ(account_posts.size(), 1u);
  EXPECT_TRUE(account_posts[0].header.contains("jwk"));
  auto account_jwk_key = r.account_key->jwk();
  EXPECT_EQ(account_jwk_key["crv"], "P-256");

  // newOrder: one permanent-identifier, the ClientIdentifier.
  auto order_posts = server_.posts_to("/order");
  ASSERT_EQ(order_posts.size(), 1u);
  EXPECT_EQ(order_posts[0].payload["identifiers"],
            Json::array({{{"type", "permanent-identifier"}, {"value", d.identity().serial}}}));

  // The key is a P-384 Secure Enclave key; the leaf attests it and the token.
  EXPECT_TRUE(r.hardware_bound);
  EXPECT_TRUE(d.secure_enclave().has_key(r.key));
  ASSERT_TRUE(r.public_key.has_value());
  EXPECT_EQ(r.public_key->spec(), pki::KeySpec::p384());
  const SeenPost challenge = challenge_post();
  EXPECT_EQ(challenge.header["url"], r.challenge_url);
  ASSERT_TRUE(challenge.payload.is_object());
  EXPECT_EQ(challenge.payload.size(), 1u);  // {"attObj": ...} and nothing else
  auto object = parse_attestation_object_b64u(challenge.payload["attObj"].get<std::string>());
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object->fmt, "apple");
  ASSERT_EQ(object->x5c.size(), 2u);
  const pki::Certificate leaf = sent_leaf();
  EXPECT_TRUE(leaf.public_key().equals(*r.public_key));
  EXPECT_EQ(leaf_freshness(leaf), freshness_code(r.token));
  EXPECT_TRUE(chains_to_mock_root(leaf));
  auto contents = decode_apple_extensions(leaf);
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(contents->facts.serial, d.identity().serial);

  // The CSR: the same key, signed in the enclave, the payload's subject and usages, and
  // the permanentIdentifier SAN.
  pki::Csr csr = sent_csr();
  EXPECT_TRUE(csr.verify_signature());
  EXPECT_TRUE(csr.public_key().equals(*r.public_key));
  EXPECT_EQ(csr.common_name(), d.identity().serial);
  EXPECT_EQ(csr.signature_algorithm(), "ecdsa-with-SHA384");
  auto sans = csr.subject_alt_names();
  ASSERT_TRUE(sans.ok());
  ASSERT_EQ(sans->permanent_ids.size(), 1u);
  EXPECT_EQ(sans->permanent_ids[0].value, d.identity().serial);
  EXPECT_FALSE(sans->permanent_ids[0].assigner.has_value());

  // Installed in the keychain under the PayloadUUID with the enclave key.
  ASSERT_TRUE(r.identity.has_value());
  const KeychainIdentity* stored = keychains_[&d].find(*p.payload_uuid);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->key, r.key);
  EXPECT_TRUE(stored->hardware_bound);
  EXPECT_FALSE(stored->extractable);
  EXPECT_TRUE(stored->certificate.public_key().equals(*r.public_key));
  EXPECT_EQ(stored->account_url, r.account_url);
  EXPECT_FALSE(r.replaced.has_value());
  EXPECT_TRUE(r.faults.empty());
  // The wire log names the device.
  ASSERT_GT(log_.size(), 0u);
  EXPECT_EQ(log_.exchanges().front().label, std::string("iPhone ") + d.identity().serial);
}

TEST_F(DeviceAcmeTest, CsrCarriesSubjectAltNamesUsagesAndExtendedKeyUsages) {
  AcmePayload p = payload_for(make_device());
  p.subject =
      std::vector<SubjectRdn>{{{"C", "US"}}, {{"O", "Example"}, {"OU", "IT"}}, {{"CN", "x"}}};
  p.subject_alt_name = AcmeSubjectAltName{
      {"a@example.com"}, {"dev.example.com"}, {"https://example.com/d"}, {"upn@EXAMPLE"}};
  p.usage_flags = kAcmeUsageEncrypt;
  p.extended_key_usage = std::vector<std::string>{"1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.4"};
  pki::CsrSpec spec = device_csr_spec(p, "SERIAL1");
  EXPECT_EQ(spec.subject,
            (pki::DistinguishedName{{"C", "US"}, {"O", "Example"}, {"OU", "IT"}, {"CN", "x"}}));
  EXPECT_EQ(spec.sans.email, std::vector<std::string>{"a@example.com"});
  EXPECT_EQ(spec.sans.dns, std::vector<std::string>{"dev.example.com"});
  EXPECT_EQ(spec.sans.uri, std::vector<std::string>{"https://example.com/d"});
  EXPECT_EQ(spec.sans.upn, std::vector<std::string>{"upn@EXAMPLE"});
  ASSERT_EQ(spec.sans.permanent_ids.size(), 1u);
  EXPECT_EQ(spec.sans.permanent_ids[0].value, "SERIAL1");
  EXPECT_FALSE(spec.key_usage_digital_signature);
  EXPECT_TRUE(spec.key_usage_key_encipherment);
  EXPECT_EQ(spec.extended_key_usages.size(), 2u);

  // And the CSR a device builds from it carries them.
  Device d = make_device();
  p.directory_url = server_.directory();
  p.client_identifier = d.identity().serial;
  auto r = run(d, p, options());
  ASSERT_TRUE(r.ok()) << r.summary();
  auto sans = sent_csr().subject_alt_names();
  ASSERT_TRUE(sans.ok());
  EXPECT_EQ(sans->dns, std::vector<std::string>{"dev.example.com"});
  EXPECT_EQ(sans->email, std::vector<std::string>{"a@example.com"});
  EXPECT_EQ(sans->upn, std::vector<std::string>{"upn@EXAMPLE"});
  EXPECT_EQ(sans->permanent_ids.size(), 1u);
}

TEST_F(DeviceAcmeTest, KeySize256MakesAP256EnclaveKey) {
  Device d = make_device(DeviceKind::Watch);
  auto r = run(d, payload_for(d, 256), options());
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(r.public_key->spec(), pki::KeySpec::p256());
  EXPECT_TRUE(sent_leaf().public_key().equals(*r.public_key));
}

TEST_F(DeviceAcmeTest, ARefusedPayloadMakesNoNetworkRequest) {
  Device d = make_device();
  AcmePayload p = payload_for(d);
  p.key_type = kAcmeKeyTypeRsa;
  p.key_size = 2048;  // RSA with HardwareBound and Attest
  auto r = run(d, p, options());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failed_step, "payload");
  EXPECT_EQ(r.error->type, kErrorPayloadRefused);
  EXPECT_NE(r.error->detail.find("hardware_bound_requires_ec"), std::string::npos)
      << r.error->detail;
  EXPECT_NE(r.error->detail.find("more"), std::string::npos);
  EXPECT_EQ(log_.size(), 0u);
  EXPECT_TRUE(server_.posts().empty());
  EXPECT_EQ(d.secure_enclave().key_count(), 0u);

  AcmePayload http = payload_for(d);
  http.directory_url = "http://127.0.0.1:1/dir";
  auto r2 = run(d, http, options());
  EXPECT_EQ(r2.failed_step, "payload");
  EXPECT_NE(r2.error->detail.find("directory_url_not_https"), std::string::npos);
  EXPECT_EQ(log_.size(), 0u);
}

TEST_F(DeviceAcmeTest, DevicesThatCannotAttestStopAtTheChallenge) {
  for (DeviceKind kind : {DeviceKind::LegacyIPhone, DeviceKind::IntelMac}) {
    Device d = make_device(kind);
    const std::size_t posts_before = server_.posts().size();
    auto r = run(d, payload_for(d, 256), options());
    EXPECT_FALSE(r.ok()) << to_string(kind);
    EXPECT_EQ(r.failed_step, "attest") << to_string(kind);
    EXPECT_EQ(r.error->type, kErrorDeviceCannotAttest);
    EXPECT_EQ(r.error->detail.rfind("device cannot attest", 0), 0u) << r.error->detail;
    EXPECT_EQ(r.challenge_status, "pending");  // never answered
    EXPECT_FALSE(r.order_url.empty());         // it did talk to the server
    EXPECT_GT(server_.posts().size(), posts_before);
    EXPECT_TRUE(server_.posts_to("/chall/").empty());
  }
  // An attestation-capable kind on an OS before MDA cannot either.
  Device old = make_device(DeviceKind::IPhone);
  old.update_software("15.7", "19H12", "19.6.0", "7459.140.15");
  auto r = run(old, payload_for(old), options());
  EXPECT_EQ(r.failed_step, "attest");
  EXPECT_EQ(r.error->type, kErrorDeviceCannotAttest);
}

TEST_F(DeviceAcmeTest, WithoutAttestTheDeviceAnswersWithoutAnAttestation) {
  // An Intel Mac with a software RSA key: no enclave needed, no attestation obtained.
  Device mac = make_device(DeviceKind::IntelMac);
  AcmePayload p = payload_for(mac);
  p.key_type = kAcmeKeyTypeRsa;
  p.key_size = 2048;
  p.hardware_bound = false;
  p.attest = false;
  auto r = run(mac, p, options());
  ASSERT_TRUE(r.ok()) << r.summary();  // the recording server accepts anything
  EXPECT_FALSE(r.hardware_bound);
  EXPECT_EQ(r.public_key->spec(), pki::KeySpec::rsa(2048));
  EXPECT_EQ(challenge_post().payload["attObj"], attestation_object_without_attestation_b64u());
  auto cbor = base64url_decode(attestation_object_without_attestation_b64u());
  ASSERT_TRUE(cbor.ok());
  auto decoded = parse_cbor(*cbor);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, (Json{{"fmt", "apple"}, {"attStmt", Json::object()}}));
  EXPECT_EQ(servers_->issued_count(), 0u);
  // The identity's key is extractable (KeyIsExtractable false in the MDA payload, so not).
  EXPECT_FALSE(r.identity->extractable);

  // HardwareBound on a Mac without an enclave: the key step fails.
  AcmePayload hw = payload_for(mac);
  hw.attest = false;
  auto r2 = run(mac, hw, options());
  EXPECT_EQ(r2.failed_step, "key");
  EXPECT_EQ(r2.error->type, kErrorKeyUnavailable);
}

TEST_F(DeviceAcmeTest, NoDeviceAttestChallengeIsReported) {
  server_.offer_challenge_types({"http-01", "dns-01"});
  Device d = make_device();
  auto r = run(d, payload_for(d), options());
  EXPECT_EQ(r.failed_step, "authz");
  EXPECT_EQ(r.error->type, kErrorNoDeviceAttestChallenge);
  EXPECT_NE(r.error->detail.find("http-01, dns-01"), std::string::npos);
}

TEST_F(DeviceAcmeTest, AppleOutageFailsTheAttestStep) {
  Device d = make_device();
  servers_->set_outage(AppleAttestationServers::Outage::Connection);
  auto r = run(d, payload_for(d), options());
  EXPECT_EQ(r.failed_step, "attest");
  EXPECT_EQ(r.error->type, "connection");
  EXPECT_TRUE(server_.posts_to("/chall/").empty());
  servers_->set_outage(AppleAttestationServers::Outage::ServerError);
  auto r2 = run(d, payload_for(d), options());
  EXPECT_EQ(r2.error->type, "serverInternal");
  servers_->set_outage(AppleAttestationServers::Outage::None);
  EXPECT_TRUE(run(d, payload_for(d), options()).ok());
}

TEST_F(DeviceAcmeTest, RenewalReplacesTheIdentityAndEraseForgetsIt) {
  Device d = make_device();
  AcmePayload p = payload_for(d);
  auto first = run(d, p, options());
  ASSERT_TRUE(first.ok()) << first.summary();
  auto second = run(d, p, options());
  ASSERT_TRUE(second.ok()) << second.summary();
  EXPECT_NE(second.key, first.key);  // a new key by default
  ASSERT_TRUE(second.replaced.has_value());
  EXPECT_EQ(second.replaced->key, first.key);
  EXPECT_EQ(keychains_[&d].size(), 1u);

  EnrollOptions keep = options();
  keep.reuse_key = true;
  auto third = run(d, p, keep);
  ASSERT_TRUE(third.ok()) << third.summary();
  EXPECT_EQ(third.key, second.key);

  d.erase();
  EXPECT_FALSE(d.secure_enclave().has_key(third.key));
  auto after = run(d, p, keep);  // the old key is gone: a new one, nothing replaced
  ASSERT_TRUE(after.ok()) << after.summary();
  EXPECT_NE(after.key, third.key);
  EXPECT_FALSE(after.replaced.has_value());
  EXPECT_FALSE(after.notes.empty());
}

TEST_F(DeviceAcmeTest, ThrottledKeyAttestationComesFromTheCache) {
  Device d = make_device();
  AttestationService::Options throttle;
  throttle.throttle_key_attestations = true;
  services_[&d] = std::make_unique<AttestationService>(servers_, throttle);
  AcmePayload p = payload_for(d);
  ASSERT_TRUE(run(d, p, options()).ok());
  EnrollOptions keep = options();
  keep.reuse_key = true;
  auto again = run(d, p, keep);
  ASSERT_TRUE(again.ok());  // the recording server does not check freshness
  EXPECT_TRUE(again.attestation_from_cache);
  EXPECT_NE(
      leaf_freshness(
          pki::Certificate::from_der(parse_attestation_object_b64u(again.att_obj)->x5c[0]).value()),
      freshness_code(again.token));
  clock_->advance(kAttestationThrottleSeconds);
  auto later = run(d, p, keep);
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later.attestation_from_cache);
}

// --- every ClientFaults knob changes exactly what it says ------------------------------------

TEST_F(DeviceAcmeTest, StaleTokenAttestsAnEarlierToken) {
  auto r = run_with({.stale_token = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const pki::Certificate leaf = sent_leaf();
  EXPECT_TRUE(chains_to_mock_root(leaf));                // genuine Apple chain
  EXPECT_TRUE(leaf.public_key().equals(*r.public_key));  // for the right key
  EXPECT_EQ(leaf_freshness(leaf).size(), kFreshnessCodeSize);
  EXPECT_NE(leaf_freshness(leaf), freshness_code(r.token));  // but the wrong token
  EXPECT_EQ(r.faults, std::vector<std::string>{"stale_token"});
}

TEST_F(DeviceAcmeTest, ReusedAttestationReplaysThePreviousAttObjByteForByte) {
  Device d = make_device();
  AcmePayload p = payload_for(d);
  auto first = run(d, p, options());
  ASSERT_TRUE(first.ok()) << first.summary();
  auto second = run(d, p, options({.reused_attestation = true}));
  ASSERT_TRUE(second.ok()) << second.summary();
  EXPECT_EQ(second.att_obj, first.att_obj);
  EXPECT_EQ(second.key, first.key);  // same key
  EXPECT_NE(second.token, first.token);

  // Without an earlier enrollment it falls back to an attestation of an earlier token.
  auto alone = run_with({.reused_attestation = true});
  ASSERT_TRUE(alone.ok());
  EXPECT_FALSE(alone.notes.empty());
  auto leaf = pki::Certificate::from_der(parse_attestation_object_b64u(alone.att_obj)->x5c[0]);
  ASSERT_TRUE(leaf.ok());
  EXPECT_NE(leaf_freshness(*leaf), freshness_code(alone.token));
}

TEST_F(DeviceAcmeTest, CsrKeySwappedSignsTheCsrWithAnotherKey) {
  auto r = run_with({.csr_key_swapped = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_TRUE(sent_leaf().public_key().equals(*r.public_key));  // the attestation is honest
  pki::Csr csr = sent_csr();
  EXPECT_TRUE(csr.verify_signature());
  EXPECT_FALSE(csr.public_key().equals(*r.public_key));
  EXPECT_EQ(csr.public_key().spec(), pki::KeySpec::p256());
}

TEST_F(DeviceAcmeTest, RogueRootChainCopiesNamesButNotTheKey) {
  auto r = run_with({.rogue_root_chain = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const pki::Certificate leaf = sent_leaf();
  EXPECT_FALSE(chains_to_mock_root(leaf));
  EXPECT_EQ(leaf.issuer(), ca_->intermediate().subject());
  EXPECT_EQ(leaf_freshness(leaf), freshness_code(r.token));
  EXPECT_TRUE(leaf.public_key().equals(*r.public_key));
  EXPECT_EQ(servers_->issued_count(), 0u);  // Apple was never asked
}

TEST_F(DeviceAcmeTest, OmitFreshnessDropsOnlyTheFreshnessExtension) {
  auto r = run_with({.omit_freshness = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const pki::Certificate leaf = sent_leaf();
  EXPECT_FALSE(leaf.extension_value(kOidFreshnessCode).has_value());
  EXPECT_TRUE(leaf.extension_value(kOidSerialNumber).has_value());
  EXPECT_TRUE(chains_to_mock_root(leaf));
}

TEST_F(DeviceAcmeTest, OtherDeviceIdentifierOrdersAnotherSerial) {
  auto r = run_with({.other_device_identifier = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const std::string own = device_->identity().serial;
  EXPECT_NE(r.identifier, own);
  EXPECT_EQ(r.identifier.size(), own.size());
  auto order_posts = server_.posts_to("/order");
  ASSERT_EQ(order_posts.size(), 1u);
  EXPECT_EQ(order_posts[0].payload["identifiers"][0]["value"], r.identifier);
  auto contents = decode_apple_extensions(sent_leaf());
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(contents->facts.serial, own);             // it attests as itself
  EXPECT_EQ(sent_csr().common_name(), r.identifier);  // and asks for the other one throughout

  device_ = std::make_unique<Device>(make_device());
  EnrollOptions o = options({.other_device_identifier = true});
  o.other_device_identifier = "C02XL0GVJGH5";
  auto chosen = run(*device_, payload_for(*device_), o);
  EXPECT_EQ(chosen.identifier, "C02XL0GVJGH5");
}

TEST_F(DeviceAcmeTest, RsaCsrFinalizesWithAnRsa2048Csr) {
  auto r = run_with({.rsa_csr = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(sent_csr().public_key().spec(), pki::KeySpec::rsa(2048));
  EXPECT_EQ(r.public_key->spec(), pki::KeySpec::p384());  // the attested key is EC
}

TEST_F(DeviceAcmeTest, MalformedCborIsTruncated) {
  auto r = run_with({.malformed_cbor = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  auto parsed = parse_attestation_object_b64u(challenge_post().payload.value("attObj", ""));
  EXPECT_FALSE(parsed.ok());
  auto raw = base64url_decode(r.att_obj);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(parse_cbor(*raw).ok());
}

TEST_F(DeviceAcmeTest, WrongFmtSaysAndroidKey) {
  auto r = run_with({.wrong_fmt = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  auto parsed = parse_attestation_object_b64u(r.att_obj);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->fmt, "android-key");
  EXPECT_EQ(parsed->x5c.size(), 2u);
}

TEST_F(DeviceAcmeTest, EmptyX5cSendsAnEmptyArray) {
  auto r = run_with({.empty_x5c = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  auto raw = base64url_decode(r.att_obj);
  ASSERT_TRUE(raw.ok());
  auto cbor = parse_cbor(*raw);
  ASSERT_TRUE(cbor.ok());
  EXPECT_EQ((*cbor)["fmt"], "apple");
  EXPECT_TRUE((*cbor)["attStmt"]["x5c"].is_array());
  EXPECT_TRUE((*cbor)["attStmt"]["x5c"].empty());
}

TEST_F(DeviceAcmeTest, PayloadErrorFieldAddsAnErrorMember) {
  auto r = run_with({.payload_error_field = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const Json payload = challenge_post().payload;
  EXPECT_TRUE(payload["error"].is_string());
  EXPECT_TRUE(payload["attObj"].is_string());
  EXPECT_EQ(payload.size(), 2u);
}

TEST_F(DeviceAcmeTest, UnknownPayloadFieldsAddMembersBesideAttObj) {
  auto r = run_with({.unknown_payload_fields = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const Json payload = challenge_post().payload;
  EXPECT_GT(payload.size(), 1u);
  EXPECT_FALSE(payload.contains("error"));
  EXPECT_TRUE(parse_attestation_object_b64u(payload["attObj"].get<std::string>()).ok());
}

TEST_F(DeviceAcmeTest, ExpiredAttestationLeafHasEnded) {
  auto r = run_with({.expired_attestation = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const pki::Certificate leaf = sent_leaf();
  EXPECT_LT(leaf.not_after(), clock_->now());
  EXPECT_EQ(leaf_freshness(leaf), freshness_code(r.token));
  auto object = parse_attestation_object_b64u(r.att_obj);
  ASSERT_TRUE(object.ok());
  auto sub = pki::Certificate::from_der(object->x5c[1]);
  ASSERT_TRUE(sub.ok());
  // Genuinely signed; valid a few days ago.
  EXPECT_TRUE(pki::verify_chain(leaf, {*sub}, {ca_->root()}, clock_->now() - 3 * 24 * 3600).ok());
}

TEST_F(DeviceAcmeTest, WrongKeyAttestedAttestsAnotherEnclaveKey) {
  auto r = run_with({.wrong_key_attested = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const pki::Certificate leaf = sent_leaf();
  EXPECT_FALSE(leaf.public_key().equals(*r.public_key));
  EXPECT_TRUE(sent_csr().public_key().equals(*r.public_key));
  EXPECT_TRUE(chains_to_mock_root(leaf));
  EXPECT_EQ(leaf_freshness(leaf), freshness_code(r.token));
}

TEST_F(DeviceAcmeTest, PermanentIdSanMismatchNamesAnotherIdentifier) {
  auto r = run_with({.permanent_id_san_mismatch = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  auto sans = sent_csr().subject_alt_names();
  ASSERT_TRUE(sans.ok());
  ASSERT_EQ(sans->permanent_ids.size(), 1u);
  EXPECT_NE(sans->permanent_ids[0].value, r.identifier);
  EXPECT_EQ(r.identifier, device_->identity().serial);
}

TEST_F(DeviceAcmeTest, PrivacyPreservingCsrOmitsThePermanentIdentifier) {
  auto r = run_with({.privacy_preserving_csr = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  auto sans = sent_csr().subject_alt_names();
  ASSERT_TRUE(sans.ok());
  EXPECT_TRUE(sans->permanent_ids.empty());
}

TEST_F(DeviceAcmeTest, ReplayNonceReusesThePreviousRequestsNonce) {
  auto r = run_with({.replay_nonce = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  auto posts = server_.posts();
  auto it = std::find_if(posts.begin(), posts.end(),
                         [](const SeenPost& p) { return p.path.rfind("/chall/", 0) == 0; });
  ASSERT_NE(it, posts.end());
  ASSERT_NE(it, posts.begin());
  EXPECT_EQ(it->header["nonce"], std::prev(it)->header["nonce"]);
  // Only that request: the nonces of every other pair of requests differ.
  std::set<std::string> nonces;
  for (const auto& p : posts) nonces.insert(p.header.value("nonce", ""));
  EXPECT_EQ(nonces.size(), posts.size() - 1);
}

TEST_F(DeviceAcmeTest, WrongJwsUrlSignsTheChallengeAnswerForTheAuthorization) {
  auto r = run_with({.wrong_jws_url = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  const SeenPost challenge = challenge_post();
  EXPECT_EQ(challenge.header["url"], r.authz_url);
  EXPECT_NE(challenge.header["url"], r.challenge_url);
  EXPECT_TRUE(challenge.payload.contains("attObj"));
}

TEST_F(DeviceAcmeTest, WrongJwsUrlStillRetriesBadNonceButTheReplayDoesNot) {
  server_.refuse_challenge_nonces(1);
  auto r = run_with({.wrong_jws_url = true});
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(server_.posts_to("/chall/").size(), 2u);

  server_.refuse_challenge_nonces(1);
  auto replay = run_with({.replay_nonce = true});
  EXPECT_EQ(replay.failed_step, "challenge");
  ASSERT_TRUE(replay.error.has_value());
  EXPECT_EQ(replay.error->type, "badNonce");
  EXPECT_EQ(replay.error->status, 400);
  ASSERT_TRUE(replay.problem.has_value());
  EXPECT_EQ(replay.challenge_status, "pending");
  EXPECT_EQ(server_.posts_to("/chall/").size(), 3u);  // one more, not retried
}

TEST_F(DeviceAcmeTest, EveryKnobIsCoveredByAWireTest) {
  // If a knob is added to ClientFaults, this list (and a test above) must grow.
  EXPECT_EQ(client_fault_names(),
            (std::vector<std::string>{
                "stale_token", "reused_attestation", "csr_key_swapped", "rogue_root_chain",
                "omit_freshness", "other_device_identifier", "rsa_csr", "malformed_cbor",
                "wrong_fmt", "empty_x5c", "payload_error_field", "unknown_payload_fields",
                "expired_attestation", "wrong_key_attested", "permanent_id_san_mismatch",
                "privacy_preserving_csr", "replay_nonce", "wrong_jws_url"}));
}

TEST_F(DeviceAcmeTest, LeafForgeriesNeedTheAppleCa) {
  device_ = std::make_unique<Device>(make_device());
  EnrollOptions o = options({.omit_freshness = true});
  o.apple_ca.reset();
  auto r = run(*device_, payload_for(*device_), o);
  EXPECT_EQ(r.failed_step, "attest");
  EXPECT_EQ(r.error->type, client::kErrorClientUsage);
}

}  // namespace
}  // namespace attestlab::sim

// Simulated Apple devices (sim/device/device_acme.h) enroll against the real attestlab ACME
// server (server/acme/acme_server.h), in one process, meeting only on the wire (HTTPS): every
// device kind, every ClientFaults knob, restore/re-enrollment, inventory, posture, User
// Enrollment, Apple's 7-day attestation throttle in virtual time, a server restart in the
// middle of an enrollment, and the externally produced Apple vector at the verifier.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "client/acme_client.h"
#include "core/ari_cert_id.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/pki.h"
#include "server/acme/acme_server.h"
#include "server/attest/apple_attestation.h"
#include "server/config.h"
#include "sim/device/acme_payload.h"
#include "sim/device/apple_ca.h"
#include "sim/device/apple_format.h"
#include "sim/device/attestation.h"
#include "sim/device/attestation_service.h"
#include "sim/device/client_faults.h"
#include "sim/device/device.h"
#include "sim/device/device_acme.h"
#include "sim/device/device_keychain.h"

namespace attestlab {
namespace {

namespace fs = std::filesystem;
using sim::AcmePayload;
using sim::Device;
using sim::DeviceKind;
using sim::EnrollmentResult;

// A device with the state a real one carries between enrollments.
struct SimDevice {
  SimDevice(Device d, std::shared_ptr<sim::AppleAttestationServers> servers,
            sim::AttestationService::Options options = {})
      : device(std::move(d)), attestation(std::move(servers), options) {}
  Device device;
  sim::AttestationService attestation;
  sim::DeviceKeychain keychain;
};

std::string read_text(const std::string& path) {
  auto text = pki::read_file(path);
  return text.ok() ? *text : std::string();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

class DeviceAttestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("attestlab-device-attest-" + random_token(8));
    fs::create_directories(dir_);
    clock_ = std::make_shared<VirtualClock>();
    auto ca = sim::AppleCa::create(clock_->now());
    ASSERT_TRUE(ca.ok()) << ca.error().detail;
    apple_ca_ = std::make_shared<sim::AppleCa>(std::move(*ca));
    apple_ = std::make_shared<sim::AppleAttestationServers>(apple_ca_, clock_);

    const std::string roots = (dir_ / "mock-apple-root.pem").string();
    ASSERT_TRUE(pki::write_file(roots, apple_ca_->root().to_pem()).ok());
    config_.listen_host = "127.0.0.1";
    config_.listen_port = 0;
    config_.data_dir = (dir_ / "data").string();
    config_.attestation_roots_file = roots;
    config_.io_threads = 2;
    config_.validation_threads = 2;
    config_.retry_after_seconds = 0;  // the client still waits 50 ms between polls
  }

  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start_server() {
    auto started = server::AcmeServer::start(config_, clock_);
    ASSERT_TRUE(started.ok()) << started.error().detail;
    server_ = std::move(*started);
  }

  std::string write_file(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    EXPECT_TRUE(pki::write_file(path, text).ok());
    return path;
  }

  std::unique_ptr<SimDevice> device(DeviceKind kind, std::uint64_t seed = 7,
                                    sim::AttestationService::Options options = {}) {
    sim::FleetGenerator fleet(seed);
    return std::make_unique<SimDevice>(fleet.device(kind), apple_, options);
  }

  AcmePayload payload_for(const SimDevice& d) const {
    return AcmePayload::for_attestation(server_->directory_url(), d.device.identity().serial);
  }

  sim::EnrollOptions options(sim::ClientFaults faults = {}) {
    sim::EnrollOptions o;
    o.trust_ca_pem_file = config_.data_dir + "/tls/cert.pem";
    o.faults = faults;
    o.clock = clock_;
    o.apple_ca = apple_ca_;
    o.wire_log = &log_;
    return o;
  }

  EnrollmentResult enroll(SimDevice& d, const AcmePayload& p, const sim::EnrollOptions& o) {
    return sim::enroll(d.device, d.attestation, d.keychain, p, o);
  }
  EnrollmentResult enroll(SimDevice& d, sim::ClientFaults faults = {}) {
    return enroll(d, payload_for(d), options(faults));
  }

  // The last decision the server's device-attest validator logged.
  Json last_decision() const {
    std::ifstream in(config_.data_dir + "/decisions.jsonl");
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    auto parsed = parse_json(last);
    return parsed.ok() ? *parsed : Json();
  }

  // One active certificate per device: `superseded` was revoked when `current` was issued
  // (revoking it again, with the account that ordered it, says so), and `current` is live
  // (revoking it works once).
  void expect_superseded(const EnrollmentResult& superseded, const EnrollmentResult& current) {
    client::AcmeClientOptions client_options;
    client_options.trust_ca_pem_file = config_.data_dir + "/tls/cert.pem";
    client::AcmeClient old_owner(server_->directory_url(), client_options);
    old_owner.use_account(superseded.account_key, superseded.account_url);
    auto revoked = old_owner.revoke(superseded.certificate->to_der());
    ASSERT_FALSE(revoked.ok());
    EXPECT_EQ(revoked.error().type, "alreadyRevoked") << revoked.error().detail;
    client::AcmeClient owner(server_->directory_url(), client_options);
    owner.use_account(current.account_key, current.account_url);
    EXPECT_TRUE(owner.revoke(current.certificate->to_der()).ok());
  }

  // The certificate was issued for the enclave key and names the device.
  void expect_device_certificate(const SimDevice& d, const EnrollmentResult& r,
                                 const std::string& identifier) {
    ASSERT_TRUE(r.ok()) << r.summary();
    ASSERT_TRUE(r.certificate.has_value());
    auto enclave_key = d.device.secure_enclave().public_key(r.key);
    ASSERT_TRUE(enclave_key.ok()) << enclave_key.error().detail;
    EXPECT_TRUE(r.hardware_bound);
    EXPECT_TRUE(r.certificate->public_key().equals(*enclave_key));
    auto sans = r.certificate->subject_alt_names();
    ASSERT_EQ(sans.permanent_ids.size(), 1u);
    EXPECT_EQ(sans.permanent_ids[0].value, identifier);
    EXPECT_FALSE(r.certificate->is_ca());
    // Chain: leaf first, signed by the next certificate the server sent.
    auto chain = pki::Certificate::bundle_from_pem(r.certificate_chain_pem);
    ASSERT_TRUE(chain.ok());
    ASSERT_GE(chain->size(), 2u);
    EXPECT_TRUE((*chain)[0].signed_by((*chain)[1].public_key()));
    // The keychain holds it under the payload's UUID.
    ASSERT_TRUE(r.identity.has_value());
    const sim::KeychainIdentity* stored = d.keychain.find(r.identity->payload_uuid);
    ASSERT_NE(stored, nullptr);
    EXPECT_EQ(stored->key, r.key);
  }

  fs::path dir_;
  std::shared_ptr<VirtualClock> clock_;
  std::shared_ptr<sim::AppleCa> apple_ca_;
  std::shared_ptr<sim::AppleAttestationServers> apple_;
  server::ServerConfig config_;
  std::unique_ptr<server::AcmeServer> server_;
  client::WireLog log_;
};

// --- every kind of device -----------------------------------------------------------------

TEST_F(DeviceAttestTest, EveryAttestingKindEnrolls) {
  start_server();
  for (DeviceKind kind : {DeviceKind::IPhone, DeviceKind::IPad, DeviceKind::Mac,
                          DeviceKind::AppleTv, DeviceKind::VisionPro, DeviceKind::Watch}) {
    SCOPED_TRACE(sim::to_string(kind));
    auto d = device(kind);
    auto r = enroll(*d);
    expect_device_certificate(*d, r, d->device.identity().serial);
    EXPECT_EQ(r.challenge_status, "valid");
    EXPECT_EQ(r.public_key->spec(), pki::KeySpec::p384());
  }
}

TEST_F(DeviceAttestTest, P256KeysAndUdidIdentifiersEnrollToo) {
  start_server();
  auto d = device(DeviceKind::IPad, 11);
  AcmePayload p =
      AcmePayload::for_attestation(server_->directory_url(), d->device.identity().udid, 256);
  auto r = enroll(*d, p, options());
  expect_device_certificate(*d, r, d->device.identity().udid);
  EXPECT_EQ(r.public_key->spec(), pki::KeySpec::p256());
}

TEST_F(DeviceAttestTest, DevicesThatCannotAttestCannotCompleteTheChallenge) {
  start_server();
  for (DeviceKind kind : {DeviceKind::LegacyIPhone, DeviceKind::IntelMac}) {
    SCOPED_TRACE(sim::to_string(kind));
    auto d = device(kind);
    auto r = enroll(*d);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.failed_step, "attest");
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->type, sim::kErrorDeviceCannotAttest);
    EXPECT_EQ(r.error->detail.rfind("device cannot attest", 0), 0u) << r.error->detail;
    EXPECT_EQ(r.challenge_status, "pending");
  }
}

// --- every ClientFaults knob --------------------------------------------------------------------

struct FaultExpectation {
  std::string step;       // "" = the enrollment succeeds
  std::string type;       // ACME error short name
  std::string challenge;  // expected final challenge status
};

const std::map<std::string, FaultExpectation>& fault_expectations() {
  static const std::map<std::string, FaultExpectation> expected = {
      {"stale_token", {"challenge", "badAttestationStatement", "invalid"}},
      {"reused_attestation", {"challenge", "badAttestationStatement", "invalid"}},
      {"csr_key_swapped", {"finalize", "badCSR", "valid"}},
      {"rogue_root_chain", {"challenge", "badAttestationStatement", "invalid"}},
      {"omit_freshness", {"challenge", "badAttestationStatement", "invalid"}},
      {"other_device_identifier", {"challenge", "badAttestationStatement", "invalid"}},
      {"rsa_csr", {"finalize", "badCSR", "valid"}},
      {"malformed_cbor", {"challenge", "badAttestationStatement", "invalid"}},
      {"wrong_fmt", {"challenge", "badAttestationStatement", "invalid"}},
      {"empty_x5c", {"challenge", "badAttestationStatement", "invalid"}},
      {"payload_error_field", {"challenge", "badAttestationStatement", "invalid"}},
      {"unknown_payload_fields", {"", "", "valid"}},
      {"expired_attestation", {"challenge", "badAttestationStatement", "invalid"}},
      {"wrong_key_attested", {"finalize", "badCSR", "valid"}},
      {"permanent_id_san_mismatch", {"finalize", "badCSR", "valid"}},
      {"privacy_preserving_csr", {"", "", "valid"}},
      {"replay_nonce", {"challenge", "badNonce", "pending"}},
      {"wrong_jws_url", {"challenge", "unauthorized", "pending"}},
  };
  return expected;
}

TEST_F(DeviceAttestTest, EveryClientFaultGetsTheExpectedAnswer) {
  start_server();
  std::ostringstream table;
  table << "| knob | step | error type | HTTP status | challenge | server rule | detail |\n"
        << "|---|---|---|---|---|---|---|\n";
  std::uint64_t seed = 100;
  for (const std::string& knob : sim::client_fault_names()) {
    SCOPED_TRACE(knob);
    auto found = fault_expectations().find(knob);
    ASSERT_NE(found, fault_expectations().end()) << "no expectation for knob " << knob;
    const FaultExpectation& want = found->second;

    auto d = device(DeviceKind::IPhone, ++seed);
    AcmePayload p = payload_for(*d);
    if (knob == "reused_attestation") {
      // The attestation to replay: the device's previous, successful enrollment.
      auto first = enroll(*d, p, options());
      ASSERT_TRUE(first.ok()) << first.summary();
    }
    sim::ClientFaults faults;
    ASSERT_TRUE(sim::set_client_fault(faults, knob).ok());
    const Json decision_before = last_decision();
    auto r = enroll(*d, p, options(faults));
    const Json decision = last_decision();
    const std::string rule = decision != decision_before && decision.is_object()
                                 ? decision.value("rule", std::string())
                                 : std::string("-");

    EXPECT_EQ(r.faults, std::vector<std::string>{knob});
    EXPECT_EQ(r.failed_step, want.step) << r.summary();
    EXPECT_EQ(r.challenge_status, want.challenge) << r.summary();
    if (want.step.empty()) {
      // Even a privacy-preserving CSR gets the order's identifier in the certificate.
      expect_device_certificate(*d, r, d->device.identity().serial);
      table << "| " << knob << " | (issued) | - | - | " << r.challenge_status << " | " << rule
            << " | - |\n";
      continue;
    }
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->type, want.type) << r.summary();
    EXPECT_FALSE(r.error->detail.empty());
    ASSERT_TRUE(r.problem.has_value()) << "the server's problem document is kept";
    EXPECT_EQ(r.problem->value("type", ""), std::string(client::kAcmeErrorPrefix) + want.type);
    EXPECT_FALSE(r.certificate.has_value());
    EXPECT_EQ(d->keychain.size(), knob == "reused_attestation" ? 1u : 0u);
    if (want.challenge == "invalid") {
      ASSERT_TRUE(r.challenge_error.has_value());
      EXPECT_EQ(r.authz_status, "invalid");
    }
    table << "| " << knob << " | " << r.failed_step << " | " << r.error->type << " | "
          << r.error->status << " | " << r.challenge_status << " | " << rule << " | "
          << r.error->detail << " |\n";
  }
  std::cout << "\nClientFaults against attestlab's server:\n" << table.str() << std::endl;
  const std::string table_file =
      std::getenv("ATTESTLAB_FAULT_TABLE") ? std::getenv("ATTESTLAB_FAULT_TABLE") : "";
  if (!table_file.empty()) {
    std::ofstream out(table_file);
    out << table.str();
  }
}

// --- lifecycle ---------------------------------------------------------------------------------

TEST_F(DeviceAttestTest, RestoredDeviceReEnrollsWithANewKeyAndTheOldCertificateIsRevoked) {
  start_server();
  auto d = device(DeviceKind::IPhone, 21);
  AcmePayload p = payload_for(*d);
  auto before = enroll(*d, p, options());
  expect_device_certificate(*d, before, d->device.identity().serial);
  ASSERT_TRUE(d->device.secure_enclave().sign(before.key, to_bytes("usable")).ok());

  d->device.erase();  // restore: the enclave's keys are destroyed
  EXPECT_FALSE(d->device.secure_enclave().has_key(before.key));
  EXPECT_FALSE(d->device.secure_enclave().sign(before.key, to_bytes("usable")).ok());
  EXPECT_FALSE(d->device.secure_enclave().public_key(before.key).ok());

  auto after = enroll(*d, p, options());
  expect_device_certificate(*d, after, d->device.identity().serial);
  EXPECT_NE(after.key, before.key);
  EXPECT_FALSE(after.certificate->public_key().equals(before.certificate->public_key()));
  EXPECT_FALSE(after.replaced.has_value());  // the keychain was wiped with the device
  EXPECT_EQ(d->keychain.size(), 1u);

  // The server revoked the superseded certificate (one active certificate per device).
  expect_superseded(before, after);
}

// A device enrolled by UDID, then by serial: the attestation names both, so the second
// certificate supersedes the first though they were ordered under different identifiers.
TEST_F(DeviceAttestTest, ReEnrollingUnderTheOtherIdentifierRevokesTheFirstCertificate) {
  start_server();
  auto d = device(DeviceKind::IPad, 22);
  AcmePayload by_udid =
      AcmePayload::for_attestation(server_->directory_url(), d->device.identity().udid, 384);
  auto first = enroll(*d, by_udid, options());
  expect_device_certificate(*d, first, d->device.identity().udid);
  AcmePayload by_serial =
      AcmePayload::for_attestation(server_->directory_url(), d->device.identity().serial, 384);
  auto second = enroll(*d, by_serial, options());
  expect_device_certificate(*d, second, d->device.identity().serial);
  expect_superseded(first, second);
}

TEST_F(DeviceAttestTest, InventoryRefusesUnknownRetiredAndMismatchedDevices) {
  auto active = device(DeviceKind::IPhone, 31);
  auto retired = device(DeviceKind::Mac, 32);
  auto mismatched = device(DeviceKind::IPad, 33);
  auto unknown = device(DeviceKind::IPhone, 34);
  const Json inventory = Json::array({
      {{"serial", active->device.identity().serial},
       {"udid", active->device.identity().udid},
       {"status", "active"}},
      {{"serial", retired->device.identity().serial},
       {"udid", retired->device.identity().udid},
       {"status", "retired"}},
      {{"serial", mismatched->device.identity().serial},
       {"udid", "00008110-00DEADBEEF00001E"},
       {"status", "active"}},
  });
  config_.inventory_file = write_file("inventory.json", inventory.dump(2));
  start_server();

  expect_device_certificate(*active, enroll(*active), active->device.identity().serial);
  const std::map<std::string, SimDevice*> refused = {{"inventory_status", retired.get()},
                                                     {"inventory_pair", mismatched.get()},
                                                     {"inventory_unknown", unknown.get()}};
  for (const auto& [rule, d] : refused) {
    SCOPED_TRACE(rule);
    auto r = enroll(*d);
    EXPECT_EQ(r.failed_step, "challenge");
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->type, "rejectedIdentifier") << r.summary();
    EXPECT_EQ(r.challenge_status, "invalid");
    EXPECT_EQ(last_decision().value("rule", ""), rule);
  }
}

TEST_F(DeviceAttestTest, MacWithSipDisabledIsRefusedByPolicy) {
  start_server();
  auto mac = device(DeviceKind::Mac, 41);
  sim::Posture posture;
  posture.sip_enabled = false;
  mac->device.set_posture(posture);
  auto r = enroll(*mac);
  EXPECT_EQ(r.failed_step, "challenge");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->type, "badAttestationStatement") << r.summary();
  EXPECT_EQ(r.challenge_status, "invalid");
  EXPECT_EQ(last_decision().value("rule", ""), "require_sip");

  // The same Mac after SIP is turned back on enrolls.
  mac->device.set_posture(sim::Posture{});
  expect_device_certificate(*mac, enroll(*mac), mac->device.identity().serial);
}

TEST_F(DeviceAttestTest, UserEnrollmentIsRefusedByDefault) {
  start_server();
  auto d = device(DeviceKind::IPhone, 51);
  d->device.set_user_enrollment(true);
  AcmePayload p =
      AcmePayload::for_attestation(server_->directory_url(), d->device.identity().enrollment_id);
  auto r = enroll(*d, p, options());
  EXPECT_EQ(r.failed_step, "challenge");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->type, "badAttestationStatement") << r.summary();
  EXPECT_EQ(last_decision().value("rule", ""), "user_enrollment");
}

TEST_F(DeviceAttestTest, UserEnrollmentIsAllowedByPolicy) {
  config_.policy_file = write_file("policy.json", R"({"allow_user_enrollment": true})");
  start_server();
  auto d = device(DeviceKind::IPhone, 52);
  d->device.set_user_enrollment(true);
  AcmePayload p =
      AcmePayload::for_attestation(server_->directory_url(), d->device.identity().enrollment_id);
  auto r = enroll(*d, p, options());
  // Issue 13: the attestation proves the Secure Enclave key, not the EnrollmentID the order
  // claimed, so the certificate binds that key and names no device identity.
  ASSERT_TRUE(r.ok()) << r.summary();
  ASSERT_TRUE(r.certificate.has_value());
  auto enclave_key = d->device.secure_enclave().public_key(r.key);
  ASSERT_TRUE(enclave_key.ok()) << enclave_key.error().detail;
  EXPECT_TRUE(r.hardware_bound);
  EXPECT_TRUE(r.certificate->public_key().equals(*enclave_key));
  EXPECT_TRUE(r.certificate->subject_alt_names().permanent_ids.empty());
  EXPECT_EQ(r.certificate->subject().find(d->device.identity().enrollment_id), std::string::npos);
  EXPECT_NE(r.certificate->subject().find("attested-key"), std::string::npos);
  EXPECT_EQ(last_decision().value("outcome", ""), "accept");
}

TEST_F(DeviceAttestTest, SevenDayThrottleServesAStaleAttestationUntilTheWindowEnds) {
  start_server();
  sim::AttestationService::Options throttled;
  throttled.throttle_key_attestations = true;
  auto d = device(DeviceKind::IPhone, 61, throttled);
  AcmePayload p = payload_for(*d);
  sim::EnrollOptions renew = options();
  renew.reuse_key = true;

  auto first = enroll(*d, p, renew);
  expect_device_certificate(*d, first, d->device.identity().serial);
  EXPECT_FALSE(first.attestation_from_cache);

  clock_->advance(3 * 24 * 3600);  // inside the window: Apple answers from its cache
  auto second = enroll(*d, p, renew);
  EXPECT_TRUE(second.attestation_from_cache);
  EXPECT_EQ(second.key, first.key);
  EXPECT_EQ(second.failed_step, "challenge");
  ASSERT_TRUE(second.error.has_value());
  EXPECT_EQ(second.error->type, "badAttestationStatement") << second.summary();
  EXPECT_EQ(last_decision().value("rule", ""), "freshness");
  const std::uint64_t issued = apple_->issued_count();

  clock_->advance(4 * 24 * 3600);  // 7 days after the first attestation
  auto third = enroll(*d, p, renew);
  EXPECT_FALSE(third.attestation_from_cache);
  EXPECT_EQ(apple_->issued_count(), issued + 1);
  expect_device_certificate(*d, third, d->device.identity().serial);
  EXPECT_EQ(third.key, first.key);
}

// ACME Renewal Information (RFC 9773): a device renews inside the window the server
// suggests for its certificate, on the same account, naming the old certificate in
// "replaces"; the server reflects it, and refuses a second replacement (409).
TEST_F(DeviceAttestTest, DeviceRenewsThroughAriReplacingItsCertificate) {
  start_server();
  auto d = device(DeviceKind::IPhone, 71);
  AcmePayload p = payload_for(*d);
  sim::EnrollOptions ari = options();
  ari.follow_ari = true;
  auto first = enroll(*d, p, ari);  // nothing installed yet: an ordinary enrollment
  expect_device_certificate(*d, first, d->device.identity().serial);
  EXPECT_TRUE(first.replaces.empty());
  EXPECT_FALSE(first.renewal_info.has_value());
  const pki::Certificate old_cert = *first.certificate;
  const std::string old_id = *ari::cert_id(old_cert);

  client::AcmeClientOptions trust;
  trust.trust_ca_pem_file = config_.data_dir + "/tls/cert.pem";
  client::AcmeClient observer(server_->directory_url(), trust);
  auto window = observer.renewal_info(old_cert);
  ASSERT_TRUE(window.ok()) << window.error().detail;
  const std::int64_t lifetime = old_cert.not_after() - old_cert.not_before();
  EXPECT_GE(window->start, old_cert.not_before() + lifetime * 2 / 3);
  EXPECT_LE(window->end, old_cert.not_after());
  EXPECT_EQ(window->retry_after, 21600);

  clock_->advance(window->start - clock_->now() + 60);  // inside the suggested window
  auto renewed = enroll(*d, p, ari);
  expect_device_certificate(*d, renewed, d->device.identity().serial);
  EXPECT_EQ(renewed.replaces, old_id);
  EXPECT_EQ(renewed.account_url, first.account_url);
  ASSERT_TRUE(renewed.renewal_info.has_value());
  EXPECT_EQ(renewed.renewal_info->start, window->start);  // the old certificate's window
  EXPECT_EQ(renewed.renewal_info->end, window->end);
  ASSERT_TRUE(renewed.replaced.has_value());
  EXPECT_EQ(renewed.replaced->certificate.serial_hex(), old_cert.serial_hex());
  EXPECT_NE(renewed.certificate->serial_hex(), old_cert.serial_hex());

  // The order reflects "replaces" (RFC 9773 §5), and the old certificate cannot be
  // replaced a second time while that order is valid.
  client::AcmeClient account(server_->directory_url(), trust);
  account.use_account(first.account_key, first.account_url);
  auto order = account.get_order(renewed.order_url);
  ASSERT_TRUE(order.ok()) << order.error().detail;
  EXPECT_EQ(order->replaces, old_id);
  client::NewOrderRequest again;
  again.identifiers = {{"permanent-identifier", d->device.identity().serial}};
  again.replaces = old_id;
  auto refused = account.new_order(again);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().type, "alreadyReplaced");
  EXPECT_EQ(refused.error().status, 409);
}

// A renewal storm: a fleet enrolled together expires together; ARI spreads the renewals,
// each certificate getting its own window inside the last third of its validity.
TEST_F(DeviceAttestTest, RenewalStormWindowsAreSpreadAcrossTheFleet) {
  start_server();
  client::AcmeClientOptions trust;
  trust.trust_ca_pem_file = config_.data_dir + "/tls/cert.pem";
  client::AcmeClient observer(server_->directory_url(), trust);
  std::set<std::int64_t> starts;
  std::int64_t not_after = 0;
  constexpr int kFleet = 12;
  for (int i = 0; i < kFleet; ++i) {
    auto d = device(DeviceKind::IPhone, 100 + static_cast<std::uint64_t>(i));
    auto r = enroll(*d);
    ASSERT_TRUE(r.ok()) << r.summary();
    const pki::Certificate& cert = *r.certificate;
    if (not_after == 0) not_after = cert.not_after();
    EXPECT_NEAR(cert.not_after(), not_after, 60) << "the fleet expires together";
    auto window = observer.renewal_info(cert);
    ASSERT_TRUE(window.ok()) << window.error().detail;
    const std::int64_t lifetime = cert.not_after() - cert.not_before();
    EXPECT_LT(window->start, window->end);
    EXPECT_GE(window->start, cert.not_before() + lifetime * 2 / 3);
    EXPECT_LE(window->end, cert.not_after());
    starts.insert(window->start);
  }
  EXPECT_EQ(starts.size(), static_cast<std::size_t>(kFleet)) << "windows are not spread";
}

TEST_F(DeviceAttestTest, ServerRestartBetweenChallengeAndFinalize) {
  start_server();
  auto d = device(DeviceKind::Mac, 71);
  AcmePayload p = payload_for(*d);
  sim::EnrollOptions o = options();
  bool restarted = false;
  o.after_step = [&](const std::string& step) {
    if (step != "challenge") return;
    const std::uint16_t port = server_->port();
    server_->stop();
    server_.reset();
    config_.listen_port = port;  // the device keeps its URLs
    start_server();
    restarted = server_ != nullptr && server_->port() == port;
  };
  auto r = enroll(*d, p, o);
  EXPECT_TRUE(restarted);
  expect_device_certificate(*d, r, d->device.identity().serial);
}

// --- the external vector -------------------------------------------------------------------------

TEST(ExternalAppleVector, VerifierAndSimulatorReadTheSameFacts) {
  const std::string dir =
      std::string(ATTESTLAB_SOURCE_DIR) + "/fixtures/interop/apple-attestation/";
  auto expected = parse_json(read_text(dir + "expected.json"));
  ASSERT_TRUE(expected.ok());
  auto roots = pki::Certificate::bundle_from_pem(read_text(dir + "root.pem"));
  ASSERT_TRUE(roots.ok());
  const std::string token = trimmed(read_text(dir + "token.txt"));
  const std::string att_obj = trimmed(read_text(dir + "attobj.b64u"));
  std::int64_t verify_at = 0;
  ASSERT_TRUE(parse_rfc3339((*expected)["verify_at"].get<std::string>(), verify_at));

  // The server's verifier accepts it at verify_at and extracts the expected facts.
  std::string rule;
  auto facts = server::verify_apple_attestation(att_obj, *roots, token, verify_at, {}, &rule);
  ASSERT_TRUE(facts.ok()) << rule << ": " << facts.error().detail;
  EXPECT_EQ(facts->serial, (*expected)["serial"].get<std::string>());
  EXPECT_EQ(facts->udid, (*expected)["udid"].get<std::string>());
  EXPECT_EQ(facts->os_version, (*expected)["os_version"].get<std::string>());
  EXPECT_EQ(hex_encode(facts->freshness),
            (*expected)["freshness_sha256_of_token_hex"].get<std::string>());
  auto device_key = pki::PublicKey::from_pem(read_text(dir + "device-key.pub.pem"));
  ASSERT_TRUE(device_key.ok());
  EXPECT_TRUE(facts->key.equals(*device_key));

  // The simulator's reader sees the same object and the same facts.
  auto object = sim::parse_attestation_object_b64u(att_obj);
  ASSERT_TRUE(object.ok()) << object.error().detail;
  EXPECT_EQ(object->fmt, "apple");
  ASSERT_EQ(object->x5c.size(), 2u);
  auto leaf = pki::Certificate::from_der(object->x5c[0]);
  ASSERT_TRUE(leaf.ok());
  auto contents = sim::decode_apple_extensions(*leaf);
  ASSERT_TRUE(contents.ok()) << contents.error().detail;
  EXPECT_EQ(contents->facts.serial, facts->serial);
  EXPECT_EQ(contents->facts.udid, facts->udid);
  EXPECT_EQ(contents->freshness, sim::freshness_code(token));

  // Its CSR is what a device would send: the attested key, the serial as permanentIdentifier.
  auto csr_der = base64url_decode(trimmed(read_text(dir + "csr.b64u")));
  ASSERT_TRUE(csr_der.ok());
  auto csr = pki::Csr::from_der(*csr_der);
  ASSERT_TRUE(csr.ok());
  EXPECT_TRUE(csr->verify_signature());
  EXPECT_TRUE(csr->public_key().equals(*device_key));
  auto sans = csr->subject_alt_names();
  ASSERT_TRUE(sans.ok());
  ASSERT_EQ(sans->permanent_ids.size(), 1u);
  EXPECT_EQ(sans->permanent_ids[0].value, (*expected)["serial"].get<std::string>());

  // Outside the leaf's validity, with another token, or chained to another root: refused.
  EXPECT_FALSE(
      server::verify_apple_attestation(att_obj, *roots, token, verify_at + 30 * 24 * 3600).ok());
  rule.clear();
  EXPECT_FALSE(
      server::verify_apple_attestation(att_obj, *roots, token + "x", verify_at, {}, &rule).ok());
  EXPECT_EQ(rule, "freshness");
  rule.clear();
  const std::string rogue = trimmed(read_text(dir + "attobj-rogue-root.b64u"));
  EXPECT_FALSE(server::verify_apple_attestation(rogue, *roots, token, verify_at, {}, &rule).ok());
  EXPECT_EQ(rule, "chain");
  // And the simulator's mock root is not its root either.
  auto mock = sim::AppleCa::create(verify_at);
  ASSERT_TRUE(mock.ok());
  EXPECT_FALSE(server::verify_apple_attestation(att_obj, {mock->root()}, token, verify_at).ok());
}

}  // namespace
}  // namespace attestlab

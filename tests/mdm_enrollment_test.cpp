// Managed Device Attestation end to end, in one process: a fleet of simulated devices
// enrolls through attestlab's MDM emulator (sim/mdm/mdm_server.h + sim/mdm/mdm_agent.h), which
// sends each the ACME certificate profile and a DevicePropertiesAttestation request; each
// device's ACME client enrolls with attestlab's ACME server (server/acme/acme_server.h) over
// device-attest-01. Server and simulator meet only on the wire.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/http.h"
#include "core/pki.h"
#include "server/acme/acme_server.h"
#include "sim/device/apple_ca.h"
#include "sim/device/attestation_service.h"
#include "sim/device/device.h"
#include "sim/mdm/mdm_agent.h"
#include "sim/mdm/mdm_server.h"
#include "sim/mdm/profile.h"
#include "testing/mdm_support.h"

namespace attestlab {
namespace {

using namespace std::chrono_literals;
using sim::AttestationVerdict;
using sim::DeviceKind;

class MdmEnrollmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<VirtualClock>();
    auto ca = sim::AppleCa::create(clock_->now());
    ASSERT_TRUE(ca.ok());
    apple_ca_ = std::make_shared<sim::AppleCa>(std::move(*ca));
    apple_ = std::make_shared<sim::AppleAttestationServers>(apple_ca_, clock_);
    push_ = std::make_shared<sim::PushService>();

    server::ServerConfig acme;
    acme.listen_port = 0;
    acme.data_dir = dir_.file("acme");
    acme.attestation_roots_file = dir_.write("mock-root.pem", apple_ca_->root().to_pem());
    acme.io_threads = 2;
    acme.validation_threads = 2;
    auto started = server::AcmeServer::start(acme, clock_);
    ASSERT_TRUE(started.ok()) << started.error().detail;
    acme_ = std::move(*started);
    acme_trust_ = dir_.write("acme-tls.pem", acme_->tls_certificate_pem());

    sim::MdmServerConfig mdm;
    mdm.acme_directory_url = acme_->directory_url();
    mdm.acme_wifi_ssids = {"corp-eap-tls"};
    mdm.attestation_roots = {apple_ca_->root()};
    mdm.push = push_;
    mdm.clock = clock_;
    auto mdm_started = sim::MdmServer::start(mdm);
    ASSERT_TRUE(mdm_started.ok()) << mdm_started.error().detail;
    mdm_ = std::move(*mdm_started);
    mdm_trust_ = dir_.write("mdm-tls.pem", mdm_->tls_certificate_pem());
  }

  void TearDown() override {
    for (auto& agent : agents_) agent->stop();
    agents_.clear();
    if (mdm_) mdm_->stop();
    if (acme_) acme_->stop();
  }

  sim::MdmAgent& add_agent(sim::Device device) {
    sim::MdmAgentOptions o;
    o.enroll_url = mdm_->enroll_url();
    o.trust_ca_pem_file = mdm_trust_;
    o.push = push_;
    o.poll_interval = 3600s;  // pushes drive the agents
    o.acme.trust_ca_pem_file = acme_trust_;
    o.acme.clock = clock_;
    o.acme.apple_ca = apple_ca_;
    o.acme.client.poll_interval = 100ms;
    o.acme.client.timeout = 30s;
    agents_.push_back(std::make_unique<sim::MdmAgent>(std::move(device), apple_, o));
    return *agents_.back();
  }

  // The InstallProfile of the blueprint (the first command) and the attestation verdict
  // are both settled for every device.
  bool all_settled() const {
    for (const auto& agent : agents_) {
      const std::string id = agent->device_id();
      if (id.empty()) return false;
      auto d = mdm_->device(id);
      if (!d || d->commands.size() < 2) return false;
      if (!d->commands[0].finished() || !d->commands[1].finished()) return false;
    }
    return true;
  }

  // GET /mdm/devices exactly as served. Through the handler rather than a socket: the
  // list of 20 devices is larger than one TLS record, which core/http_server.cpp cannot
  // send yet (see MdmWireTest.ResponsesLargerThanOneTlsRecord in sim/mdm/mdm_server_test.cpp).
  Json devices_endpoint() const {
    http::Request request;
    request.method = "GET";
    request.target = "/mdm/devices";
    request.tls = true;
    http::Response r = mdm_->handle(request);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), std::string("application/json"));
    auto json = parse_json(r.body);
    EXPECT_TRUE(json.ok());
    return json.ok() ? *json : Json();
  }

  // One device's record over real HTTPS.
  Json device_over_https(const std::string& udid) const {
    http::ClientOptions o;
    o.trust_ca_pem_file = mdm_trust_;
    http::Client client(o);
    auto r = client.get(mdm_->base_url() + "/devices/" + udid);
    EXPECT_TRUE(r.ok()) << r.error().detail;
    if (!r.ok()) return Json();
    EXPECT_EQ(r->status, 200);
    auto json = parse_json(r->body);
    EXPECT_TRUE(json.ok());
    return json.ok() ? *json : Json();
  }

  sim::testing::ScratchDir dir_;
  std::shared_ptr<VirtualClock> clock_;
  std::shared_ptr<sim::AppleCa> apple_ca_;
  std::shared_ptr<sim::AppleAttestationServers> apple_;
  std::shared_ptr<sim::PushService> push_;
  std::unique_ptr<server::AcmeServer> acme_;
  std::unique_ptr<sim::MdmServer> mdm_;
  std::string acme_trust_, mdm_trust_;
  std::vector<std::unique_ptr<sim::MdmAgent>> agents_;
};

TEST_F(MdmEnrollmentTest, FleetOfTwentyEnrollsThroughTheMdmAndIsTrusted) {
  // Every kind that can attest, in the default enterprise proportions.
  sim::FleetGenerator generator(8555);
  auto fleet = generator.fleet(20, {40, 15, 25, 3, 1, 4, 0, 0});
  std::map<std::string, std::string> serial_of;  // udid → serial
  for (auto& device : fleet) {
    serial_of[device.identity().udid] = device.identity().serial;
    add_agent(std::move(device));
  }
  for (auto& agent : agents_) agent->start();

  ASSERT_TRUE(mdm_->wait_until([&] { return all_settled(); }, 240s))
      << mdm_->devices_json().dump(2);

  const Json json = devices_endpoint();
  ASSERT_EQ(json["devices"].size(), 20u);
  for (const Json& d : json["devices"]) {
    const std::string udid = d["udid"];
    SCOPED_TRACE(udid);
    EXPECT_EQ(d["serial"], serial_of[udid]);
    EXPECT_EQ(d["enrollment_type"], "device");
    EXPECT_EQ(d["attestation"]["verdict"], "trusted") << d["attestation"].dump();
    EXPECT_EQ(d["acme_client_identifier"], serial_of[udid]);
    ASSERT_GE(d["commands"].size(), 2u);
    EXPECT_EQ(d["commands"][0]["request_type"], "InstallProfile");
    EXPECT_EQ(d["commands"][0]["status"], "Acknowledged") << d["commands"][0].dump();
    EXPECT_EQ(d["commands"][1]["request_type"], "DeviceInformation");
    EXPECT_EQ(d["commands"][1]["status"], "Acknowledged");
    const Json wire = device_over_https(udid);
    EXPECT_EQ(wire["attestation"]["verdict"], "trusted");
    EXPECT_EQ(wire["commands"][0]["status"], "Acknowledged");
  }

  // Each device holds a certificate from the ACME server for its serial, on its attested
  // Secure Enclave key, chaining to the server's CA.
  auto chain = pki::read_file(dir_.file("acme") + "/ca/chain.pem");
  ASSERT_TRUE(chain.ok());
  auto ca_certs = pki::Certificate::bundle_from_pem(*chain);
  ASSERT_TRUE(ca_certs.ok());
  ASSERT_EQ(ca_certs->size(), 2u);
  const std::vector<pki::Certificate> intermediates = {(*ca_certs)[0]};
  const std::vector<pki::Certificate> roots = {(*ca_certs)[1]};
  for (const auto& agent : agents_) {
    const auto identities = agent->identities();
    ASSERT_EQ(identities.size(), 1u) << agent->device_id();
    const sim::KeychainIdentity& id = identities[0];
    EXPECT_TRUE(id.hardware_bound);
    EXPECT_TRUE(pki::verify_chain(id.certificate, intermediates, roots, clock_->now()).ok());
    const auto sans = id.certificate.subject_alt_names();
    ASSERT_EQ(sans.permanent_ids.size(), 1u);
    EXPECT_EQ(sans.permanent_ids[0].value, serial_of[agent->device_id()]);
    const auto history = agent->history();
    ASSERT_FALSE(history.empty());
    ASSERT_EQ(history[0].acme.size(), 1u);
    EXPECT_TRUE(history[0].acme[0].ok()) << history[0].acme[0].summary();
    bool key_matches = false;
    agent->with_device([&](sim::Device& device, sim::AttestationService&, sim::DeviceKeychain&) {
      auto key = device.secure_enclave().public_key(id.key);
      key_matches = key.ok() && key->equals(id.certificate.public_key());
    });
    EXPECT_TRUE(key_matches) << "the certificate is for the Secure Enclave key";
    // The ACME profile's Wi-Fi payload is installed with it.
    bool wifi = false;
    for (const auto& profile : agent->profiles()) {
      for (const auto& payload : sim::profile_payloads(profile.profile)) {
        if (payload.value("PayloadType", "") == sim::kWifiPayloadType) wifi = true;
      }
    }
    EXPECT_TRUE(wifi);
  }
}

TEST_F(MdmEnrollmentTest, MdmAndAcmeServerAgreeOnDevicesTheyMustNotTrust) {
  sim::FleetGenerator generator(4108);
  sim::Device legacy = generator.device(DeviceKind::LegacyIPhone);
  sim::Device intel = generator.device(DeviceKind::IntelMac);
  sim::Device jailbroken = generator.device(DeviceKind::Mac);
  sim::Posture sip_off = jailbroken.posture();
  sip_off.sip_enabled = false;
  sip_off.jailbroken = true;
  jailbroken.set_posture(sip_off);
  sim::Device honest = generator.device(DeviceKind::IPhone);
  const std::string legacy_udid = legacy.identity().udid, intel_udid = intel.identity().udid;
  const std::string jailbroken_udid = jailbroken.identity().udid,
                    honest_udid = honest.identity().udid;
  for (auto* device : {&legacy, &intel, &jailbroken, &honest}) {
    auto& agent = add_agent(std::move(*device));
    ASSERT_TRUE(agent.enroll().ok());
    ASSERT_TRUE(agent.run_until_idle().ok());  // step by step: deterministic
  }
  auto record = [&](const std::string& udid) { return *mdm_->device(udid); };

  for (const std::string& udid : {legacy_udid, intel_udid}) {
    auto d = record(udid);
    EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Unknown) << udid;
    EXPECT_EQ(d.commands[0].status, sim::mdm::kStatusError) << "cannot answer device-attest-01";
    ASSERT_EQ(d.commands[0].error_chain.size(), 2u);
    EXPECT_EQ(d.commands[0].error_chain[1].domain, sim::mdm_agent_errors::kAcmeDomain);
  }
  auto mac = record(jailbroken_udid);
  EXPECT_EQ(mac.attestation.verdict, AttestationVerdict::Untrusted);
  EXPECT_EQ(mac.commands[0].status, sim::mdm::kStatusError)
      << "the ACME server's posture policy refuses SIP off";
  EXPECT_NE(mac.commands[0].error_chain[1].localized_description.find("badAttestationStatement"),
            std::string::npos)
      << mac.commands[0].error_chain[1].localized_description;

  auto good = record(honest_udid);
  EXPECT_EQ(good.attestation.verdict, AttestationVerdict::Trusted);
  EXPECT_EQ(good.commands[0].status, sim::mdm::kStatusAcknowledged);

  // Renewal through the MDM: the same profile again replaces the identity.
  sim::MdmAgent& agent = *agents_.back();
  const auto before = agent.identities();
  ASSERT_EQ(before.size(), 1u);
  auto uuid = mdm_->enqueue_acme_profile(honest_udid);
  ASSERT_TRUE(uuid.ok());
  ASSERT_TRUE(agent.run_until_idle().ok());
  EXPECT_EQ(record(honest_udid).find_command(*uuid)->status, sim::mdm::kStatusAcknowledged);
  const auto after = agent.identities();
  ASSERT_EQ(after.size(), 1u) << "the replaced profile's identity is gone";
  EXPECT_NE(after[0].certificate.serial_hex(), before[0].certificate.serial_hex());
}

TEST_F(MdmEnrollmentTest, TheProfilesRootPayloadIsHowTheDeviceTrustsAPrivateAcmeServer) {
  // A second MDM that ships the ACME server's TLS certificate inside the ACME profile
  // (`attestlab mdm serve --trust-ca`); the device itself trusts nothing for ACME.
  auto acme_tls = pki::Certificate::from_pem(acme_->tls_certificate_pem());
  ASSERT_TRUE(acme_tls.ok());
  sim::MdmServerConfig config = mdm_->config();
  config.tls_cert_pem.clear();
  config.tls_key_pem.clear();
  config.acme_trust_anchors = {acme_tls->to_der()};
  auto started = sim::MdmServer::start(config);
  ASSERT_TRUE(started.ok());
  mdm_ = std::move(*started);
  mdm_trust_ = dir_.write("mdm2-tls.pem", mdm_->tls_certificate_pem());

  sim::FleetGenerator generator(1207);
  // Unlike add_agent(), no ACME trust: the device must get it from the profile.
  sim::MdmAgentOptions o;
  o.enroll_url = mdm_->enroll_url();
  o.trust_ca_pem_file = mdm_trust_;
  o.acme.clock = clock_;
  o.acme.client.poll_interval = 100ms;
  agents_.push_back(std::make_unique<sim::MdmAgent>(generator.device(DeviceKind::IPad), apple_, o));
  sim::MdmAgent& device = *agents_.back();
  ASSERT_TRUE(device.enroll().ok());
  ASSERT_TRUE(device.run_until_idle().ok());
  auto d = *mdm_->device(device.device_id());
  EXPECT_EQ(d.commands[0].status, sim::mdm::kStatusAcknowledged)
      << sim::mdm::describe_error_chain(d.commands[0].error_chain);
  EXPECT_EQ(device.identities().size(), 1u);

  // Without the root payload the same device cannot reach the ACME server.
  config.acme_trust_anchors.clear();
  auto plain = sim::MdmServer::start(config);
  ASSERT_TRUE(plain.ok());
  mdm_ = std::move(*plain);
  mdm_trust_ = dir_.write("mdm3-tls.pem", mdm_->tls_certificate_pem());
  o.enroll_url = mdm_->enroll_url();
  o.trust_ca_pem_file = mdm_trust_;
  agents_.push_back(std::make_unique<sim::MdmAgent>(generator.device(DeviceKind::IPad), apple_, o));
  sim::MdmAgent& untrusting = *agents_.back();
  ASSERT_TRUE(untrusting.enroll().ok());
  ASSERT_TRUE(untrusting.run_until_idle().ok());
  auto refused = *mdm_->device(untrusting.device_id());
  EXPECT_EQ(refused.commands[0].status, sim::mdm::kStatusError);
  ASSERT_FALSE(untrusting.history().empty());
  ASSERT_EQ(untrusting.history()[0].acme.size(), 1u);
  EXPECT_EQ(untrusting.history()[0].acme[0].error->type, "connection");
}

}  // namespace
}  // namespace attestlab

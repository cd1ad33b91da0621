// The MDM emulator end to end in one process, over real HTTPS: MdmServer and MdmAgent with
// simulated devices and the mock Apple attestation CA (no ACME server here: the tests that
// need one live in tests/mdm_enrollment_test.cpp).
#include "sim/mdm/mdm_server.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/http.h"
#include "sim/device/apple_ca.h"
#include "sim/device/attestation_service.h"
#include "sim/device/device.h"
#include "sim/mdm/mdm_agent.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/profile.h"
#include "sim/mdm/profile_lint.h"
#include "testing/mdm_support.h"

namespace attestlab::sim {
namespace {

using namespace std::chrono_literals;
namespace errs = mdm_agent_errors;

constexpr std::int64_t kDay = 24 * 3600;

class MdmServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<VirtualClock>();
    auto ca = AppleCa::create(clock_->now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<AppleCa>(std::move(*ca));
    apple_ = std::make_shared<AppleAttestationServers>(ca_, clock_);
    push_ = std::make_shared<PushService>();
  }

  MdmServerConfig base_config() const {
    MdmServerConfig config;
    config.attestation_roots = {ca_->root()};
    config.push = push_;
    config.clock = clock_;
    return config;
  }

  void start_server(MdmServerConfig config) {
    auto started = MdmServer::start(std::move(config));
    ASSERT_TRUE(started.ok()) << started.error().detail;
    server_ = std::move(*started);
    trust_file_ = dir_.write("mdm-" + std::to_string(server_->port()) + ".pem",
                             server_->tls_certificate_pem());
  }
  void start_server() { start_server(base_config()); }

  MdmAgentOptions agent_options() const {
    MdmAgentOptions o;
    o.enroll_url = server_->enroll_url();
    o.trust_ca_pem_file = trust_file_;
    o.push = push_;
    o.poll_interval = 3600s;  // tests drive sessions or push explicitly
    o.acme.clock = clock_;
    o.acme.apple_ca = ca_;
    o.acme.client.timeout = 3000ms;
    return o;
  }

  std::unique_ptr<MdmAgent> make_agent(Device device,
                                       std::shared_ptr<AppleAttestationServers> apple = nullptr) {
    return std::make_unique<MdmAgent>(std::move(device), apple ? apple : apple_, agent_options());
  }

  // An enrolled agent whose blueprint commands ran.
  std::unique_ptr<MdmAgent> enrolled_agent(
      Device device, std::shared_ptr<AppleAttestationServers> apple = nullptr) {
    auto agent = make_agent(std::move(device), std::move(apple));
    auto enrolled = agent->enroll();
    EXPECT_TRUE(enrolled.ok()) << enrolled.error().detail;
    auto ran = agent->run_until_idle();
    EXPECT_TRUE(ran.ok()) << ran.error().detail;
    return agent;
  }

  MdmDeviceRecord record(const MdmAgent& agent) const {
    auto d = server_->device(agent.device_id());
    EXPECT_TRUE(d.has_value()) << agent.device_id();
    return d ? *d : MdmDeviceRecord{};
  }

  AttestationVerdict verdict(const MdmAgent& agent) const {
    return record(agent).attestation.verdict;
  }

  static std::string reasons(const MdmDeviceRecord& d) {
    std::string out;
    for (const auto& r : d.attestation.reasons) out += r + " | ";
    return out;
  }

  // The status the server recorded for a command.
  std::string status_of(const MdmAgent& agent, const std::string& uuid) const {
    auto d = record(agent);
    const MdmCommandRecord* c = d.find_command(uuid);
    return c ? c->status : "(missing)";
  }

  http::Client client() const {
    http::ClientOptions o;
    o.trust_ca_pem_file = trust_file_;
    return http::Client(o);
  }

  testing::ScratchDir dir_;
  std::shared_ptr<VirtualClock> clock_;
  std::shared_ptr<AppleCa> ca_;
  std::shared_ptr<AppleAttestationServers> apple_;
  std::shared_ptr<PushService> push_;
  std::unique_ptr<MdmServer> server_;
  std::string trust_file_;
  FleetGenerator fleet_{20240501};
};

TEST_F(MdmServerTest, EnrollmentProfileOverHttps) {
  start_server();
  auto c = client();
  auto r = c.get(server_->enroll_url());
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), std::string(mdm::kProfileContentType));
  auto profile = parse_profile(r->body);
  ASSERT_TRUE(profile.ok());
  const auto payloads = profile_payloads(*profile);
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0]["ServerURL"], server_->base_url() + "/connect");
  EXPECT_EQ(payloads[0]["CheckInURL"], server_->base_url() + "/checkin");
  EXPECT_EQ(payloads[0]["Topic"], server_->config().topic);
  EXPECT_FALSE(has_errors(lint_profile(r->body)));
}

TEST_F(MdmServerTest, CheckInThenBlueprintAttestationIsTrusted) {
  start_server();
  Device device = fleet_.device(DeviceKind::IPhone);
  const DeviceIdentity identity = device.identity();
  auto agent = make_agent(std::move(device));
  ASSERT_TRUE(agent->enroll().ok());
  EXPECT_EQ(agent->device_id(), identity.udid);

  // After Authenticate + TokenUpdate, before any answer: queued, unknown.
  MdmDeviceRecord before = record(*agent);
  EXPECT_TRUE(before.token_received);
  EXPECT_EQ(before.serial, identity.serial);
  EXPECT_EQ(before.authenticate.os_version, identity.os_version);
  EXPECT_EQ(before.attestation.verdict, AttestationVerdict::Unknown);
  ASSERT_EQ(before.commands.size(), 1u);  // no ACME directory configured: DeviceInformation only
  const MdmCommandRecord& info = before.commands[0];
  EXPECT_EQ(info.command.request_type, mdm::kDeviceInformation);
  EXPECT_EQ(info.status, kCommandQueued);
  ASSERT_TRUE(info.attestation_nonce.has_value());
  EXPECT_EQ(info.attestation_nonce->size(), 32u);
  EXPECT_EQ(server_->devices_json()["devices"][0]["attestation"]["verdict"], "unknown");
  EXPECT_EQ(push_->delivered(), 1u) << "the blueprint pushes";

  auto ran = agent->run_until_idle();
  ASSERT_TRUE(ran.ok()) << ran.error().detail;
  EXPECT_EQ(*ran, 1u);
  MdmDeviceRecord after = record(*agent);
  EXPECT_EQ(after.attestation.verdict, AttestationVerdict::Trusted) << reasons(after);
  EXPECT_EQ(after.commands[0].status, mdm::kStatusAcknowledged);
  ASSERT_TRUE(after.attestation.attested.has_value());
  EXPECT_EQ(after.attestation.attested->serial, identity.serial);
  const auto history = agent->history();
  ASSERT_EQ(history.size(), 1u);
  ASSERT_TRUE(history[0].attestation.has_value());
  EXPECT_EQ(history[0].attestation->freshness, freshness_code(*info.attestation_nonce));

  const Json json = server_->devices_json();
  ASSERT_EQ(json["devices"].size(), 1u);
  const Json& d = json["devices"][0];
  EXPECT_EQ(d["udid"], identity.udid);
  EXPECT_EQ(d["serial"], identity.serial);
  EXPECT_EQ(d["enrollment_type"], "device");
  EXPECT_EQ(d["attestation"]["verdict"], "trusted");
  EXPECT_FALSE(d["attestation"]["reasons"].empty());
  EXPECT_EQ(d["commands"][0]["request_type"], "DeviceInformation");
  EXPECT_EQ(d["commands"][0]["status"], "Acknowledged");

  // Nothing more to do: the next session is empty.
  auto again = agent->run_until_idle();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
}

TEST_F(MdmServerTest, CachedAttestationInsideThrottleIsStale) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPad));
  ASSERT_EQ(verdict(*agent), AttestationVerdict::Trusted);
  const auto issued_before = apple_->issued_count();

  clock_->advance(2 * kDay);
  ASSERT_TRUE(server_->request_attestation(agent->device_id()).ok());
  ASSERT_TRUE(agent->run_until_idle().ok());
  MdmDeviceRecord d = record(*agent);
  EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Stale) << reasons(d);
  EXPECT_NE(reasons(d).find("cached attestation"), std::string::npos);
  EXPECT_EQ(apple_->issued_count(), issued_before) << "Apple was not asked again";
  EXPECT_TRUE(agent->history().back().attestation->from_cache);

  clock_->advance(6 * kDay);  // 8 days after the first: the throttle window is over
  ASSERT_TRUE(server_->request_attestation(agent->device_id()).ok());
  ASSERT_TRUE(agent->run_until_idle().ok());
  EXPECT_EQ(verdict(*agent), AttestationVerdict::Trusted) << reasons(record(*agent));
  EXPECT_EQ(apple_->issued_count(), issued_before + 1);
}

TEST_F(MdmServerTest, RogueRootChainIsUntrusted) {
  start_server();
  auto rogue_ca = AppleCa::create(clock_->now());
  ASSERT_TRUE(rogue_ca.ok());
  auto rogue_apple = std::make_shared<AppleAttestationServers>(
      std::make_shared<AppleCa>(std::move(*rogue_ca)), clock_);
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone), rogue_apple);
  MdmDeviceRecord d = record(*agent);
  EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Untrusted);
  EXPECT_NE(reasons(d).find("does not verify to a configured attestation root"), std::string::npos)
      << reasons(d);
}

TEST_F(MdmServerTest, MockChainIsUntrustedAgainstApplesRealRoot) {
  auto apple_root = pki::read_file(std::string(ATTESTLAB_SOURCE_DIR) +
                                   "/fixtures/apple-enterprise-attestation-root-ca.pem");
  ASSERT_TRUE(apple_root.ok());
  MdmServerConfig config = base_config();
  config.attestation_roots = *pki::Certificate::bundle_from_pem(*apple_root);
  start_server(config);
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  EXPECT_EQ(verdict(*agent), AttestationVerdict::Untrusted);
}

TEST_F(MdmServerTest, MacWithSipOffIsUntrustedUnlessPolicyAllows) {
  start_server();
  Device mac = fleet_.device(DeviceKind::Mac);
  Posture jailbroken = mac.posture();
  jailbroken.sip_enabled = false;
  jailbroken.jailbroken = true;
  mac.set_posture(jailbroken);
  auto agent = enrolled_agent(std::move(mac));
  MdmDeviceRecord d = record(*agent);
  EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Untrusted);
  EXPECT_NE(reasons(d).find("System Integrity Protection is attested as disabled"),
            std::string::npos)
      << reasons(d);

  MdmServerConfig lenient = base_config();
  lenient.policy.require_sip = false;
  start_server(lenient);
  Device mac2 = fleet_.device(DeviceKind::Mac);
  Posture off = mac2.posture();
  off.sip_enabled = false;
  mac2.set_posture(off);
  auto agent2 = enrolled_agent(std::move(mac2));
  EXPECT_EQ(verdict(*agent2), AttestationVerdict::Trusted) << reasons(record(*agent2));
}

TEST_F(MdmServerTest, DeviceLyingAboutItselfIsUntrusted) {
  start_server();
  Device liar = fleet_.device(DeviceKind::IPhone);
  liar.claim_overrides().serial = "C02FAKE0SN01";
  auto agent = enrolled_agent(std::move(liar));
  MdmDeviceRecord d = record(*agent);
  EXPECT_EQ(d.serial, "C02FAKE0SN01") << "the check-in carried the lie";
  EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Untrusted);
  EXPECT_NE(reasons(d).find("but the device claims C02FAKE0SN01"), std::string::npos) << reasons(d);

  Device other = fleet_.device(DeviceKind::IPhone);
  const std::string victim_udid = fleet_.identity(DeviceKind::IPhone).udid;
  other.claim_overrides().udid = victim_udid;
  auto impostor = enrolled_agent(std::move(other));
  EXPECT_EQ(impostor->device_id(), victim_udid);
  EXPECT_EQ(verdict(*impostor), AttestationVerdict::Untrusted);

  Device old_os = fleet_.device(DeviceKind::IPhone);
  old_os.claim_overrides().os_version = "99.0";
  auto boaster = enrolled_agent(std::move(old_os));
  EXPECT_NE(reasons(record(*boaster)).find("reports OS 99.0"), std::string::npos);
}

TEST_F(MdmServerTest, UserEnrollmentUsesEnrollmentId) {
  start_server();
  Device byod = fleet_.device(DeviceKind::IPhone);
  byod.set_user_enrollment(true);
  const std::string enrollment_id = byod.identity().enrollment_id;
  auto agent = enrolled_agent(std::move(byod));
  EXPECT_EQ(agent->device_id(), enrollment_id);
  MdmDeviceRecord d = record(*agent);
  EXPECT_TRUE(d.user_enrollment);
  EXPECT_TRUE(d.udid.empty());
  EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Trusted) << reasons(d);
  EXPECT_EQ(d.to_json()["enrollment_type"], "user");
}

TEST_F(MdmServerTest, DevicesThatCannotAttestStayUnknown) {
  start_server();
  for (DeviceKind kind : {DeviceKind::LegacyIPhone, DeviceKind::IntelMac}) {
    auto agent = enrolled_agent(fleet_.device(kind));
    MdmDeviceRecord d = record(*agent);
    EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Unknown) << to_string(kind);
    EXPECT_NE(reasons(d).find("cannot attest"), std::string::npos) << reasons(d);
    EXPECT_EQ(d.commands[0].status, mdm::kStatusAcknowledged)
        << "Apple devices just leave the query out";
  }
}

TEST_F(MdmServerTest, AttestationOutageIsAnErrorAndKeepsVerdictUnknown) {
  start_server();
  apple_->set_outage(AppleAttestationServers::Outage::ServerError);
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  MdmDeviceRecord d = record(*agent);
  EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Unknown);
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0].status, mdm::kStatusError);
  ASSERT_FALSE(d.commands[0].error_chain.empty());
  EXPECT_EQ(d.commands[0].error_chain[0].domain, errs::kAttestationDomain);
  EXPECT_EQ(d.commands[0].error_chain[0].code, errs::kAttestationServiceError);
  EXPECT_NE(reasons(d).find("failed (Error)"), std::string::npos) << reasons(d);

  // Apple is back: a new request succeeds.
  apple_->set_outage(AppleAttestationServers::Outage::None);
  ASSERT_TRUE(server_->request_attestation(agent->device_id()).ok());
  ASSERT_TRUE(agent->run_until_idle().ok());
  EXPECT_EQ(verdict(*agent), AttestationVerdict::Trusted);
}

TEST_F(MdmServerTest, NonceLongerThan32BytesIsRefusedByTheDevice) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  auto uuid = server_->enqueue(
      agent->device_id(),
      mdm::make_device_information({mdm::kQueryDevicePropertiesAttestation}, Bytes(33, 1)));
  ASSERT_TRUE(uuid.ok());
  ASSERT_TRUE(agent->run_until_idle().ok());
  auto d = record(*agent);
  const MdmCommandRecord* c = d.find_command(*uuid);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, mdm::kStatusError);
  ASSERT_FALSE(c->error_chain.empty());
  EXPECT_EQ(c->error_chain[0].code, errs::kAttestationBadNonce);
}

TEST_F(MdmServerTest, NotNowWhileLockedThenAcknowledged) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  agent->set_locked(true);
  auto uuid = server_->enqueue(agent->device_id(), mdm::make_certificate_list());
  ASSERT_TRUE(uuid.ok());
  auto info = server_->request_attestation(agent->device_id());  // allowed while locked
  ASSERT_TRUE(info.ok());

  auto ran = agent->run_until_idle();
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(*ran, 2u) << "NotNow for the first, then the server moves on to the next";
  EXPECT_EQ(status_of(*agent, *uuid), mdm::kStatusNotNow);
  EXPECT_EQ(status_of(*agent, *info), mdm::kStatusAcknowledged);
  EXPECT_EQ(agent->history()[1].status, mdm::kStatusNotNow);

  // Still locked: the next Idle makes the server resend, and the device says NotNow again.
  ASSERT_TRUE(agent->run_until_idle().ok());
  EXPECT_EQ(record(*agent).find_command(*uuid)->not_now_count, 2);

  agent->set_locked(false);
  auto after = agent->run_until_idle();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 1u);
  EXPECT_EQ(status_of(*agent, *uuid), mdm::kStatusAcknowledged);
  const MdmCommandRecord* done = record(*agent).find_command(*uuid);
  EXPECT_EQ(done->deliveries, 3);
  EXPECT_TRUE(done->response.contains("CertificateList"));
}

TEST_F(MdmServerTest, ProfilesInstallListAndRemove) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  Json restrictions = make_configuration_profile("com.example.restrictions", "Restrictions");
  restrictions["PayloadContent"].push_back(
      Json{{"PayloadType", "com.apple.applicationaccess"},
           {"PayloadIdentifier", "com.example.restrictions.camera"},
           {"PayloadUUID", new_payload_uuid()},
           {"PayloadVersion", 1},
           {"allowCamera", false}});
  auto install =
      server_->enqueue(agent->device_id(), mdm::make_install_profile(profile_to_xml(restrictions)));
  auto list = server_->enqueue(agent->device_id(), mdm::make_profile_list());
  ASSERT_TRUE(install.ok() && list.ok());
  ASSERT_TRUE(agent->run_until_idle().ok());
  EXPECT_EQ(status_of(*agent, *install), mdm::kStatusAcknowledged);
  const Json listed = record(*agent).find_command(*list)->response["ProfileList"];
  ASSERT_EQ(listed.size(), 2u) << "the enrollment profile and the new one";
  EXPECT_EQ(listed[1]["PayloadIdentifier"], "com.example.restrictions");
  EXPECT_EQ(listed[1]["PayloadContent"][0]["PayloadType"], "com.apple.applicationaccess");

  auto remove =
      server_->enqueue(agent->device_id(), mdm::make_remove_profile("com.example.restrictions"));
  auto remove_again =
      server_->enqueue(agent->device_id(), mdm::make_remove_profile("com.example.restrictions"));
  auto remove_enrollment = server_->enqueue(
      agent->device_id(), mdm::make_remove_profile("com.attestlab.mdm.enrollment"));
  ASSERT_TRUE(agent->run_until_idle().ok());
  EXPECT_EQ(status_of(*agent, *remove), mdm::kStatusAcknowledged);
  EXPECT_EQ(status_of(*agent, *remove_again), mdm::kStatusError);
  EXPECT_EQ(record(*agent).find_command(*remove_again)->error_chain[0].code,
            errs::kProfileNotInstalled);
  EXPECT_EQ(status_of(*agent, *remove_enrollment), mdm::kStatusError);
  EXPECT_EQ(agent->profiles().size(), 1u);
}

TEST_F(MdmServerTest, BadProfileIsRefusedWithItsLintProblem) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  AcmeProfileOptions o;
  o.acme = AcmePayload::for_attestation("https://ca.example.com/acme/directory", "X");
  o.acme.hardware_bound = false;  // Attest without HardwareBound
  auto uuid = server_->enqueue(agent->device_id(),
                               mdm::make_install_profile(profile_to_xml(make_acme_profile(o))));
  auto garbage = server_->enqueue(agent->device_id(), mdm::make_install_profile("not a profile"));
  ASSERT_TRUE(agent->run_until_idle().ok());
  auto d = record(*agent);
  const MdmCommandRecord* c = d.find_command(*uuid);
  ASSERT_EQ(c->status, mdm::kStatusError);
  ASSERT_EQ(c->error_chain.size(), 2u);
  EXPECT_EQ(c->error_chain[0].domain, errs::kInstallationDomain);
  EXPECT_EQ(c->error_chain[0].code, errs::kInstallationFailed);
  EXPECT_EQ(c->error_chain[1].code, errs::kProfileInvalid);
  EXPECT_NE(c->error_chain[1].localized_description.find("attest_requires_hardware_bound"),
            std::string::npos);
  EXPECT_EQ(d.find_command(*garbage)->error_chain[1].code, errs::kProfileUnreadable);
  EXPECT_EQ(agent->profiles().size(), 1u);
}

TEST_F(MdmServerTest, AcmeProfileWhoseServerIsDownFailsWithAnErrorChain) {
  MdmServerConfig config = base_config();
  config.acme_directory_url = "https://127.0.0.1:9/acme/directory";  // nothing listens there
  start_server(config);
  Device device = fleet_.device(DeviceKind::IPhone);
  const std::string serial = device.identity().serial;
  auto agent = enrolled_agent(std::move(device));
  auto d = record(*agent);
  ASSERT_EQ(d.commands.size(), 2u);
  EXPECT_EQ(d.acme_client_identifier, serial);
  const MdmCommandRecord& install = d.commands[0];
  EXPECT_EQ(install.command.request_type, mdm::kInstallProfile);
  EXPECT_EQ(install.status, mdm::kStatusError);
  ASSERT_EQ(install.error_chain.size(), 2u);
  EXPECT_EQ(install.error_chain[1].domain, errs::kAcmeDomain);
  EXPECT_EQ(d.commands[1].status, mdm::kStatusAcknowledged);
  EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Trusted);
  const auto history = agent->history();
  ASSERT_EQ(history[0].acme.size(), 1u);
  EXPECT_FALSE(history[0].acme[0].ok());
  EXPECT_EQ(agent->profiles().size(), 1u);
  EXPECT_TRUE(agent->identities().empty());
  // The ACME profile the server sent names the device by serial.
  const Bytes* payload = plist_bytes(install.command.fields, "Payload");
  ASSERT_NE(payload, nullptr);
  auto acme = profile_acme_payloads(*parse_profile(attestlab::to_string(*payload)));
  ASSERT_EQ(acme.size(), 1u);
  EXPECT_EQ(acme[0].client_identifier, serial);
  EXPECT_EQ(acme[0].directory_url, config.acme_directory_url);
}

TEST_F(MdmServerTest, ClientIdentifierCanBeTheUdid) {
  MdmServerConfig config = base_config();
  config.acme_directory_url = "https://127.0.0.1:9/acme/directory";
  config.client_identifier = ClientIdentifierSource::Udid;
  start_server(config);
  auto agent = make_agent(fleet_.device(DeviceKind::IPhone));
  ASSERT_TRUE(agent->enroll().ok());
  EXPECT_EQ(record(*agent).acme_client_identifier, agent->device_id());
}

TEST_F(MdmServerTest, MalformedCommandsGetCommandFormatError) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  auto unknown =
      server_->enqueue(agent->device_id(), mdm::MdmCommand{"", "EraseTheUniverse", Json::object()});
  auto no_queries = server_->enqueue(agent->device_id(),
                                     mdm::MdmCommand{"", mdm::kDeviceInformation, Json::object()});
  auto no_payload = server_->enqueue(agent->device_id(),
                                     mdm::MdmCommand{"", mdm::kInstallProfile, Json::object()});
  ASSERT_TRUE(unknown.ok() && no_queries.ok() && no_payload.ok());
  ASSERT_TRUE(agent->run_until_idle().ok());
  EXPECT_EQ(status_of(*agent, *unknown), mdm::kStatusCommandFormatError);
  EXPECT_EQ(status_of(*agent, *no_queries), mdm::kStatusCommandFormatError);
  EXPECT_EQ(status_of(*agent, *no_payload), mdm::kStatusCommandFormatError);
}

TEST_F(MdmServerTest, CheckOutRemovesTheDevice) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  ASSERT_EQ(server_->device_count(), 1u);
  ASSERT_TRUE(agent->check_out().ok());
  EXPECT_EQ(server_->device_count(), 0u);
  EXPECT_FALSE(agent->enrolled());
  EXPECT_FALSE(agent->run_until_idle().ok());
  EXPECT_TRUE(server_->devices_json()["devices"].empty());
}

TEST_F(MdmServerTest, ReAuthenticateStartsOver) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  ASSERT_EQ(verdict(*agent), AttestationVerdict::Trusted);
  ASSERT_TRUE(agent->enroll().ok());
  auto d = record(*agent);
  EXPECT_EQ(d.attestation.verdict, AttestationVerdict::Unknown);
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0].status, kCommandQueued);
}

TEST_F(MdmServerTest, PushWakesTheBackgroundAgent) {
  start_server();
  auto agent = make_agent(fleet_.device(DeviceKind::IPhone));
  agent->start();  // enrolls, then waits for pushes (poll interval: an hour)
  ASSERT_TRUE(server_->wait_until(
      [&] {
        auto devices = server_->devices();
        return !devices.empty() && devices[0].attestation.verdict != AttestationVerdict::Unknown;
      },
      30s));
  const std::string id = agent->device_id();
  EXPECT_EQ(server_->device(id)->attestation.verdict, AttestationVerdict::Trusted);

  auto uuid = server_->enqueue(id, mdm::make_profile_list());
  ASSERT_TRUE(uuid.ok());
  EXPECT_TRUE(server_->wait_until(
      [&] { return server_->device(id)->find_command(*uuid)->finished(); }, 30s));
  EXPECT_EQ(server_->device(id)->find_command(*uuid)->status, mdm::kStatusAcknowledged);

  // Locked: NotNow; unlocking wakes the agent, whose Idle gets the command again.
  agent->set_locked(true);
  auto certs = server_->enqueue(id, mdm::make_certificate_list());
  ASSERT_TRUE(certs.ok());
  EXPECT_TRUE(server_->wait_until(
      [&] { return server_->device(id)->find_command(*certs)->not_now_count > 0; }, 30s));
  agent->set_locked(false);
  EXPECT_TRUE(server_->wait_until(
      [&] { return server_->device(id)->find_command(*certs)->finished(); }, 30s));
  agent->stop();
  EXPECT_FALSE(agent->running());
}

// --- the wire, without the agent --------------------------------------------------------------

class MdmWireTest : public MdmServerTest {
 protected:
  http::Response put(const std::string& path, const Json& body,
                     const char* content_type = mdm::kCheckinContentType) {
    auto c = client();
    auto r = c.request("PUT", server_->base_url() + path, {{"content-type", content_type}},
                       json_to_plist_xml(body));
    EXPECT_TRUE(r.ok());
    return r ? *r : http::Response{};
  }

  Json authenticate(const std::string& udid, const std::string& topic) {
    return Json{{"MessageType", "Authenticate"},
                {"UDID", udid},
                {"Topic", topic},
                {"SerialNumber", "SERIAL1"},
                {"OSVersion", "17.5"}};
  }
};

TEST_F(MdmWireTest, CheckInRefusals) {
  start_server();
  const std::string topic = server_->config().topic;
  EXPECT_EQ(put("/checkin", authenticate("U1", "com.apple.mgmt.External.other")).status, 401);
  EXPECT_EQ(put("/checkin", Json{{"MessageType", "TokenUpdate"},
                                 {"UDID", "U1"},
                                 {"Topic", topic},
                                 {"Token", plist_data(Bytes(32, 1))},
                                 {"PushMagic", "m"}})
                .status,
            401)
      << "TokenUpdate before Authenticate";
  EXPECT_EQ(
      put("/checkin", Json{{"MessageType", "UserAuthenticate"}, {"UDID", "U1"}, {"Topic", topic}})
          .status,
      410);
  EXPECT_EQ(
      put("/checkin", Json{{"MessageType", "Bogus"}, {"UDID", "U1"}, {"Topic", topic}}).status,
      400);
  EXPECT_EQ(put("/checkin", Json{{"UDID", "U1"}}).status, 400);
  auto c = client();
  auto garbage = c.request("PUT", server_->base_url() + "/checkin", {}, "garbage");
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->status, 400);
  auto wrong_method = c.request("POST", server_->base_url() + "/checkin", {}, "x");
  ASSERT_TRUE(wrong_method.ok());
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(put("/checkin", authenticate("U1", topic)).status, 200);
  EXPECT_EQ(server_->device("U1")->serial, "SERIAL1");
}

TEST_F(MdmWireTest, CommandEndpoint) {
  start_server();
  const std::string topic = server_->config().topic;
  EXPECT_EQ(put("/connect", Json{{"UDID", "nobody"}, {"Status", "Idle"}}, mdm::kCommandContentType)
                .status,
            401);
  ASSERT_EQ(put("/checkin", authenticate("U2", topic)).status, 200);
  // Authenticated but no TokenUpdate yet: no blueprint, nothing queued.
  http::Response idle =
      put("/connect", Json{{"UDID", "U2"}, {"Status", "Idle"}}, mdm::kCommandContentType);
  EXPECT_EQ(idle.status, 200);
  EXPECT_TRUE(idle.body.empty());
  EXPECT_EQ(put("/connect", Json{{"UDID", "U2"}, {"Status", "Weird"}, {"CommandUUID", "x"}},
                mdm::kCommandContentType)
                .status,
            400);

  auto uuid = server_->enqueue("U2", mdm::make_profile_list());
  ASSERT_TRUE(uuid.ok());
  http::Response command =
      put("/connect", Json{{"UDID", "U2"}, {"Status", "Idle"}}, mdm::kCommandContentType);
  ASSERT_EQ(command.status, 200);
  auto parsed = mdm::parse_command(*plist_to_json(command.body));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->command_uuid, *uuid);
  EXPECT_EQ(parsed->request_type, "ProfileList");
  EXPECT_EQ(server_->device("U2")->find_command(*uuid)->status, kCommandSent);
  // A report for a command never sent is ignored; the queued one comes again.
  http::Response resend =
      put("/connect", Json{{"UDID", "U2"}, {"Status", "Acknowledged"}, {"CommandUUID", "NOT-OURS"}},
          mdm::kCommandContentType);
  EXPECT_NE(resend.body.find(*uuid), std::string::npos);
  http::Response done = put("/connect",
                            Json{{"UDID", "U2"},
                                 {"Status", "Acknowledged"},
                                 {"CommandUUID", *uuid},
                                 {"ProfileList", Json::array()}},
                            mdm::kCommandContentType);
  EXPECT_TRUE(done.body.empty());
  EXPECT_EQ(server_->device("U2")->find_command(*uuid)->status, mdm::kStatusAcknowledged);
}

TEST(MdmAdminJson, ACommandRoundTripsThroughTheAdminJson) {
  // What a client of the admin API posts for a command reads back as that command, <data>
  // members (nested ones too) as {"$data": base64}.
  const Bytes nonce = {0x00, 0x01, 0xfe, 0xff};
  const mdm::MdmCommand info =
      mdm::make_device_information({"DevicePropertiesAttestation", "UDID"}, nonce);
  const Json json = admin_command_to_json(info);
  EXPECT_EQ(json["fields"]["DeviceAttestationNonce"], (Json{{"$data", base64_encode(nonce)}}));
  auto back = admin_command_from_json(json);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->request_type, info.request_type);
  EXPECT_EQ(back->fields, info.fields);
  const mdm::MdmCommand profile = mdm::make_install_profile("<plist>profile</plist>");
  auto profile_back = admin_command_from_json(admin_command_to_json(profile));
  ASSERT_TRUE(profile_back.ok()) << profile_back.error().detail;
  EXPECT_EQ(profile_back->fields, profile.fields);
  const Json settings = Json::array({Json{{"Blob", plist_data(nonce)}}});
  const mdm::MdmCommand nested{"", "Settings", Json{{"Settings", settings}}};
  auto nested_back = admin_command_from_json(admin_command_to_json(nested));
  ASSERT_TRUE(nested_back.ok()) << nested_back.error().detail;
  EXPECT_EQ(nested_back->fields, nested.fields);
}

TEST_F(MdmWireTest, AdminApiAndDevicesJson) {
  MdmServerConfig config = base_config();
  config.admin_token = "s3cret";
  start_server(config);
  ASSERT_EQ(put("/checkin", authenticate("U3", server_->config().topic)).status, 200);
  auto c = client();
  const std::string url = server_->base_url() + "/admin/devices/U3/commands";
  const std::string body =
      R"({"request_type": "DeviceInformation", "fields": {"Queries": ["DevicePropertiesAttestation"]}, "fresh_nonce": true})";
  auto refused = c.request("POST", url, {{"content-type", "application/json"}}, body);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401);
  const http::Headers auth = {{"content-type", "application/json"},
                              {"authorization", "Bearer s3cret"}};
  auto created = c.request("POST", url, auth, body);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string uuid = (*parse_json(created->body))["command_uuid"];
  const MdmCommandRecord* record = nullptr;
  auto d = server_->device("U3");
  record = d->find_command(uuid);
  ASSERT_NE(record, nullptr);
  ASSERT_TRUE(record->attestation_nonce.has_value());
  EXPECT_EQ(record->attestation_nonce->size(), 32u);

  auto with_data =
      c.request("POST", url, auth,
                R"({"request_type": "InstallProfile", "fields": {"Payload": {"$data": "YWJj"}}})");
  ASSERT_TRUE(with_data.ok());
  ASSERT_EQ(with_data->status, 201);
  const std::string data_uuid = (*parse_json(with_data->body))["command_uuid"];
  EXPECT_EQ(*plist_bytes(server_->device("U3")->find_command(data_uuid)->command.fields, "Payload"),
            to_bytes("abc"));

  for (const char* bad :
       {"not json", R"({"fields": {}})", R"({"request_type": "ProfileList", "fresh_nonce": true})",
        R"({"request_type": "X", "fields": {"a": {"$data": 5}}})"}) {
    auto r = c.request("POST", url, auth, bad);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << bad;
  }
  auto acme_without_directory =
      c.request("POST", url, auth, R"({"request_type": "InstallProfile", "acme_profile": true})");
  ASSERT_TRUE(acme_without_directory.ok());
  EXPECT_EQ(acme_without_directory->status, 409);
  auto unknown =
      c.request("POST", server_->base_url() + "/admin/devices/NOPE/commands", auth, body);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 404);

  auto list = c.get(server_->base_url() + "/devices");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->status, 200);
  auto json = parse_json(list->body);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["schema"], "attestlab.mdm.devices/1");
  ASSERT_EQ((*json)["devices"].size(), 1u);
  EXPECT_EQ((*json)["devices"][0]["udid"], "U3");
  EXPECT_EQ((*json)["devices"][0]["commands"].size(), 2u);
  auto one = c.get(server_->base_url() + "/devices/U3");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->status, 200);
  EXPECT_TRUE((*parse_json(one->body))["commands"][0].contains("response"));
  auto missing = c.get(server_->base_url() + "/devices/NOPE");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
}

}  // namespace
}  // namespace attestlab::sim

namespace attestlab::sim {
namespace {

// Responses bigger than one TLS record (16 KiB): a profile with a few certificates, or the
// device list of a small fleet. Fails while core/http_server.cpp writes header and body as
// two buffers through beast::ssl_stream (Boost 1.74), which loses the body of responses
// above 16 KiB; see the report of the MDM work.
TEST_F(MdmWireTest, ResponsesLargerThanOneTlsRecord) {
  start_server();
  auto agent = enrolled_agent(fleet_.device(DeviceKind::IPhone));
  Json big = make_configuration_profile("com.example.big", "Big profile");
  for (int i = 0; i < 12; ++i) {
    big["PayloadContent"].push_back(
        make_root_certificate_payload(random_bytes(2000), "root " + std::to_string(i)));
  }
  auto uuid = server_->enqueue(agent->device_id(), mdm::make_install_profile(profile_to_xml(big)));
  ASSERT_TRUE(uuid.ok());
  auto ran = agent->run_until_idle();
  ASSERT_TRUE(ran.ok()) << ran.error().detail;
  EXPECT_EQ(status_of(*agent, *uuid), mdm::kStatusAcknowledged);

  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(
        put("/checkin", authenticate("BULK-" + std::to_string(i), server_->config().topic)).status,
        200);
  }
  auto c = client();
  auto list = c.get(server_->base_url() + "/devices");
  ASSERT_TRUE(list.ok()) << list.error().detail;
  auto json = parse_json(list->body);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["devices"].size(), 61u);
}

}  // namespace
}  // namespace attestlab::sim

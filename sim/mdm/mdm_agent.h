// attestlab's MDM emulator, device side: the MDM client of one simulated Apple device,
// speaking Apple's MDM protocol (PROTOCOL.md §4) to any MDM server over HTTPS.
//
// Enrollment (enroll()): GET the enrollment profile, check it as a device would
// (lint_profile errors refuse it), run an ACME enrollment first when the com.apple.mdm
// payload's IdentityCertificateUUID names an ACMECertificate payload of the profile, then
// check in: Authenticate with the device's SELF-REPORTED properties (Device::self_report(),
// so a lying device lies here), then TokenUpdate with a random push token that is
// registered with the PushService.
//
// A polling session (run_until_idle()): report Idle, then execute whatever command the
// server answers and report its result, until the server answers with an empty body.
//   InstallProfile     parse (plain or signed), refuse on lint errors, trust the profile's
//                      com.apple.security.root certificates (added to acme.trust_ca_pem_file
//                      for its enrollments), run the device's ACME client
//                      (sim/device/device_acme.h) for each ACMECertificate payload →
//                      Acknowledged, or Error with an ErrorChain (the profile is then not
//                      installed and identities enrolled for it are removed). A profile
//                      with the PayloadIdentifier of an installed one replaces it.
//   RemoveProfile      by Identifier; removes its keychain identities.
//   ProfileList        every installed profile (the enrollment profile included).
//   CertificateList    the keychain's identities (CommonName, Data, IsIdentity).
//   DeviceInformation  the requested self-reported facts, and for DevicePropertiesAttestation
//                      the device's AttestationService answer for DeviceAttestationNonce
//                      (freshness SHA-256(nonce); inside Apple's 7-day throttle the cached
//                      attestation, old freshness included). A device that cannot attest
//                      leaves the query out, as Apple's do; an attestation-service failure
//                      (outage) → Error.
//   anything else      CommandFormatError (as is a command missing a required key).
// While locked (set_locked(true)) the request types in MdmAgentOptions::deferred_while_locked
// are answered NotNow; unlocking wakes the agent, whose next Idle makes the server resend.
//
// Threads: either drive it step by step from one thread (enroll(), run_until_idle():
// deterministic), or start() a background thread that waits for a push (or
// poll_interval) and runs a session each time. Every method is thread-safe; sessions are
// serialized. The agent owns its Device, AttestationService and DeviceKeychain; use
// with_device() to change them (it waits for a running command to finish).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/http.h"
#include "core/json.h"
#include "core/result.h"
#include "sim/device/attestation_service.h"
#include "sim/device/device.h"
#include "sim/device/device_acme.h"
#include "sim/device/device_keychain.h"
#include "sim/mdm/mdm_messages.h"
#include "sim/mdm/mdm_push.h"

namespace attestlab::sim {

// ErrorChain entries the agent reports. The domain names are Apple's; the codes are
// attestlab's (Apple documents few of them).
namespace mdm_agent_errors {
inline constexpr const char* kProfileDomain = "MCProfileErrorDomain";
inline constexpr std::int64_t kProfileUnreadable = 1000;  // not a plist / signed profile
inline constexpr std::int64_t kProfileInvalid = 1001;  // lint_profile errors (first one described)
inline constexpr std::int64_t kProfileNotInstalled =
    1002;  // RemoveProfile of an unknown identifier
inline constexpr const char* kInstallationDomain = "MCInstallationErrorDomain";
inline constexpr std::int64_t kInstallationFailed =
    4001;  // outermost entry of every install failure
inline constexpr std::int64_t kInstallationNotAllowed =
    4002;  // an MDM payload via InstallProfile, removing the enrollment
inline constexpr const char* kAcmeDomain =
    "ACMECertificateErrorDomain";  // code: see acme_error_code()
inline constexpr const char* kAttestationDomain = "DeviceAttestationErrorDomain";
inline constexpr std::int64_t kAttestationServiceError = 1;  // Apple answered with an error
inline constexpr std::int64_t kAttestationUnreachable = 2;   // Apple could not be reached
inline constexpr std::int64_t kAttestationBadNonce = 3;      // DeviceAttestationNonce over 32 bytes
inline constexpr std::int64_t kAttestationOther = 4;
// 1 + the index of the failed step in enroll_step order (payload = 1 … install = 11).
std::int64_t acme_error_code(const std::string& failed_step);
}  // namespace mdm_agent_errors

struct MdmAgentOptions {
  std::string enroll_url;         // e.g. https://127.0.0.1:8443/mdm/enroll
  std::string trust_ca_pem_file;  // TLS trust for the MDM server; empty = system store
  std::chrono::milliseconds http_timeout{10000};
  std::shared_ptr<PushService> push;  // nullptr: the background thread only polls
  // Background thread: how long to wait for a push before polling anyway.
  std::chrono::milliseconds poll_interval{30000};
  // How ACMECertificate payloads are enrolled: TLS trust for the ACME server, faults,
  // clock, apple_ca (sim/device/device_acme.h).
  EnrollOptions acme;
  AttestationService::Options attestation;
  std::set<std::string> deferred_while_locked = {mdm::kInstallProfile, mdm::kRemoveProfile,
                                                 mdm::kCertificateList};
  std::string device_name;  // DeviceName in check-in; empty = "<ProductName> <serial>"
  std::size_t max_commands_per_session = 256;  // guards against a server that never stops
  std::string user_agent = "attestlab-mdm-agent/0.1";
};

// One command as the agent executed it.
struct ExecutedCommand {
  std::string command_uuid;
  std::string request_type;
  std::string status;  // what it reported
  std::vector<mdm::MdmError> error_chain;
  std::vector<EnrollmentResult> acme;      // InstallProfile: one per ACMECertificate payload tried
  std::optional<Attestation> attestation;  // DeviceInformation: the attestation sent
  std::int64_t executed_at = 0;
};

struct InstalledProfile {
  std::string identifier, uuid, display_name;
  Json profile;                                 // as parsed (plist JSON)
  std::vector<std::string> acme_payload_uuids;  // identities it owns in the keychain
  bool mdm_enrollment = false;
  std::int64_t installed_at = 0;
};

class MdmAgent {
 public:
  MdmAgent(Device device, std::shared_ptr<AppleAttestationServers> apple, MdmAgentOptions options);
  ~MdmAgent();  // stop()s the thread
  MdmAgent(const MdmAgent&) = delete;
  MdmAgent& operator=(const MdmAgent&) = delete;

  // Fetches the enrollment profile and checks in (Authenticate, TokenUpdate). Errors:
  // Error("connection") for transport failures; Error("unauthorized", ...) when the server
  // refuses a check-in (status set); Error("malformed", ...) for a profile the device refuses;
  // an identity enrollment's failure as EnrollmentResult::error.
  Result<void> enroll();
  bool enrolled() const;

  // One polling session (see the file comment); returns how many commands were executed.
  // Error when not enrolled, on transport failure, on a non-200 answer (401 also marks the
  // agent unenrolled), or when the server sends max_commands_per_session commands.
  Result<std::size_t> run_until_idle();

  // CheckOut check-in; the agent is unenrolled afterwards (even when the server refused).
  Result<void> check_out();

  // Background thread: enrolls if needed, then runs a session at start, on every push or
  // wake(), and every poll_interval. stop() joins it. Errors are kept in last_error().
  void start();
  void stop();
  bool running() const;
  void wake();

  // The "device is locked" knob (see deferred_while_locked). Unlocking wakes the agent.
  void set_locked(bool locked);
  bool locked() const;

  // What the device reports as its id on the command channel (UDID or EnrollmentID), fixed
  // at Authenticate; empty before.
  std::string device_id() const;
  std::string server_url() const;  // the ServerURL of the enrollment profile
  std::string check_in_url() const;

  std::vector<ExecutedCommand> history() const;
  std::vector<InstalledProfile> profiles() const;
  std::vector<KeychainIdentity> identities() const;
  std::optional<Error> last_error() const;
  std::uint64_t sessions() const;  // completed polling sessions

  // Runs fn with exclusive access to the device state (never concurrently with a command).
  void with_device(const std::function<void(Device&, AttestationService&, DeviceKeychain&)>& fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attestlab::sim

// Internals of MdmAgent shared by its mdm_agent*.cpp files. Not part of the public API
// (mdm_agent.h is).
//
// MdmAgent::Impl holds the protocol side: the HTTP client, check-in (mdm_agent_checkin.cpp)
// and the polling session that dispatches commands (mdm_agent_session.cpp). The commands
// themselves are functions of a CommandContext, which gives them the device and the
// records but not the connection: profile commands in mdm_agent_profiles.cpp, device
// queries in mdm_agent_queries.cpp, and the ACME enrollments profiles trigger in
// mdm_agent_identities.cpp.
//
// Lock order: MdmAgent::Impl::session_mutex, then AgentDevice::mutex, then
// AgentRecords::mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/http.h"
#include "core/json.h"
#include "core/result.h"
#include "sim/device/acme_payload.h"
#include "sim/device/attestation_service.h"
#include "sim/device/device.h"
#include "sim/device/device_acme.h"
#include "sim/device/device_keychain.h"
#include "sim/mdm/mdm_agent.h"
#include "sim/mdm/mdm_messages.h"
#include "sim/mdm/mdm_push.h"
#include "sim/mdm/profile.h"

namespace attestlab::sim {
namespace mdm_agent_detail {

// The start of an HTTP answer's body, for error details.
std::string body_excerpt(const std::string& body);

// What executing one command produced: the report to send and the history entry.
struct Outcome {
  std::string status = mdm::kStatusAcknowledged;
  std::vector<mdm::MdmError> error_chain;
  Json results = Json::object();
  ExecutedCommand executed;
};
// CommandFormatError with why as the ErrorChain.
Outcome format_error(const std::string& why);
// Error with the chain.
Outcome failed(std::vector<mdm::MdmError> chain);

// The simulated device the agent drives; mutex serializes every use of it.
struct AgentDevice {
  AgentDevice(Device d, std::shared_ptr<AppleAttestationServers> apple,
              AttestationService::Options options)
      : device(std::move(d)), attestation(std::move(apple), options) {}

  mutable std::mutex mutex;
  Device device;
  AttestationService attestation;
  DeviceKeychain keychain;
};

// What the agent remembers of its enrollment and its commands; mutex guards every member.
struct AgentRecords {
  mutable std::mutex mutex;
  bool enrolled = false;
  std::string reported_udid, reported_enrollment_id;
  std::string server_url, check_in_url, topic;
  Bytes push_token;
  std::string push_magic;
  std::vector<ExecutedCommand> history;
  std::vector<InstalledProfile> profiles;
  std::optional<Error> last_error;
  std::uint64_t sessions = 0;

  // mutex held: installs the profile, replacing one with the same PayloadIdentifier.
  void put_profile(InstalledProfile profile);
};

// A profile as installed now (no identities yet).
InstalledProfile installed_profile(const ProfileSummary& summary, Json profile, std::int64_t now);

// What a command may use: the device and the records, never the connection.
struct CommandContext {
  const MdmAgentOptions& options;
  AgentDevice& device;
  AgentRecords& records;
  const AppleAttestationServers& apple;  // its clock

  std::int64_t now() const { return apple.now(); }
};

// The commands (see the file comment of mdm_agent.h). Each takes the locks it needs.
Outcome install_profile(CommandContext& ctx, const mdm::MdmCommand& command);
Outcome remove_profile(CommandContext& ctx, const mdm::MdmCommand& command);
Outcome profile_list(CommandContext& ctx);
Outcome certificate_list(CommandContext& ctx);
Outcome device_information(CommandContext& ctx, const mdm::MdmCommand& command);

// --- the ACME enrollments a profile triggers (mdm_agent_identities.cpp) ----------------------

// The enrollments of a profile's ACMECertificate payloads, in order, up to the first failure.
struct IdentityEnrollment {
  std::vector<EnrollmentResult> attempts;  // one per payload tried; a failure is the last
  std::vector<std::string> payload_uuids;  // the identities in the keychain afterwards
  bool ok() const { return attempts.empty() || attempts.back().ok(); }
};
// device.mutex held. Enrolls each payload with the device's ACME client; on a failure the
// identities enrolled before it are removed again, so nothing of a failed installation
// stays behind.
IdentityEnrollment enroll_identities(AgentDevice& device, const std::vector<AcmePayload>& payloads,
                                     const EnrollOptions& options);

// The com.apple.security.root certificates of a profile (DER), which a device installs
// before anything else in the profile uses the network.
std::vector<Bytes> profile_trust_anchors(const Json& profile);

// The TLS trust for one profile's ACME enrollments: the configured PEM file, plus the
// profile's root payloads written next to it into a temporary bundle that lives as long
// as this object.
class TrustFile {
 public:
  TrustFile(const std::string& configured, const std::vector<Bytes>& anchors);
  ~TrustFile();
  TrustFile(const TrustFile&) = delete;
  TrustFile& operator=(const TrustFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temporary_;
};

}  // namespace mdm_agent_detail

struct MdmAgent::Impl {
  Impl(Device d, std::shared_ptr<AppleAttestationServers> servers, MdmAgentOptions o);

  MdmAgentOptions options;
  std::shared_ptr<AppleAttestationServers> apple;

  std::mutex session_mutex;  // one protocol exchange sequence at a time; guards client
  std::unique_ptr<http::Client> client;
  mdm_agent_detail::AgentDevice device;
  mdm_agent_detail::AgentRecords records;

  std::atomic<bool> locked{false};
  std::shared_ptr<WakeSignal> wake = std::make_shared<WakeSignal>();
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};

  std::int64_t now() const { return apple->now(); }
  // Keeps e as last_error and returns it.
  Error remember(Error e);
  Result<http::Response> put_plist(const std::string& url, const Json& body,
                                   const char* content_type);
  // records.mutex held: a check-in message of this type from the enrolled device.
  mdm::CheckinMessage checkin_base(const std::string& type) const;

  // Check-in (mdm_agent_checkin.cpp).
  Result<void> enroll();
  Result<void> check_out();

  // Polling (mdm_agent_session.cpp).
  Result<std::size_t> run_until_idle();
  mdm_agent_detail::Outcome execute(const mdm::MdmCommand& command);
  void loop();  // the background thread
};

}  // namespace attestlab::sim

// attestlab's MDM emulator, server side: Apple's MDM protocol over HTTPS with plist bodies
// (PROTOCOL.md §4), enough of it for Managed Device Attestation, strict enough that an
// Apple-conformant device agent from outside this repository enrolls through it.
//
// Endpoints (under /mdm):
//   GET  /mdm/enroll    the enrollment profile (application/x-apple-aspen-config): one
//                       com.apple.mdm payload with ServerURL …/mdm/connect, CheckInURL
//                       …/mdm/checkin, Topic, AccessRights 8191, SignMessage false.
//   PUT  /mdm/checkin   MessageType Authenticate (creates or resets the device record),
//                       TokenUpdate (push token; the first one triggers the blueprint),
//                       CheckOut (removes the device). UserAuthenticate → 410 (no user
//                       channel); other types → 400; unknown device or wrong Topic → 401.
//   PUT  /mdm/connect   the device's report (Idle or the status of a command) → the next
//                       queued command plist {CommandUUID, Command: {RequestType, …}}, or
//                       200 with an empty body when nothing is queued. Unknown device → 401.
//   GET  /mdm/devices   JSON, see MdmServer::devices_json(); /mdm/devices/{id} one device
//                       with the command responses.
//   POST /mdm/admin/devices/{id}/commands   JSON, queues a command (see admin_command_from_json)
//   POST /mdm/admin/devices/{id}/push       wakes the device
// Devices are identified by the UDID (EnrollmentID under User Enrollment) in the message
// bodies: the emulator does not authenticate devices by an identity certificate (mTLS or
// Mdm-Signature), so it is for test networks only.
//
// Command queue, per device, in order. A command is delivered when the device polls and
// stays queued until the device answers Acknowledged, Error or CommandFormatError. NotNow
// leaves it queued but skipped for the rest of that polling session: it is delivered again
// after the device's next Idle report (as NanoMDM does), which a device sends when the
// condition that made it refuse (a locked screen) is gone.
//
// Blueprint (config.enroll_blueprint): when a device completes Authenticate + its first
// TokenUpdate, the server queues, unasked,
//   1. InstallProfile with the ACME certificate profile (when config.acme_directory_url is
//      set): AcmePayload::for_attestation(directory, ClientIdentifier = the device's serial
//      or UDID per config.client_identifier; EnrollmentID under User Enrollment), and
//   2. DeviceInformation with Queries config.attestation_queries (DevicePropertiesAttestation
//      and the self-reported facts) and a fresh random 32-byte DeviceAttestationNonce,
// and pushes. Every DeviceInformation answer carrying DevicePropertiesAttestation is judged
// by assess_device_attestation() against the nonce of that command, the check-in identity
// and the self-reported facts; the device keeps the verdict of the latest answer. An Error
// answer leaves an earlier verdict in place and adds its ErrorChain to the reasons (the
// verdict stays unknown when there was none).
//
// Thread-safety: start() returns a running server; every method may be called from any
// thread. stop() is idempotent, joins the I/O threads and is called by the destructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/http.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"
#include "sim/mdm/mdm_attestation.h"
#include "sim/mdm/mdm_messages.h"
#include "sim/mdm/mdm_push.h"

namespace attestlab::sim {

enum class ClientIdentifierSource { Serial, Udid };
const char* to_string(ClientIdentifierSource source);  // "serial" | "udid"

struct MdmServerConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0 = any free port (see MdmServer::port())
  // TLS identity, PEM. Empty: a self-signed P-256 certificate for listen_host, 127.0.0.1
  // and localhost is made at start (MdmServer::tls_certificate_pem()).
  std::string tls_cert_pem, tls_key_pem;
  int io_threads = 2;
  // Host put into the enrollment profile's URLs; empty = listen_host.
  std::string public_host;

  std::string topic = "com.apple.mgmt.External.2f1c55e6-attestlab";
  // Admin API (POST /mdm/admin/...): when non-empty, requests must carry
  // "Authorization: Bearer <admin_token>". GET /mdm/devices stays open.
  std::string admin_token;

  // The ACME certificate profile of the blueprint. Empty directory = not sent.
  std::string acme_directory_url;
  ClientIdentifierSource client_identifier = ClientIdentifierSource::Serial;
  std::int64_t acme_key_size = 384;
  std::vector<std::string> acme_wifi_ssids;   // Wi-Fi payloads using the ACME identity
  std::vector<std::string> acme_vpn_servers;  // IKEv2 payloads using the ACME identity
  // Root certificates (DER) put into the ACME profile as com.apple.security.root payloads,
  // so devices trust a private ACME server's TLS certificate (`mdm serve --trust-ca`).
  std::vector<Bytes> acme_trust_anchors;
  std::string acme_profile_identifier = "com.attestlab.mdm.acme-identity";

  // MDM-side attestation check.
  std::vector<pki::Certificate> attestation_roots;
  MdmAttestationPolicy policy;
  std::vector<std::string> attestation_queries = {mdm::kQueryDevicePropertiesAttestation,
                                                  mdm::kQueryUdid,
                                                  mdm::kQuerySerialNumber,
                                                  mdm::kQueryOsVersion,
                                                  mdm::kQueryBuildVersion,
                                                  mdm::kQueryProductName,
                                                  mdm::kQueryModel};

  bool enroll_blueprint = true;
  std::shared_ptr<PushService> push;   // nullptr: no pushes (devices poll)
  std::shared_ptr<const Clock> clock;  // nullptr: SystemClock
  std::size_t max_devices = 100000;
  std::size_t max_queued_commands = 1000;  // per device
};

// Status of a queued command before the device answered.
inline constexpr const char* kCommandQueued = "Queued";
inline constexpr const char* kCommandSent = "Sent";

struct MdmCommandRecord {
  mdm::MdmCommand command;
  std::string status = kCommandQueued;  // Queued, Sent, or the device's last Status
  std::vector<mdm::MdmError> error_chain;
  Json response = Json::object();  // the report's results (QueryResponses, ProfileList, ...)
  std::optional<Bytes> attestation_nonce;  // DeviceAttestationNonce it carried
  std::int64_t queued_at = 0, sent_at = 0, answered_at = 0;
  int deliveries = 0;
  int not_now_count = 0;
  bool skipped_this_session = false;  // NotNow since the last Idle

  // Acknowledged, Error or CommandFormatError.
  bool finished() const;
  // {"command_uuid", "request_type", "status", "error_chain": [...], "deliveries", ...};
  // with_response adds "response" (data shown as base64).
  Json to_json(bool with_response = false) const;
};

struct MdmDeviceRecord {
  std::string device_id;  // UDID, or EnrollmentID under User Enrollment
  std::string udid, serial, enrollment_id;
  bool user_enrollment = false;
  mdm::CheckinMessage authenticate;  // the Authenticate message as received
  DeviceClaims claims;               // check-in identity + latest self-reported facts
  Bytes push_token;
  std::string push_magic;
  bool token_received = false;  // at least one TokenUpdate
  std::int64_t authenticated_at = 0, last_seen_at = 0;
  AttestationAssessment attestation;  // verdict Unknown until an answer came
  std::int64_t attestation_checked_at = 0;
  std::string acme_client_identifier;      // ClientIdentifier of the blueprint's ACME profile
  std::vector<MdmCommandRecord> commands;  // every command, in queue order

  const MdmCommandRecord* find_command(const std::string& uuid) const;
  // Commands of one RequestType, in queue order.
  std::vector<const MdmCommandRecord*> commands_of(const std::string& request_type) const;
  // {"device_id", "udid", "serial", "enrollment_id", "enrollment_type": "device"|"user",
  //  "product_name", "os_version", "token_received", "attestation": {"verdict", "reasons",
  //  "attested", "checked_at"}, "commands": [MdmCommandRecord::to_json()]}
  Json to_json(bool with_responses = false) const;
};

// Builds a command from the admin API's JSON:
//   {"request_type": "InstallProfile" | "RemoveProfile" | "ProfileList" | "CertificateList"
//                    | "DeviceInformation" | any other RequestType,
//    "fields": {Command keys; {"$data": "<base64>"} stands for a plist <data>},
//    "acme_profile": true,   InstallProfile: Payload = the server's ACME profile for the device
//    "fresh_nonce": true}    DeviceInformation: add a random 32-byte DeviceAttestationNonce
// The acme_profile member is resolved by the server; this function only converts fields and
// adds the nonce. Error("malformed") on a bad shape.
Result<mdm::MdmCommand> admin_command_from_json(const Json& body);
// The admin API's JSON for a command (what a client of the API posts): request_type and the
// fields, each plist <data> as {"$data": "<base64>"}; admin_command_from_json reads it back
// (with a new CommandUUID).
Json admin_command_to_json(const mdm::MdmCommand& command);

class MdmServer {
 public:
  static Result<std::unique_ptr<MdmServer>> start(MdmServerConfig config);
  ~MdmServer();
  MdmServer(const MdmServer&) = delete;
  MdmServer& operator=(const MdmServer&) = delete;

  std::uint16_t port() const;
  std::string base_url() const;                    // https://HOST:PORT/mdm
  std::string enroll_url() const;                  // base_url() + "/enroll"
  const std::string& tls_certificate_pem() const;  // what device agents must trust
  const MdmServerConfig& config() const;

  // The enrollment profile served at /mdm/enroll (XML).
  std::string enrollment_profile_xml() const;
  // The ACME certificate profile the blueprint would send this device (XML), with a fresh
  // ACME PayloadUUID. Error("malformed", "unknown device ...") for an unknown device.
  Result<std::string> acme_profile_for(const std::string& device_id) const;

  // Queues a command for a device and pushes. Returns its CommandUUID (a fresh one when the
  // command has none). Error("malformed") for an unknown device or a full queue.
  Result<std::string> enqueue(const std::string& device_id, mdm::MdmCommand command);
  // Queues InstallProfile with acme_profile_for(device_id).
  Result<std::string> enqueue_acme_profile(const std::string& device_id);
  // Queues DeviceInformation with config().attestation_queries and, when with_nonce, a fresh
  // random 32-byte DeviceAttestationNonce.
  Result<std::string> request_attestation(const std::string& device_id, bool with_nonce = true);
  // Pushes to the device's token; false without push service, token or registered device.
  bool push(const std::string& device_id);

  std::optional<MdmDeviceRecord> device(const std::string& device_id) const;
  std::vector<MdmDeviceRecord> devices() const;
  std::size_t device_count() const;
  // {"schema": "attestlab.mdm.devices/1", "devices": [MdmDeviceRecord::to_json()]} by device id.
  Json devices_json(bool with_responses = false) const;

  // Waits until pred() holds (re-checked whenever the server's state changes) or the
  // timeout passes; returns pred()'s last value. pred runs without the server's lock.
  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) const;

  // The request handler behind the HTTP server (tests may call it directly).
  http::Response handle(const http::Request& request);

  void stop();

 private:
  MdmServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A self-signed P-256 TLS certificate (valid from an hour ago for a year) for the hosts:
// IP addresses become IP SANs, names DNS SANs. PEM {certificate, key}.
Result<std::pair<std::string, std::string>> make_self_signed_tls(
    const std::vector<std::string>& hosts, std::int64_t now);

}  // namespace attestlab::sim

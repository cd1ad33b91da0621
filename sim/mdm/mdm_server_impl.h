// Internals of MdmServer shared by its mdm_server*.cpp files: the server's state and
// endpoints (MdmServer::Impl), and the pieces its endpoints are made of, each a pure
// function of a device record: the command queue, the blueprint, the judging of
// DeviceInformation answers. Not part of the public API (mdm_server.h is). The record
// functions take no lock: MdmServer::Impl calls them with its mutex held.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/json.h"
#include "core/result.h"
#include "sim/mdm/mdm_messages.h"
#include "sim/mdm/mdm_server.h"

namespace attestlab::sim {
namespace mdm_server_detail {

// Size of the DeviceAttestationNonce the server makes (Apple's maximum).
inline constexpr std::size_t kAttestationNonceSize = 32;

// Plain-text and JSON answers (mdm_server_routes.cpp).
http::Response text_response(int status, const std::string& text);
http::Response json_response(int status, const Json& body);

// --- the command queue of one device (mdm_command_queue.cpp) ---------------------------------

// Appends the command (given a fresh CommandUUID when it has none) and returns its
// CommandUUID. Error("malformed") when max_queued commands are still open or the
// CommandUUID is already in the queue.
Result<std::string> enqueue_command(MdmDeviceRecord& device, mdm::MdmCommand command,
                                    std::size_t max_queued, std::int64_t now);
// Applies a report to the queue: Idle starts a new polling session (NotNow skips end);
// any other status answers the open command it names. Returns that command when the
// answer was not NotNow (the caller judges DeviceInformation answers), else nullptr. A
// report for a command the queue never sent, or already closed, changes nothing.
const MdmCommandRecord* record_report(MdmDeviceRecord& device, const mdm::CommandReport& report,
                                      std::int64_t now);
// The next command to deliver (open and not skipped in this session), marked Sent; nullptr
// when there is none.
const mdm::MdmCommand* deliver_next_command(MdmDeviceRecord& device, std::int64_t now);

// --- the blueprint (mdm_server_blueprint.cpp) -------------------------------------------------

// The ACME ClientIdentifier for the device: EnrollmentID under User Enrollment, else the
// serial or UDID as config.client_identifier says (the UDID when there is no serial).
std::string client_identifier_for(const MdmServerConfig& config, const MdmDeviceRecord& device);
// The ACME certificate profile for the device (XML), with a fresh ACME PayloadUUID.
// Error("malformed") when config has no ACME directory URL.
Result<std::string> acme_profile_xml(const MdmServerConfig& config, const MdmDeviceRecord& device);
// DeviceInformation with config.attestation_queries and, when with_nonce, a fresh nonce.
mdm::MdmCommand attestation_command(const MdmServerConfig& config, bool with_nonce);
// Queues what a newly enrolled device gets unasked (see mdm_server.h).
void apply_blueprint(const MdmServerConfig& config, MdmDeviceRecord& device, std::int64_t now);

// --- DeviceInformation answers (mdm_server_attestation.cpp) -----------------------------------

// Takes the answered DeviceInformation command into the device record: the reported OS
// version, and when it asked for DevicePropertiesAttestation the new verdict (see the
// file comment of mdm_server.h).
void record_device_information(const MdmServerConfig& config, MdmDeviceRecord& device,
                               const MdmCommandRecord& command, std::int64_t now);

}  // namespace mdm_server_detail

struct MdmServer::Impl {
  MdmServerConfig config;
  std::shared_ptr<const Clock> clock;
  std::unique_ptr<http::Server> http;
  std::string cert_pem;
  std::string base_url;
  std::string enrollment_xml;

  mutable std::mutex mutex;                 // guards version and devices
  mutable std::condition_variable changed;  // notified on every version change
  std::uint64_t version = 0;
  std::map<std::string, MdmDeviceRecord> devices;

  // Where a push goes: the device's token and PushMagic.
  using PushTarget = std::pair<Bytes, std::string>;

  std::int64_t now() const { return clock->now(); }

  // --- with mutex held (mdm_server.cpp) ---
  // Records a state change for wait_until().
  void bump();
  // The push target when the device can be woken.
  std::optional<PushTarget> push_target(const MdmDeviceRecord& device) const;
  Result<std::string> queue(MdmDeviceRecord& device, mdm::MdmCommand command);

  // --- without mutex held (mdm_server.cpp) ---
  // Pushes outside the lock, so a slow push service never holds up the server.
  void deliver_push(const std::optional<PushTarget>& target) const;
  std::optional<MdmDeviceRecord> device(const std::string& id) const;
  bool push(const std::string& id) const;
  Json devices_json(bool with_responses) const;

  // --- endpoints (mdm_server_routes.cpp; on_admin in mdm_server_admin.cpp) ---
  http::Response handle(const http::Request& request);
  http::Response on_checkin(const http::Request& request);
  http::Response on_connect(const http::Request& request);
  http::Response on_admin(const http::Request& request, const std::string& device_id,
                          const std::string& action);
};

}  // namespace attestlab::sim

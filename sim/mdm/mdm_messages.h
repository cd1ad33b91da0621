// The Apple MDM protocol's messages (PROTOCOL.md §4), as typed structs with their plist
// form (a JSON tree, see sim/mdm/mdm_plist.h):
//
//   check-in endpoint (PUT, Content-Type application/x-apple-aspen-mdm-checkin):
//     CheckinMessage  MessageType Authenticate | TokenUpdate | CheckOut
//   command endpoint (PUT, Content-Type application/x-apple-aspen-mdm):
//     device → server  CommandReport  {UDID | EnrollmentID, Status, CommandUUID,
//                                      ErrorChain | results...}
//     server → device  MdmCommand     {CommandUUID, Command: {RequestType, ...}}
//                      or an empty 200 body when nothing is queued.
//
// Key names and types are Apple's (Device Management documentation). Parsing is strict
// about the types of the keys it models (a Token that is not <data> is malformed) and
// keeps every other key, so nothing a real device sends is lost. Pure functions and
// value types; thread-safe. Nothing throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::sim::mdm {

inline constexpr const char* kCheckinContentType = "application/x-apple-aspen-mdm-checkin";
inline constexpr const char* kCommandContentType = "application/x-apple-aspen-mdm";
inline constexpr const char* kProfileContentType = "application/x-apple-aspen-config";

// Check-in MessageType values.
inline constexpr const char* kAuthenticate = "Authenticate";
inline constexpr const char* kTokenUpdate = "TokenUpdate";
inline constexpr const char* kCheckOut = "CheckOut";

// Status values a device reports on the command endpoint.
inline constexpr const char* kStatusIdle = "Idle";
inline constexpr const char* kStatusAcknowledged = "Acknowledged";
inline constexpr const char* kStatusError = "Error";
inline constexpr const char* kStatusCommandFormatError = "CommandFormatError";
inline constexpr const char* kStatusNotNow = "NotNow";
bool is_known_status(std::string_view status);

// RequestType values attestlab's MDM sends and its device agent executes.
inline constexpr const char* kInstallProfile = "InstallProfile";
inline constexpr const char* kRemoveProfile = "RemoveProfile";
inline constexpr const char* kProfileList = "ProfileList";
inline constexpr const char* kCertificateList = "CertificateList";
inline constexpr const char* kDeviceInformation = "DeviceInformation";

// DeviceInformation queries.
inline constexpr const char* kQueryDevicePropertiesAttestation = "DevicePropertiesAttestation";
inline constexpr const char* kQueryUdid = "UDID";
inline constexpr const char* kQuerySerialNumber = "SerialNumber";
inline constexpr const char* kQueryOsVersion = "OSVersion";
inline constexpr const char* kQueryBuildVersion = "BuildVersion";
inline constexpr const char* kQueryProductName = "ProductName";
inline constexpr const char* kQueryModel = "Model";
inline constexpr const char* kQueryDeviceName = "DeviceName";
inline constexpr const char* kQueryEnrollmentId = "EnrollmentID";

// One check-in message. device_id() is what the MDM keys a device by: the UDID, or the
// EnrollmentID under User Enrollment.
struct CheckinMessage {
  std::string message_type;  // kAuthenticate | kTokenUpdate | kCheckOut | other
  std::string topic;
  std::string udid;           // empty under User Enrollment
  std::string enrollment_id;  // User Enrollment only
  // Authenticate: what the device says about itself.
  std::string serial_number, os_version, build_version, product_name, model, model_name,
      device_name;
  // TokenUpdate: how to wake the device through APNs.
  Bytes token;
  std::string push_magic;
  std::optional<Bytes> unlock_token;
  std::optional<bool> awaiting_configuration;
  Json extra = Json::object();  // every key not modelled above, as received

  const std::string& device_id() const { return udid.empty() ? enrollment_id : udid; }
  bool user_enrollment() const { return udid.empty() && !enrollment_id.empty(); }
  bool operator==(const CheckinMessage&) const = default;
};

// Plist dict with only the keys that are set (strings non-empty, Token when non-empty).
Json checkin_to_plist(const CheckinMessage& message);
// Error("malformed", reason) when MessageType is missing, neither UDID nor EnrollmentID is
// a non-empty string, a modelled key has the wrong plist type, or a TokenUpdate lacks
// Token / PushMagic.
Result<CheckinMessage> parse_checkin(const Json& dict);

// One ErrorChain entry, outermost error first.
struct MdmError {
  std::int64_t code = 0;
  std::string domain;
  std::string localized_description;
  std::string us_english_description;  // optional; written only when set
  bool operator==(const MdmError&) const = default;
};

// What a device sends to the command endpoint.
struct CommandReport {
  std::string udid;  // or enrollment_id under User Enrollment
  std::string enrollment_id;
  std::string status;        // kStatus*
  std::string command_uuid;  // empty for Idle
  std::vector<MdmError> error_chain;
  Json results = Json::object();  // every other key: QueryResponses, ProfileList, ...

  const std::string& device_id() const { return udid.empty() ? enrollment_id : udid; }
  bool operator==(const CommandReport&) const = default;
};

Json report_to_plist(const CommandReport& report);
// Error("malformed") when Status is missing or not a string, neither UDID nor EnrollmentID
// is present, a non-Idle report has no CommandUUID, or ErrorChain is not an array of dicts.
// An unknown Status string is kept (the server decides what to do with it).
Result<CommandReport> parse_report(const Json& dict);

// A command as the server sends it.
struct MdmCommand {
  std::string command_uuid;
  std::string request_type;
  Json fields = Json::object();  // the Command dict's keys other than RequestType

  bool operator==(const MdmCommand&) const = default;
};

Json command_to_plist(const MdmCommand& command);
// Error("malformed") when CommandUUID is missing, Command is not a dict, or RequestType
// is missing. Field contents are the executor's business.
Result<MdmCommand> parse_command(const Json& dict);

// Builders; each makes a fresh upper-case CommandUUID.
MdmCommand make_install_profile(std::string_view mobileconfig);  // Payload = the bytes as <data>
MdmCommand make_remove_profile(const std::string& profile_identifier);
MdmCommand make_profile_list();
MdmCommand make_certificate_list(bool managed_only = false);
// Queries as given; DeviceAttestationNonce only when set (Apple allows at most 32 bytes;
// the builder does not enforce it so scenarios can send a longer one).
MdmCommand make_device_information(const std::vector<std::string>& queries,
                                   const std::optional<Bytes>& attestation_nonce = std::nullopt);

// The ErrorChain as a plist array and back (entries that are not dicts are skipped).
Json error_chain_to_plist(const std::vector<MdmError>& chain);
std::vector<MdmError> parse_error_chain(const Json& array);
// "Domain code: description; ..." for logs and reasons.
std::string describe_error_chain(const std::vector<MdmError>& chain);

}  // namespace attestlab::sim::mdm

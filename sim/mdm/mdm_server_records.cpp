// The MDM server's device and command records: their status rules and JSON views.
#include "core/bytes.h"
#include "sim/mdm/mdm_server.h"

namespace attestlab::sim {
namespace {

// JSON for people and dashboards: plist <data> shown as base64 text.
Json displayable(const Json& value) {
  if (value.is_binary()) return base64_encode(static_cast<const Bytes&>(value.get_binary()));
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.items()) out[k] = displayable(v);
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& v : value) out.push_back(displayable(v));
    return out;
  }
  return value;
}

}  // namespace

const char* to_string(ClientIdentifierSource source) {
  return source == ClientIdentifierSource::Udid ? "udid" : "serial";
}

bool MdmCommandRecord::finished() const {
  return status == mdm::kStatusAcknowledged || status == mdm::kStatusError ||
         status == mdm::kStatusCommandFormatError;
}

Json MdmCommandRecord::to_json(bool with_response) const {
  Json errors = Json::array();
  for (const auto& e : error_chain) {
    errors.push_back({{"ErrorCode", e.code},
                      {"ErrorDomain", e.domain},
                      {"LocalizedDescription", e.localized_description}});
  }
  Json out = {{"command_uuid", command.command_uuid},
              {"request_type", command.request_type},
              {"status", status},
              {"error_chain", std::move(errors)},
              {"deliveries", deliveries},
              {"not_now_count", not_now_count},
              {"queued_at", format_rfc3339(queued_at)}};
  if (sent_at != 0) out["sent_at"] = format_rfc3339(sent_at);
  if (answered_at != 0) out["answered_at"] = format_rfc3339(answered_at);
  if (attestation_nonce) out["attestation_nonce"] = base64_encode(*attestation_nonce);
  if (with_response) out["response"] = displayable(response);
  return out;
}

const MdmCommandRecord* MdmDeviceRecord::find_command(const std::string& uuid) const {
  for (const auto& c : commands)
    if (c.command.command_uuid == uuid) return &c;
  return nullptr;
}

std::vector<const MdmCommandRecord*> MdmDeviceRecord::commands_of(
    const std::string& request_type) const {
  std::vector<const MdmCommandRecord*> out;
  for (const auto& c : commands)
    if (c.command.request_type == request_type) out.push_back(&c);
  return out;
}

Json MdmDeviceRecord::to_json(bool with_responses) const {
  Json attestation_json = attestation.to_json();
  if (attestation_checked_at != 0)
    attestation_json["checked_at"] = format_rfc3339(attestation_checked_at);
  Json command_list = Json::array();
  for (const auto& c : commands) command_list.push_back(c.to_json(with_responses));
  return {{"device_id", device_id},
          {"udid", udid},
          {"serial", serial},
          {"enrollment_id", enrollment_id},
          {"enrollment_type", user_enrollment ? "user" : "device"},
          {"product_name", authenticate.product_name},
          {"model", authenticate.model},
          {"os_version", claims.os_version},
          {"token_received", token_received},
          {"acme_client_identifier", acme_client_identifier},
          {"authenticated_at", format_rfc3339(authenticated_at)},
          {"last_seen_at", format_rfc3339(last_seen_at)},
          {"attestation", std::move(attestation_json)},
          {"commands", std::move(command_list)}};
}

}  // namespace attestlab::sim

#include "sim/mdm/mdm_messages.h"

#include <set>

#include "sim/device/acme_payload.h"
#include "sim/mdm/mdm_plist.h"

namespace attestlab::sim::mdm {
namespace {

// Moves a string member out of `rest` into `out`. Absent: untouched. Wrong type: error.
Result<void> take_string(Json& rest, const char* key, std::string& out) {
  auto it = rest.find(key);
  if (it == rest.end()) return ok();
  if (!it->is_string()) {
    return Error::make("malformed",
                       std::string(key) + " must be a string, found " + plist_type_name(*it));
  }
  out = it->get<std::string>();
  rest.erase(it);
  return ok();
}

Result<void> take_data(Json& rest, const char* key, std::optional<Bytes>& out) {
  auto it = rest.find(key);
  if (it == rest.end()) return ok();
  if (!it->is_binary()) {
    return Error::make("malformed",
                       std::string(key) + " must be data, found " + plist_type_name(*it));
  }
  out = static_cast<const Bytes&>(it->get_binary());
  rest.erase(it);
  return ok();
}

Result<void> take_bool(Json& rest, const char* key, std::optional<bool>& out) {
  auto it = rest.find(key);
  if (it == rest.end()) return ok();
  if (!it->is_boolean()) {
    return Error::make("malformed",
                       std::string(key) + " must be a boolean, found " + plist_type_name(*it));
  }
  out = it->get<bool>();
  rest.erase(it);
  return ok();
}

void put(Json& dict, const char* key, const std::string& value) {
  if (!value.empty()) dict[key] = value;
}

}  // namespace

bool is_known_status(std::string_view status) {
  return status == kStatusIdle || status == kStatusAcknowledged || status == kStatusError ||
         status == kStatusCommandFormatError || status == kStatusNotNow;
}

Json checkin_to_plist(const CheckinMessage& m) {
  Json dict = m.extra.is_object() ? m.extra : Json::object();
  put(dict, "MessageType", m.message_type);
  put(dict, "Topic", m.topic);
  put(dict, "UDID", m.udid);
  put(dict, "EnrollmentID", m.enrollment_id);
  put(dict, "SerialNumber", m.serial_number);
  put(dict, "OSVersion", m.os_version);
  put(dict, "BuildVersion", m.build_version);
  put(dict, "ProductName", m.product_name);
  put(dict, "Model", m.model);
  put(dict, "ModelName", m.model_name);
  put(dict, "DeviceName", m.device_name);
  if (!m.token.empty()) dict["Token"] = plist_data(m.token);
  put(dict, "PushMagic", m.push_magic);
  if (m.unlock_token) dict["UnlockToken"] = plist_data(*m.unlock_token);
  if (m.awaiting_configuration) dict["AwaitingConfiguration"] = *m.awaiting_configuration;
  return dict;
}

Result<CheckinMessage> parse_checkin(const Json& dict) {
  if (!dict.is_object()) return Error::make("malformed", "a check-in message must be a dict");
  CheckinMessage m;
  Json rest = dict;
  ATTESTLAB_TRY(take_string(rest, "MessageType", m.message_type));
  ATTESTLAB_TRY(take_string(rest, "Topic", m.topic));
  ATTESTLAB_TRY(take_string(rest, "UDID", m.udid));
  ATTESTLAB_TRY(take_string(rest, "EnrollmentID", m.enrollment_id));
  ATTESTLAB_TRY(take_string(rest, "SerialNumber", m.serial_number));
  ATTESTLAB_TRY(take_string(rest, "OSVersion", m.os_version));
  ATTESTLAB_TRY(take_string(rest, "BuildVersion", m.build_version));
  ATTESTLAB_TRY(take_string(rest, "ProductName", m.product_name));
  ATTESTLAB_TRY(take_string(rest, "Model", m.model));
  ATTESTLAB_TRY(take_string(rest, "ModelName", m.model_name));
  ATTESTLAB_TRY(take_string(rest, "DeviceName", m.device_name));
  std::optional<Bytes> token;
  ATTESTLAB_TRY(take_data(rest, "Token", token));
  if (token) m.token = std::move(*token);
  ATTESTLAB_TRY(take_string(rest, "PushMagic", m.push_magic));
  ATTESTLAB_TRY(take_data(rest, "UnlockToken", m.unlock_token));
  ATTESTLAB_TRY(take_bool(rest, "AwaitingConfiguration", m.awaiting_configuration));
  m.extra = std::move(rest);
  if (m.message_type.empty()) return Error::make("malformed", "MessageType is missing");
  if (m.device_id().empty())
    return Error::make("malformed", "neither UDID nor EnrollmentID is given");
  if (m.message_type == kTokenUpdate) {
    if (m.token.empty()) return Error::make("malformed", "TokenUpdate without Token");
    if (m.push_magic.empty()) return Error::make("malformed", "TokenUpdate without PushMagic");
  }
  return m;
}

Json error_chain_to_plist(const std::vector<MdmError>& chain) {
  Json array = Json::array();
  for (const auto& e : chain) {
    Json entry = {{"ErrorCode", e.code},
                  {"ErrorDomain", e.domain},
                  {"LocalizedDescription", e.localized_description}};
    if (!e.us_english_description.empty()) entry["USEnglishDescription"] = e.us_english_description;
    array.push_back(std::move(entry));
  }
  return array;
}

std::vector<MdmError> parse_error_chain(const Json& array) {
  std::vector<MdmError> chain;
  if (!array.is_array()) return chain;
  for (const auto& item : array) {
    if (!item.is_object()) continue;
    MdmError e;
    e.code = plist_integer(item, "ErrorCode").value_or(0);
    if (const auto* s = plist_string(item, "ErrorDomain")) e.domain = *s;
    if (const auto* s = plist_string(item, "LocalizedDescription")) e.localized_description = *s;
    if (const auto* s = plist_string(item, "USEnglishDescription")) e.us_english_description = *s;
    chain.push_back(std::move(e));
  }
  return chain;
}

std::string describe_error_chain(const std::vector<MdmError>& chain) {
  std::string out;
  for (const auto& e : chain) {
    if (!out.empty()) out += "; ";
    out += e.domain + " " + std::to_string(e.code) + ": " + e.localized_description;
  }
  return out;
}

Json report_to_plist(const CommandReport& r) {
  Json dict = r.results.is_object() ? r.results : Json::object();
  put(dict, "UDID", r.udid);
  put(dict, "EnrollmentID", r.enrollment_id);
  put(dict, "Status", r.status);
  put(dict, "CommandUUID", r.command_uuid);
  if (!r.error_chain.empty()) dict["ErrorChain"] = error_chain_to_plist(r.error_chain);
  return dict;
}

Result<CommandReport> parse_report(const Json& dict) {
  if (!dict.is_object()) return Error::make("malformed", "a command report must be a dict");
  CommandReport r;
  Json rest = dict;
  ATTESTLAB_TRY(take_string(rest, "UDID", r.udid));
  ATTESTLAB_TRY(take_string(rest, "EnrollmentID", r.enrollment_id));
  ATTESTLAB_TRY(take_string(rest, "Status", r.status));
  ATTESTLAB_TRY(take_string(rest, "CommandUUID", r.command_uuid));
  if (auto it = rest.find("ErrorChain"); it != rest.end()) {
    if (!it->is_array()) return Error::make("malformed", "ErrorChain must be an array");
    for (const auto& item : *it) {
      if (!item.is_object()) return Error::make("malformed", "ErrorChain entries must be dicts");
    }
    r.error_chain = parse_error_chain(*it);
    rest.erase(it);
  }
  r.results = std::move(rest);
  if (r.status.empty()) return Error::make("malformed", "Status is missing");
  if (r.device_id().empty())
    return Error::make("malformed", "neither UDID nor EnrollmentID is given");
  if (r.status != kStatusIdle && r.command_uuid.empty()) {
    return Error::make("malformed", "Status " + r.status + " without CommandUUID");
  }
  return r;
}

Json command_to_plist(const MdmCommand& c) {
  Json command = c.fields.is_object() ? c.fields : Json::object();
  command["RequestType"] = c.request_type;
  return Json{{"CommandUUID", c.command_uuid}, {"Command", std::move(command)}};
}

Result<MdmCommand> parse_command(const Json& dict) {
  if (!dict.is_object()) return Error::make("malformed", "a command must be a dict");
  const std::string* uuid = plist_string(dict, "CommandUUID");
  if (uuid == nullptr || uuid->empty()) return Error::make("malformed", "CommandUUID is missing");
  const Json* command = plist_dict(dict, "Command");
  if (command == nullptr) return Error::make("malformed", "Command is missing or not a dict");
  const std::string* type = plist_string(*command, "RequestType");
  if (type == nullptr || type->empty()) return Error::make("malformed", "RequestType is missing");
  MdmCommand c;
  c.command_uuid = *uuid;
  c.request_type = *type;
  c.fields = *command;
  c.fields.erase("RequestType");
  return c;
}

MdmCommand make_install_profile(std::string_view mobileconfig) {
  return {new_payload_uuid(), kInstallProfile, Json{{"Payload", plist_data(mobileconfig)}}};
}

MdmCommand make_remove_profile(const std::string& profile_identifier) {
  return {new_payload_uuid(), kRemoveProfile, Json{{"Identifier", profile_identifier}}};
}

MdmCommand make_profile_list() {
  return {new_payload_uuid(), kProfileList, Json::object()};
}

MdmCommand make_certificate_list(bool managed_only) {
  Json fields = Json::object();
  if (managed_only) fields["ManagedOnly"] = true;
  return {new_payload_uuid(), kCertificateList, std::move(fields)};
}

MdmCommand make_device_information(const std::vector<std::string>& queries,
                                   const std::optional<Bytes>& attestation_nonce) {
  Json fields = {{"Queries", queries}};
  if (attestation_nonce) fields["DeviceAttestationNonce"] = plist_data(*attestation_nonce);
  return {new_payload_uuid(), kDeviceInformation, std::move(fields)};
}

}  // namespace attestlab::sim::mdm

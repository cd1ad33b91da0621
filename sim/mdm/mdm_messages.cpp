#include "sim/mdm/mdm_messages.h"

#include <set>
#include <utility>

#include "sim/device/acme_payload.h"
#include "sim/mdm/mdm_plist.h"

namespace attestlab::sim::mdm {
namespace {

// Moves member `key` out of `rest` through `assign` when it is of the type `is` tests for
// (`a_type` names it in the error). Absent: untouched. Another type: error.
template <class Assign>
Result<void> take(Json& rest, const char* key, bool (Json::*is)() const noexcept,
                  const char* a_type, Assign assign) {
  auto it = rest.find(key);
  if (it == rest.end()) return ok();
  if (!((*it).*is)()) {
    return Error::make("malformed",
                       std::string(key) + " must be " + a_type + ", found " + plist_type_name(*it));
  }
  assign(*it);
  rest.erase(it);
  return ok();
}

Result<void> take_string(Json& rest, const char* key, std::string& out) {
  return take(rest, key, &Json::is_string, "a string",
              [&](const Json& v) { out = v.get<std::string>(); });
}

Result<void> take_data(Json& rest, const char* key, std::optional<Bytes>& out) {
  return take(rest, key, &Json::is_binary, "data",
              [&](const Json& v) { out = static_cast<const Bytes&>(v.get_binary()); });
}

Result<void> take_bool(Json& rest, const char* key, std::optional<bool>& out) {
  return take(rest, key, &Json::is_boolean, "a boolean",
              [&](const Json& v) { out = v.get<bool>(); });
}

void put(Json& dict, const char* key, const std::string& value) {
  if (!value.empty()) dict[key] = value;
}

// The plain string members of each message, listed once for writing and parsing (in the
// order they are parsed; the check-in's data and flag members follow its strings).
template <class M>
using StringMember = std::pair<const char*, std::string M::*>;

constexpr StringMember<CheckinMessage> kCheckinStrings[] = {
    {"MessageType", &CheckinMessage::message_type},
    {"Topic", &CheckinMessage::topic},
    {"UDID", &CheckinMessage::udid},
    {"EnrollmentID", &CheckinMessage::enrollment_id},
    {"SerialNumber", &CheckinMessage::serial_number},
    {"OSVersion", &CheckinMessage::os_version},
    {"BuildVersion", &CheckinMessage::build_version},
    {"ProductName", &CheckinMessage::product_name},
    {"Model", &CheckinMessage::model},
    {"ModelName", &CheckinMessage::model_name},
    {"DeviceName", &CheckinMessage::device_name}};

constexpr StringMember<CommandReport> kReportStrings[] = {
    {"UDID", &CommandReport::udid},
    {"EnrollmentID", &CommandReport::enrollment_id},
    {"Status", &CommandReport::status},
    {"CommandUUID", &CommandReport::command_uuid}};

// `dict`, which must be a dict (`what` says what it is), less the string `members` it moves
// to `m`.
template <class M, std::size_t N>
Result<Json> take_strings(const Json& dict, const char* what, const StringMember<M> (&members)[N],
                          M& m) {
  if (!dict.is_object()) return Error::make("malformed", std::string(what) + " must be a dict");
  Json rest = dict;
  for (const auto& [key, field] : members) ATTESTLAB_TRY(take_string(rest, key, m.*field));
  return rest;
}

}  // namespace

bool is_known_status(std::string_view status) {
  return status == kStatusIdle || status == kStatusAcknowledged || status == kStatusError ||
         status == kStatusCommandFormatError || status == kStatusNotNow;
}

Json checkin_to_plist(const CheckinMessage& m) {
  Json dict = m.extra.is_object() ? m.extra : Json::object();
  for (const auto& [key, field] : kCheckinStrings) put(dict, key, m.*field);
  if (!m.token.empty()) dict["Token"] = plist_data(m.token);
  put(dict, "PushMagic", m.push_magic);
  if (m.unlock_token) dict["UnlockToken"] = plist_data(*m.unlock_token);
  if (m.awaiting_configuration) dict["AwaitingConfiguration"] = *m.awaiting_configuration;
  return dict;
}

Result<CheckinMessage> parse_checkin(const Json& dict) {
  CheckinMessage m;
  auto taken = take_strings(dict, "a check-in message", kCheckinStrings, m);
  if (!taken) return taken.error();
  Json& rest = *taken;
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
  for (const auto& [key, field] : kReportStrings) put(dict, key, r.*field);
  if (!r.error_chain.empty()) dict["ErrorChain"] = error_chain_to_plist(r.error_chain);
  return dict;
}

Result<CommandReport> parse_report(const Json& dict) {
  CommandReport r;
  auto taken = take_strings(dict, "a command report", kReportStrings, r);
  if (!taken) return taken.error();
  Json& rest = *taken;
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

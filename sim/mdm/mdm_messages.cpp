#include "sim/mdm/mdm_messages.h"

#include <concepts>
#include <set>
#include <type_traits>

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

// Each message's members are listed once, in its members() overload: `f(key, field)` for
// each, in the order they are parsed. The message is const for writing and mutable for
// parsing, so one list serves both.
template <class M, class F>
requires std::same_as<std::remove_const_t<M>, CheckinMessage>
void members(M& m, F&& f) {
  f("MessageType", m.message_type);
  f("Topic", m.topic);
  f("UDID", m.udid);
  f("EnrollmentID", m.enrollment_id);
  f("SerialNumber", m.serial_number);
  f("OSVersion", m.os_version);
  f("BuildVersion", m.build_version);
  f("ProductName", m.product_name);
  f("Model", m.model);
  f("ModelName", m.model_name);
  f("DeviceName", m.device_name);
  f("Token", m.token);
  f("PushMagic", m.push_magic);
  f("UnlockToken", m.unlock_token);
  f("AwaitingConfiguration", m.awaiting_configuration);
}

template <class R, class F>
requires std::same_as<std::remove_const_t<R>, CommandReport>
void members(R& r, F&& f) {
  f("UDID", r.udid);
  f("EnrollmentID", r.enrollment_id);
  f("Status", r.status);
  f("CommandUUID", r.command_uuid);
}

// Empty strings and data, and absent optionals, are left out.
struct Writer {
  Json& dict;
  void operator()(const char* key, const std::string& value) const {
    if (!value.empty()) dict[key] = value;
  }
  void operator()(const char* key, const Bytes& value) const {
    if (!value.empty()) dict[key] = plist_data(value);
  }
  void operator()(const char* key, const std::optional<Bytes>& value) const {
    if (value) dict[key] = plist_data(*value);
  }
  void operator()(const char* key, const std::optional<bool>& value) const {
    if (value) dict[key] = *value;
  }
};

// Moves each member out of `rest`; the first of a wrong type is the error, and ends reading.
struct Reader {
  Json& rest;
  Result<void> status = ok();
  void operator()(const char* key, std::string& out) {
    if (status.ok()) status = take_string(rest, key, out);
  }
  void operator()(const char* key, Bytes& out) {
    std::optional<Bytes> data;
    if (status.ok()) status = take_data(rest, key, data);
    if (data) out = std::move(*data);
  }
  void operator()(const char* key, std::optional<Bytes>& out) {
    if (status.ok()) status = take_data(rest, key, out);
  }
  void operator()(const char* key, std::optional<bool>& out) {
    if (status.ok()) status = take_bool(rest, key, out);
  }
};

}  // namespace

bool is_known_status(std::string_view status) {
  return status == kStatusIdle || status == kStatusAcknowledged || status == kStatusError ||
         status == kStatusCommandFormatError || status == kStatusNotNow;
}

Json checkin_to_plist(const CheckinMessage& m) {
  Json dict = m.extra.is_object() ? m.extra : Json::object();
  members(m, Writer{dict});
  return dict;
}

Result<CheckinMessage> parse_checkin(const Json& dict) {
  if (!dict.is_object()) return Error::make("malformed", "a check-in message must be a dict");
  CheckinMessage m;
  Json rest = dict;
  Reader reader{rest};
  members(m, reader);
  if (!reader.status.ok()) return reader.status.error();
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
  members(r, Writer{dict});
  if (!r.error_chain.empty()) dict["ErrorChain"] = error_chain_to_plist(r.error_chain);
  return dict;
}

Result<CommandReport> parse_report(const Json& dict) {
  if (!dict.is_object()) return Error::make("malformed", "a command report must be a dict");
  CommandReport r;
  Json rest = dict;
  Reader reader{rest};
  members(r, reader);
  if (!reader.status.ok()) return reader.status.error();
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

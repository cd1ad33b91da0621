// The MDM server's admin API: commands queued by people and scripts (POST
// /mdm/admin/devices/{id}/commands and /push), in JSON.
#include "core/bytes.h"
#include "sim/device/acme_payload.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/mdm_server_impl.h"

namespace attestlab::sim {
namespace {

using mdm_server_detail::json_response;
using mdm_server_detail::kAttestationNonceSize;
using mdm_server_detail::text_response;

// Admin JSON → plist JSON: {"$data": base64} becomes <data>.
Result<Json> admin_fields_to_plist(const Json& value) {
  if (value.is_object()) {
    if (value.size() == 1 && value.contains("$data")) {
      const Json& text = value["$data"];
      if (!text.is_string()) return Error::make("malformed", "$data must be a base64 string");
      auto bytes = base64_decode(text.get<std::string>());
      if (!bytes) return Error::make("malformed", "$data is not valid base64");
      return plist_data(*bytes);
    }
    Json out = Json::object();
    for (const auto& [k, v] : value.items()) {
      auto converted = admin_fields_to_plist(v);
      if (!converted) return converted.error();
      out[k] = std::move(*converted);
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& v : value) {
      auto converted = admin_fields_to_plist(v);
      if (!converted) return converted.error();
      out.push_back(std::move(*converted));
    }
    return out;
  }
  if (value.is_null()) return Error::make("malformed", "null has no plist form");
  return value;
}

// Plist JSON → admin JSON: <data> becomes {"$data": base64}.
Json plist_fields_to_admin(const Json& value) {
  if (value.is_binary()) {
    const auto& bin = value.get_binary();
    return Json{{"$data", base64_encode(Bytes(bin.begin(), bin.end()))}};
  }
  if (value.is_object() || value.is_array()) {
    Json out = value.is_object() ? Json::object() : Json::array();
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (value.is_object()) {
        out[it.key()] = plist_fields_to_admin(*it);
      } else {
        out.push_back(plist_fields_to_admin(*it));
      }
    }
    return out;
  }
  return value;
}

}  // namespace

Json admin_command_to_json(const mdm::MdmCommand& command) {
  return Json{{"request_type", command.request_type},
              {"fields", plist_fields_to_admin(command.fields)}};
}

Result<mdm::MdmCommand> admin_command_from_json(const Json& body) {
  if (!body.is_object()) return Error::make("malformed", "the command must be a JSON object");
  const std::string* type = get_string(body, "request_type");
  if (type == nullptr || type->empty()) return Error::make("malformed", "request_type is required");
  mdm::MdmCommand command;
  command.command_uuid = new_payload_uuid();
  command.request_type = *type;
  if (auto it = body.find("fields"); it != body.end()) {
    if (!it->is_object()) return Error::make("malformed", "fields must be an object");
    auto fields = admin_fields_to_plist(*it);
    if (!fields) return fields.error();
    command.fields = std::move(*fields);
    command.fields.erase("RequestType");
  }
  for (const char* flag : {"fresh_nonce", "acme_profile"}) {
    if (auto it = body.find(flag); it != body.end() && !it->is_boolean()) {
      return Error::make("malformed", std::string(flag) + " must be true or false");
    }
  }
  if (body.value("fresh_nonce", false)) {
    if (command.request_type != mdm::kDeviceInformation) {
      return Error::make("malformed", "fresh_nonce applies to DeviceInformation only");
    }
    command.fields["DeviceAttestationNonce"] = plist_data(random_bytes(kAttestationNonceSize));
  }
  if (body.value("acme_profile", false) && command.request_type != mdm::kInstallProfile) {
    return Error::make("malformed", "acme_profile applies to InstallProfile only");
  }
  return command;
}

http::Response MdmServer::Impl::on_admin(const http::Request& req, const std::string& device_id,
                                         const std::string& action) {
  if (!config.admin_token.empty()) {
    auto auth = req.header("authorization");
    if (!auth || *auth != "Bearer " + config.admin_token)
      return text_response(401, "admin token required");
  }
  if (action == "push") {
    if (!device(device_id)) return json_response(404, {{"error", "unknown device " + device_id}});
    return json_response(200, {{"delivered", push(device_id)}});
  }
  auto body = parse_json(req.body);
  if (!body) return json_response(400, {{"error", "body is not JSON: " + body.error().detail}});
  auto command = admin_command_from_json(*body);
  if (!command) return json_response(400, {{"error", command.error().detail}});
  std::optional<PushTarget> target;
  std::string uuid;
  {
    std::lock_guard lock(mutex);
    auto it = devices.find(device_id);
    if (it == devices.end()) return json_response(404, {{"error", "unknown device " + device_id}});
    if (body->value("acme_profile", false)) {
      auto xml = mdm_server_detail::acme_profile_xml(config, it->second);
      if (!xml) return json_response(409, {{"error", xml.error().detail}});
      command->fields["Payload"] = plist_data(*xml);
    }
    auto queued = queue(it->second, std::move(*command));
    if (!queued) return json_response(409, {{"error", queued.error().detail}});
    uuid = *queued;
    target = push_target(it->second);
    bump();
  }
  deliver_push(target);
  return json_response(201, {{"command_uuid", uuid}});
}

}  // namespace attestlab::sim

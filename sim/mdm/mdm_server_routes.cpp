// The MDM server's HTTP routes and the device's two endpoints: check-in (/mdm/checkin)
// and the command channel (/mdm/connect).
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/mdm_server_impl.h"

namespace attestlab::sim {
namespace mdm_server_detail {

http::Response text_response(int status, const std::string& text) {
  http::Response r;
  r.status = status;
  r.set("Content-Type", "text/plain; charset=utf-8");
  r.body = text + "\n";
  return r;
}

http::Response json_response(int status, const Json& body) {
  http::Response r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = body.dump(2) + "\n";
  return r;
}

}  // namespace mdm_server_detail

namespace {

using mdm_server_detail::json_response;
using mdm_server_detail::text_response;

http::Response plist_response(const Json& body, const char* content_type) {
  http::Response r;
  r.set("Content-Type", content_type);
  r.body = json_to_plist_xml(body);
  return r;
}

}  // namespace

http::Response MdmServer::Impl::handle(const http::Request& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  auto method_not_allowed = [](const char* allow) {
    http::Response r = text_response(405, "method not allowed");
    r.set("Allow", allow);
    return r;
  };
  if (path == "/mdm/enroll") {
    if (req.method != "GET") return method_not_allowed("GET");
    http::Response r;
    r.set("Content-Type", mdm::kProfileContentType);
    r.body = enrollment_xml;
    return r;
  }
  if (path == "/mdm/checkin") {
    if (req.method != "PUT") return method_not_allowed("PUT");
    return on_checkin(req);
  }
  if (path == "/mdm/connect") {
    if (req.method != "PUT") return method_not_allowed("PUT");
    return on_connect(req);
  }
  if (path == "/mdm/devices") {
    if (req.method != "GET") return method_not_allowed("GET");
    return json_response(200, devices_json(false));
  }
  const std::string devices_prefix = "/mdm/devices/";
  if (path.rfind(devices_prefix, 0) == 0 && path.size() > devices_prefix.size()) {
    if (req.method != "GET") return method_not_allowed("GET");
    auto d = device(path.substr(devices_prefix.size()));
    if (!d) return json_response(404, {{"error", "unknown device"}});
    return json_response(200, d->to_json(true));
  }
  const std::string admin_prefix = "/mdm/admin/devices/";
  if (path.rfind(admin_prefix, 0) == 0) {
    const std::string rest = path.substr(admin_prefix.size());
    const auto slash = rest.find('/');
    if (slash != std::string::npos && slash > 0) {
      const std::string id = rest.substr(0, slash);
      const std::string action = rest.substr(slash + 1);
      if (action == "commands" || action == "push") {
        if (req.method != "POST") return method_not_allowed("POST");
        return on_admin(req, id, action);
      }
    }
  }
  return text_response(404, "not found");
}

http::Response MdmServer::Impl::on_checkin(const http::Request& req) {
  auto body = plist_to_json(req.body);
  if (!body)
    return text_response(400, "check-in body is not a property list: " + body.error().detail);
  auto message = mdm::parse_checkin(*body);
  if (!message) return text_response(400, "bad check-in message: " + message.error().detail);
  const mdm::CheckinMessage& m = *message;
  // Apple's documented way to decline the user channel.
  if (m.message_type == "UserAuthenticate") return text_response(410, "no user channel");
  if (m.message_type != mdm::kAuthenticate && m.message_type != mdm::kTokenUpdate &&
      m.message_type != mdm::kCheckOut) {
    return text_response(400, "unsupported MessageType " + m.message_type);
  }
  if (m.topic != config.topic) {
    return text_response(401, "Topic \"" + m.topic + "\" is not this MDM's topic");
  }

  std::optional<PushTarget> target;
  {
    std::lock_guard lock(mutex);
    const std::string id = m.device_id();
    auto it = devices.find(id);
    if (m.message_type == mdm::kAuthenticate) {
      if (it == devices.end() && devices.size() >= config.max_devices) {
        return text_response(503, "device limit reached");
      }
      // Authenticate starts a new enrollment: whatever the MDM knew is reset.
      MdmDeviceRecord d;
      d.device_id = id;
      d.udid = m.udid;
      d.enrollment_id = m.enrollment_id;
      d.serial = m.serial_number;
      d.user_enrollment = m.user_enrollment();
      d.authenticate = m;
      d.claims = {m.udid, m.serial_number, m.enrollment_id, m.os_version, m.user_enrollment()};
      d.authenticated_at = d.last_seen_at = now();
      devices[id] = std::move(d);
    } else if (it == devices.end()) {
      return text_response(401, "unknown device " + id + " (no Authenticate)");
    } else if (m.message_type == mdm::kTokenUpdate) {
      MdmDeviceRecord& d = it->second;
      const bool first = !d.token_received;
      d.push_token = m.token;
      d.push_magic = m.push_magic;
      d.token_received = true;
      d.last_seen_at = now();
      if (first && config.enroll_blueprint) mdm_server_detail::apply_blueprint(config, d, now());
      target = push_target(d);
    } else {  // CheckOut
      devices.erase(it);
    }
    bump();
  }
  deliver_push(target);
  return http::Response{};
}

http::Response MdmServer::Impl::on_connect(const http::Request& req) {
  auto body = plist_to_json(req.body);
  if (!body)
    return text_response(400, "command report is not a property list: " + body.error().detail);
  auto parsed = mdm::parse_report(*body);
  if (!parsed) return text_response(400, "bad command report: " + parsed.error().detail);
  const mdm::CommandReport& report = *parsed;
  if (!mdm::is_known_status(report.status))
    return text_response(400, "unknown Status " + report.status);

  std::lock_guard lock(mutex);
  auto it = devices.find(report.device_id());
  if (it == devices.end()) return text_response(401, "unknown device " + report.device_id());
  MdmDeviceRecord& d = it->second;
  d.last_seen_at = now();

  const MdmCommandRecord* answered = mdm_server_detail::record_report(d, report, now());
  if (answered != nullptr && answered->command.request_type == mdm::kDeviceInformation)
    mdm_server_detail::record_device_information(config, d, *answered, now());

  http::Response response;
  if (const mdm::MdmCommand* next = mdm_server_detail::deliver_next_command(d, now()))
    response = plist_response(mdm::command_to_plist(*next), "application/xml");
  bump();
  return response;
}

}  // namespace attestlab::sim

#include "sim/mdm/mdm_server.h"

#include <arpa/inet.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>

#include "core/bytes.h"
#include "sim/device/acme_payload.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/profile.h"

namespace attestlab::sim {
namespace {

using mdm::MdmCommand;

constexpr std::size_t kAttestationNonceSize = 32;

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

http::Response plist_response(const Json& body, const char* content_type) {
  http::Response r;
  r.set("Content-Type", content_type);
  r.body = json_to_plist_xml(body);
  return r;
}

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

bool queries_attestation(const MdmCommand& command) {
  const Json* queries = plist_array(command.fields, "Queries");
  if (queries == nullptr) return false;
  return std::any_of(queries->begin(), queries->end(), [](const Json& q) {
    return q.is_string() && q.get<std::string>() == mdm::kQueryDevicePropertiesAttestation;
  });
}

bool is_ip_address(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
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

Result<MdmCommand> admin_command_from_json(const Json& body) {
  if (!body.is_object()) return Error::make("malformed", "the command must be a JSON object");
  const std::string* type = get_string(body, "request_type");
  if (type == nullptr || type->empty()) return Error::make("malformed", "request_type is required");
  MdmCommand command;
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

Result<std::pair<std::string, std::string>> make_self_signed_tls(
    const std::vector<std::string>& hosts, std::int64_t now) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) return key.error();
  pki::CertificateSpec spec;
  spec.subject = {{"CN", hosts.empty() ? std::string("attestlab MDM") : hosts.front()},
                  {"O", "attestlab MDM emulator"}};
  for (const auto& host : hosts) {
    auto& list = is_ip_address(host) ? spec.sans.ip : spec.sans.dns;
    if (std::find(list.begin(), list.end(), host) == list.end()) list.push_back(host);
  }
  spec.not_before = now - 3600;
  spec.not_after = now + 365 * 24 * 3600;
  spec.key_usage_digital_signature = true;
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.1"};
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  if (!cert) return cert.error();
  return std::make_pair(cert->to_pem(), key->to_pem());
}

struct MdmServer::Impl {
  MdmServerConfig config;
  std::shared_ptr<const Clock> clock;
  std::unique_ptr<http::Server> http;
  std::string cert_pem;
  std::string base_url;
  std::string enrollment_xml;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::uint64_t version = 0;
  std::map<std::string, MdmDeviceRecord> devices;

  std::int64_t now() const { return clock->now(); }

  void bump() {
    ++version;
    changed.notify_all();
  }

  // --- building blocks (call with mutex held) -------------------------------------------

  std::string client_identifier_for(const MdmDeviceRecord& d) const {
    if (d.user_enrollment) return d.enrollment_id;
    if (config.client_identifier == ClientIdentifierSource::Udid || d.serial.empty()) return d.udid;
    return d.serial;
  }

  Result<std::string> acme_profile_xml(const MdmDeviceRecord& d) const {
    if (config.acme_directory_url.empty()) {
      return Error::make("malformed", "the MDM has no ACME directory URL configured");
    }
    AcmeProfileOptions o;
    o.acme = AcmePayload::for_attestation(config.acme_directory_url, client_identifier_for(d),
                                          config.acme_key_size);
    o.wifi_ssids = config.acme_wifi_ssids;
    o.vpn_servers = config.acme_vpn_servers;
    o.trust_anchors = config.acme_trust_anchors;
    o.identifier = config.acme_profile_identifier;
    return profile_to_xml(make_acme_profile(o));
  }

  MdmCommand attestation_command(bool with_nonce) const {
    std::optional<Bytes> nonce;
    if (with_nonce) nonce = random_bytes(kAttestationNonceSize);
    return mdm::make_device_information(config.attestation_queries, nonce);
  }

  Result<std::string> queue(MdmDeviceRecord& d, MdmCommand command) {
    std::size_t open = 0;
    for (const auto& c : d.commands)
      if (!c.finished()) ++open;
    if (open >= config.max_queued_commands) {
      return Error::make("malformed", "the command queue of " + d.device_id + " is full");
    }
    if (command.command_uuid.empty()) command.command_uuid = new_payload_uuid();
    if (d.find_command(command.command_uuid) != nullptr) {
      return Error::make("malformed", "CommandUUID " + command.command_uuid + " is already queued");
    }
    MdmCommandRecord record;
    if (const Bytes* nonce = plist_bytes(command.fields, "DeviceAttestationNonce"))
      record.attestation_nonce = *nonce;
    record.command = std::move(command);
    record.queued_at = now();
    const std::string uuid = record.command.command_uuid;
    d.commands.push_back(std::move(record));
    return uuid;
  }

  void apply_blueprint(MdmDeviceRecord& d) {
    if (!config.acme_directory_url.empty()) {
      auto xml = acme_profile_xml(d);
      if (xml) {
        d.acme_client_identifier = client_identifier_for(d);
        (void)queue(d, mdm::make_install_profile(*xml));
      }
    }
    (void)queue(d, attestation_command(true));
  }

  // A push target (token, magic) when the device can be woken.
  std::optional<std::pair<Bytes, std::string>> push_target(const MdmDeviceRecord& d) const {
    if (!config.push || !d.token_received || d.push_token.empty()) return std::nullopt;
    return std::make_pair(d.push_token, d.push_magic);
  }

  void deliver_push(const std::optional<std::pair<Bytes, std::string>>& target) const {
    if (target && config.push) config.push->push(target->first, target->second);
  }

  // --- DeviceInformation answers ----------------------------------------------------------

  void record_device_information(MdmDeviceRecord& d, const MdmCommandRecord& c) {
    const Json* responses = plist_dict(c.response, "QueryResponses");
    if (responses != nullptr) {
      if (const std::string* os = plist_string(*responses, mdm::kQueryOsVersion))
        d.claims.os_version = *os;
    }
    if (!queries_attestation(c.command)) return;
    d.attestation_checked_at = now();
    if (c.status != mdm::kStatusAcknowledged) {
      const std::string reason = "the attestation request " + c.command.command_uuid + " failed (" +
                                 c.status + "): " + describe_error_chain(c.error_chain);
      if (d.attestation.verdict == AttestationVerdict::Unknown) d.attestation.reasons.clear();
      d.attestation.reasons.push_back(reason);
      return;
    }
    const Json* certs = responses == nullptr
                            ? nullptr
                            : plist_array(*responses, mdm::kQueryDevicePropertiesAttestation);
    if (certs == nullptr) {
      d.attestation = AttestationAssessment{};
      d.attestation.reasons.push_back(
          "the device answered without DevicePropertiesAttestation: it cannot attest (hardware "
          "older than "
          "A11 or an Intel Mac, or an OS older than iOS 16 / macOS 14)");
      return;
    }
    std::vector<Bytes> ders;
    for (const auto& item : *certs) {
      if (!item.is_binary()) {
        d.attestation = AttestationAssessment{};
        d.attestation.verdict = AttestationVerdict::Untrusted;
        d.attestation.reasons.push_back(
            "DevicePropertiesAttestation holds an item that is not data");
        return;
      }
      ders.push_back(static_cast<const Bytes&>(item.get_binary()));
    }
    d.attestation = assess_device_attestation(ders, c.attestation_nonce, d.claims,
                                              config.attestation_roots, config.policy, now());
  }

  // --- endpoints --------------------------------------------------------------------------

  http::Response on_checkin(const http::Request& req) {
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

    std::optional<std::pair<Bytes, std::string>> target;
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
        if (first && config.enroll_blueprint) apply_blueprint(d);
        target = push_target(d);
      } else {  // CheckOut
        devices.erase(it);
      }
      bump();
    }
    deliver_push(target);
    return http::Response{};
  }

  http::Response on_connect(const http::Request& req) {
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

    if (report.status == mdm::kStatusIdle) {
      for (auto& c : d.commands) c.skipped_this_session = false;
    } else {
      auto c = std::find_if(d.commands.begin(), d.commands.end(), [&](const MdmCommandRecord& r) {
        return r.command.command_uuid == report.command_uuid;
      });
      // A report for a command this server never sent (or already closed) is ignored.
      if (c != d.commands.end() && !c->finished()) {
        c->status = report.status;
        c->answered_at = now();
        c->error_chain = report.error_chain;
        c->response = report.results;
        if (report.status == mdm::kStatusNotNow) {
          ++c->not_now_count;
          c->skipped_this_session = true;
        } else if (c->command.request_type == mdm::kDeviceInformation) {
          record_device_information(d, *c);
        }
      }
    }

    http::Response response;
    auto next = std::find_if(d.commands.begin(), d.commands.end(), [](const MdmCommandRecord& r) {
      return !r.finished() && !r.skipped_this_session;
    });
    if (next != d.commands.end()) {
      next->status = kCommandSent;
      next->sent_at = now();
      ++next->deliveries;
      response = plist_response(mdm::command_to_plist(next->command), "application/xml");
    }
    bump();
    return response;
  }

  http::Response on_admin(const http::Request& req, const std::string& device_id,
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
    std::optional<std::pair<Bytes, std::string>> target;
    std::string uuid;
    {
      std::lock_guard lock(mutex);
      auto it = devices.find(device_id);
      if (it == devices.end())
        return json_response(404, {{"error", "unknown device " + device_id}});
      if (body->value("acme_profile", false)) {
        auto xml = acme_profile_xml(it->second);
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

  std::optional<MdmDeviceRecord> device(const std::string& id) const {
    std::lock_guard lock(mutex);
    auto it = devices.find(id);
    if (it == devices.end()) return std::nullopt;
    return it->second;
  }

  bool push(const std::string& id) const {
    std::optional<std::pair<Bytes, std::string>> target;
    {
      std::lock_guard lock(mutex);
      auto it = devices.find(id);
      if (it == devices.end()) return false;
      target = push_target(it->second);
    }
    if (!target) return false;
    return config.push->push(target->first, target->second);
  }

  Json devices_json(bool with_responses) const {
    std::lock_guard lock(mutex);
    Json list = Json::array();
    for (const auto& [id, d] : devices) list.push_back(d.to_json(with_responses));
    return {{"schema", "attestlab.mdm.devices/1"}, {"devices", std::move(list)}};
  }

  http::Response handle(const http::Request& req) {
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
};

MdmServer::MdmServer() : impl_(std::make_unique<Impl>()) {}

MdmServer::~MdmServer() {
  stop();
}

Result<std::unique_ptr<MdmServer>> MdmServer::start(MdmServerConfig config) {
  std::unique_ptr<MdmServer> server(new MdmServer());
  Impl& impl = *server->impl_;
  impl.clock = config.clock ? config.clock : SystemClock::instance();
  if (config.tls_cert_pem.empty() != config.tls_key_pem.empty()) {
    return Error::make("malformed", "the MDM's TLS certificate and key go together");
  }
  if (config.tls_cert_pem.empty()) {
    auto tls =
        make_self_signed_tls({config.listen_host, "127.0.0.1", "localhost"}, impl.clock->now());
    if (!tls) return tls.error();
    config.tls_cert_pem = tls->first;
    config.tls_key_pem = tls->second;
  }
  impl.cert_pem = config.tls_cert_pem;
  impl.config = std::move(config);

  http::ServerOptions options;
  options.host = impl.config.listen_host;
  options.port = impl.config.listen_port;
  options.tls_cert_pem = impl.config.tls_cert_pem;
  options.tls_key_pem = impl.config.tls_key_pem;
  options.threads = impl.config.io_threads;
  options.max_body_bytes = 1024 * 1024;  // answers with certificates, profile lists
  MdmServer* self = server.get();
  auto started =
      http::Server::start(options, [self](const http::Request& r) { return self->handle(r); });
  if (!started) return started.error();
  impl.http = std::move(*started);

  const std::string host =
      impl.config.public_host.empty() ? impl.config.listen_host : impl.config.public_host;
  impl.base_url = "https://" + url_host(host) + ":" + std::to_string(impl.http->port()) + "/mdm";
  MdmEnrollmentOptions enrollment;
  enrollment.server_url = impl.base_url + "/connect";
  enrollment.check_in_url = impl.base_url + "/checkin";
  enrollment.topic = impl.config.topic;
  impl.enrollment_xml = profile_to_xml(make_mdm_enrollment_profile(enrollment));
  return server;
}

std::uint16_t MdmServer::port() const {
  return impl_->http ? impl_->http->port() : 0;
}
std::string MdmServer::base_url() const {
  return impl_->base_url;
}
std::string MdmServer::enroll_url() const {
  return impl_->base_url + "/enroll";
}
const std::string& MdmServer::tls_certificate_pem() const {
  return impl_->cert_pem;
}
const MdmServerConfig& MdmServer::config() const {
  return impl_->config;
}
std::string MdmServer::enrollment_profile_xml() const {
  return impl_->enrollment_xml;
}

Result<std::string> MdmServer::acme_profile_for(const std::string& device_id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->devices.find(device_id);
  if (it == impl_->devices.end()) return Error::make("malformed", "unknown device " + device_id);
  return impl_->acme_profile_xml(it->second);
}

Result<std::string> MdmServer::enqueue(const std::string& device_id, mdm::MdmCommand command) {
  std::optional<std::pair<Bytes, std::string>> target;
  std::string uuid;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->devices.find(device_id);
    if (it == impl_->devices.end()) return Error::make("malformed", "unknown device " + device_id);
    auto queued = impl_->queue(it->second, std::move(command));
    if (!queued) return queued.error();
    uuid = *queued;
    target = impl_->push_target(it->second);
    impl_->bump();
  }
  impl_->deliver_push(target);
  return uuid;
}

Result<std::string> MdmServer::enqueue_acme_profile(const std::string& device_id) {
  auto xml = acme_profile_for(device_id);
  if (!xml) return xml.error();
  return enqueue(device_id, mdm::make_install_profile(*xml));
}

Result<std::string> MdmServer::request_attestation(const std::string& device_id, bool with_nonce) {
  return enqueue(device_id, impl_->attestation_command(with_nonce));
}

bool MdmServer::push(const std::string& device_id) {
  return impl_->push(device_id);
}

std::optional<MdmDeviceRecord> MdmServer::device(const std::string& device_id) const {
  return impl_->device(device_id);
}

std::vector<MdmDeviceRecord> MdmServer::devices() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<MdmDeviceRecord> out;
  for (const auto& [id, d] : impl_->devices) out.push_back(d);
  return out;
}

std::size_t MdmServer::device_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->devices.size();
}

Json MdmServer::devices_json(bool with_responses) const {
  return impl_->devices_json(with_responses);
}

bool MdmServer::wait_until(const std::function<bool()>& pred,
                           std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::uint64_t seen;
    {
      std::lock_guard lock(impl_->mutex);
      seen = impl_->version;
    }
    if (pred()) return true;
    std::unique_lock lock(impl_->mutex);
    if (!impl_->changed.wait_until(lock, deadline, [&] { return impl_->version != seen; })) {
      lock.unlock();
      return pred();
    }
  }
}

http::Response MdmServer::handle(const http::Request& request) {
  return impl_->handle(request);
}

void MdmServer::stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

}  // namespace attestlab::sim

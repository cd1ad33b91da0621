// The two MdmPorts: the scenario's own MDM emulator, and a running `attestlab mdm serve`
// driven through its admin API.
#include "scenarios/mdm_port.h"

#include <mutex>

#include "core/http.h"
#include "core/json.h"
#include "core/pki.h"
#include "sim/mdm/mdm_messages.h"
#include "sim/mdm/mdm_server.h"
#include "sim/mdm/profile.h"

namespace attestlab::scenarios {
namespace {

class LocalMdm : public MdmPort {
 public:
  LocalMdm(std::unique_ptr<sim::MdmServer> server, std::string trust_file)
      : server_(std::move(server)), trust_file_(std::move(trust_file)) {}

  std::string enroll_url() const override { return server_->enroll_url(); }
  std::string trust_file() const override { return trust_file_; }

  Result<std::string> install_profile(const std::string& device_id,
                                      const std::string& mobileconfig) override {
    return server_->enqueue(device_id, sim::mdm::make_install_profile(mobileconfig));
  }

  Result<std::string> device_information(const std::string& device_id, bool fresh,
                                         const std::optional<Bytes>& repeat_nonce) override {
    if (repeat_nonce) {
      return server_->enqueue(device_id, sim::mdm::make_device_information(
                                             server_->config().attestation_queries, repeat_nonce));
    }
    return server_->request_attestation(device_id, fresh);
  }

  Result<std::optional<MdmDeviceView>> device(const std::string& device_id,
                                              const std::string& command_uuid) override {
    auto record = server_->device(device_id);
    if (!record) return std::optional<MdmDeviceView>();
    MdmDeviceView view;
    view.verdict = sim::to_string(record->attestation.verdict);
    view.reasons = record->attestation.reasons;
    if (const auto* command = record->find_command(command_uuid)) {
      view.command_nonce = command->attestation_nonce;
    }
    return std::optional<MdmDeviceView>(std::move(view));
  }

  void stop() override { server_->stop(); }

 private:
  std::unique_ptr<sim::MdmServer> server_;
  std::string trust_file_;
};

// Device ids go into URL paths: UDIDs and EnrollmentIDs are letters, digits and dashes.
bool plain_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Error mdm_error(const std::string& what, const std::string& detail) {
  return Error::make("mdmSessionFailed", "the running MDM " + what + ": " + detail);
}

class RunningMdm : public MdmPort {
 public:
  RunningMdm(MdmEndpoint endpoint, std::int64_t timeout_ms)
      : endpoint_(std::move(endpoint)),
        client_(http::ClientOptions{.trust_ca_pem_file = endpoint_.trust_ca_pem_file,
                                    .timeout = std::chrono::milliseconds(timeout_ms)}) {
    while (!endpoint_.base_url.empty() && endpoint_.base_url.back() == '/') {
      endpoint_.base_url.pop_back();
    }
  }

  std::string enroll_url() const override { return endpoint_.base_url + "/enroll"; }
  std::string trust_file() const override { return endpoint_.trust_ca_pem_file; }

  // GET /mdm/devices answers {"schema": "attestlab.mdm.devices/1", "devices": [...]}: the
  // MDM is there and is attestlab's.
  Result<void> probe() {
    auto r = call("GET", endpoint_.base_url + "/devices", "");
    if (!r) return r.error();
    if (r->status != 200) {
      return Error::make("malformed", "GET " + endpoint_.base_url + "/devices answered HTTP " +
                                          std::to_string(r->status) +
                                          " (is it `attestlab mdm serve`, and is --mdm its "
                                          "https://HOST:PORT/mdm?)");
    }
    auto body = parse_json(r->body);
    const std::string* schema = body && body->is_object() ? get_string(*body, "schema") : nullptr;
    if (schema == nullptr || schema->rfind("attestlab.mdm.devices/", 0) != 0) {
      return Error::make("malformed", "GET " + endpoint_.base_url +
                                          "/devices did not answer attestlab's device list "
                                          "(schema attestlab.mdm.devices/N)");
    }
    return ok();
  }

  // The commands are the emulator's own (sim::mdm builders), sent as admin API JSON.
  Result<std::string> install_profile(const std::string& device_id,
                                      const std::string& mobileconfig) override {
    return queue(device_id,
                 sim::admin_command_to_json(sim::mdm::make_install_profile(mobileconfig)));
  }

  Result<std::string> device_information(const std::string& device_id, bool fresh,
                                         const std::optional<Bytes>& repeat_nonce) override {
    Json command = sim::admin_command_to_json(sim::mdm::make_device_information(
        sim::MdmServerConfig{}.attestation_queries, repeat_nonce));
    if (!repeat_nonce && fresh) command["fresh_nonce"] = true;  // the MDM makes the nonce
    return queue(device_id, command);
  }

  Result<std::optional<MdmDeviceView>> device(const std::string& device_id,
                                              const std::string& command_uuid) override {
    if (!plain_id(device_id)) return mdm_error("device id", "unusable in a URL: " + device_id);
    auto r = call("GET", endpoint_.base_url + "/devices/" + device_id, "");
    if (!r) return r.error();
    if (r->status == 404) return std::optional<MdmDeviceView>();
    if (r->status != 200) {
      return mdm_error("device record", "HTTP " + std::to_string(r->status));
    }
    auto body = parse_json(r->body);
    if (!body || !body->is_object()) return mdm_error("device record", "not a JSON object");
    MdmDeviceView view;
    auto attestation = body->find("attestation");
    if (attestation == body->end() || !attestation->is_object()) {
      return mdm_error("device record", "no attestation object");
    }
    const std::string* verdict = get_string(*attestation, "verdict");
    if (verdict == nullptr) return mdm_error("device record", "no attestation verdict");
    view.verdict = *verdict;
    if (auto reasons = attestation->find("reasons"); reasons != attestation->end()) {
      if (!reasons->is_array()) return mdm_error("device record", "reasons is not an array");
      for (const auto& reason : *reasons) {
        if (!reason.is_string()) return mdm_error("device record", "a reason is not a string");
        view.reasons.push_back(reason.get<std::string>());
      }
    }
    auto commands = body->find("commands");
    if (commands != body->end() && commands->is_array()) {
      for (const auto& c : *commands) {
        const std::string* uuid = c.is_object() ? get_string(c, "command_uuid") : nullptr;
        if (uuid == nullptr || *uuid != command_uuid) continue;
        if (const std::string* nonce = get_string(c, "attestation_nonce")) {
          auto bytes = base64_decode(*nonce);
          if (!bytes) return mdm_error("device record", "attestation_nonce is not base64");
          view.command_nonce = std::move(*bytes);
        }
      }
    }
    return std::optional<MdmDeviceView>(std::move(view));
  }

 private:
  Result<http::Response> call(const std::string& method, const std::string& url,
                              const std::string& body) {
    http::Headers headers;
    if (!body.empty()) headers.emplace("Content-Type", "application/json");
    if (!endpoint_.admin_token.empty()) {
      headers.emplace("Authorization", "Bearer " + endpoint_.admin_token);
    }
    std::lock_guard lock(mu_);  // one Client, steps of a fleet may run on several threads
    auto r = client_.request(method, url, headers, body);
    if (!r)
      return Error::make("connection",
                         "the MDM at " + endpoint_.base_url + ": " + r.error().detail);
    return r;
  }

  Result<std::string> queue(const std::string& device_id, const Json& command) {
    if (!plain_id(device_id)) return mdm_error("device id", "unusable in a URL: " + device_id);
    auto r = call("POST", endpoint_.base_url + "/admin/devices/" + device_id + "/commands",
                  command.dump());
    if (!r) return r.error();
    auto body = parse_json(r->body);
    const std::string* error = body && body->is_object() ? get_string(*body, "error") : nullptr;
    if (r->status != 201) {
      return mdm_error("refused the command", "HTTP " + std::to_string(r->status) +
                                                  (error ? ": " + *error : std::string()));
    }
    const std::string* uuid =
        body && body->is_object() ? get_string(*body, "command_uuid") : nullptr;
    if (uuid == nullptr || uuid->empty()) {
      return mdm_error("queued the command", "the answer names no command_uuid");
    }
    return *uuid;
  }

  MdmEndpoint endpoint_;
  std::mutex mu_;
  http::Client client_;
};

}  // namespace

Result<std::unique_ptr<MdmPort>> start_local_mdm(const Target& target,
                                                 std::shared_ptr<const Clock> clock,
                                                 const std::string& temp_dir) {
  sim::MdmServerConfig config;
  config.io_threads = 2;
  config.acme_directory_url = target.directory_url;
  if (target.attestation_ca) config.attestation_roots = {target.attestation_ca->root()};
  config.enroll_blueprint = false;  // the scenario's steps say what the MDM sends
  config.clock = std::move(clock);
  auto started = sim::MdmServer::start(config);
  if (!started) {
    return Error::make("serverInternal",
                       "the MDM emulator did not start: " + started.error().detail);
  }
  if (temp_dir.empty()) {
    return Error::make("serverInternal", "no temporary directory for the MDM's TLS certificate");
  }
  const std::string trust_file = temp_dir + "/mdm-tls.pem";
  if (auto w = pki::write_file(trust_file, (*started)->tls_certificate_pem()); !w) return w.error();
  return std::unique_ptr<MdmPort>(new LocalMdm(std::move(*started), trust_file));
}

Result<std::unique_ptr<MdmPort>> connect_running_mdm(const MdmEndpoint& endpoint,
                                                     std::int64_t http_timeout_ms) {
  auto port = std::make_unique<RunningMdm>(endpoint, http_timeout_ms);
  ATTESTLAB_TRY(port->probe());
  return std::unique_ptr<MdmPort>(std::move(port));
}

}  // namespace attestlab::scenarios

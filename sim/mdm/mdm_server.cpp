// MdmServer itself: start-up, the device table and its lock, pushes, and the public API.
// The endpoints are in mdm_server_routes.cpp and mdm_server_admin.cpp.
#include "sim/mdm/mdm_server.h"

#include "sim/mdm/mdm_server_impl.h"
#include "sim/mdm/profile.h"

namespace attestlab::sim {
namespace {

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

void MdmServer::Impl::bump() {
  ++version;
  changed.notify_all();
}

std::optional<MdmServer::Impl::PushTarget> MdmServer::Impl::push_target(
    const MdmDeviceRecord& d) const {
  if (!config.push || !d.token_received || d.push_token.empty()) return std::nullopt;
  return std::make_pair(d.push_token, d.push_magic);
}

Result<std::string> MdmServer::Impl::queue(MdmDeviceRecord& d, mdm::MdmCommand command) {
  return mdm_server_detail::enqueue_command(d, std::move(command), config.max_queued_commands,
                                            now());
}

void MdmServer::Impl::deliver_push(const std::optional<PushTarget>& target) const {
  if (target && config.push) config.push->push(target->first, target->second);
}

std::optional<MdmDeviceRecord> MdmServer::Impl::device(const std::string& id) const {
  std::lock_guard lock(mutex);
  auto it = devices.find(id);
  if (it == devices.end()) return std::nullopt;
  return it->second;
}

bool MdmServer::Impl::push(const std::string& id) const {
  std::optional<PushTarget> target;
  {
    std::lock_guard lock(mutex);
    auto it = devices.find(id);
    if (it == devices.end()) return false;
    target = push_target(it->second);
  }
  if (!target) return false;
  return config.push->push(target->first, target->second);
}

Json MdmServer::Impl::devices_json(bool with_responses) const {
  std::lock_guard lock(mutex);
  Json list = Json::array();
  for (const auto& [id, d] : devices) list.push_back(d.to_json(with_responses));
  return {{"schema", "attestlab.mdm.devices/1"}, {"devices", std::move(list)}};
}

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
  return mdm_server_detail::acme_profile_xml(impl_->config, it->second);
}

Result<std::string> MdmServer::enqueue(const std::string& device_id, mdm::MdmCommand command) {
  std::optional<Impl::PushTarget> target;
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
  return enqueue(device_id, mdm_server_detail::attestation_command(impl_->config, with_nonce));
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

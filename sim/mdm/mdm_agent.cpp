// MdmAgent's public face and the connection it holds; the protocol and the commands are
// in the other mdm_agent_*.cpp files (see mdm_agent_impl.h).
#include "sim/mdm/mdm_agent.h"

#include "core/thread_name.h"
#include "sim/mdm/mdm_agent_impl.h"
#include "sim/mdm/mdm_plist.h"

namespace attestlab::sim {

std::string mdm_agent_detail::body_excerpt(const std::string& body) {
  std::string text = body.substr(0, 200);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

MdmAgent::Impl::Impl(Device d, std::shared_ptr<AppleAttestationServers> servers, MdmAgentOptions o)
    : options(std::move(o)),
      apple(std::move(servers)),
      device(std::move(d), apple, options.attestation) {
  http::ClientOptions client_options;
  client_options.trust_ca_pem_file = options.trust_ca_pem_file;
  client_options.timeout = options.http_timeout;
  client = std::make_unique<http::Client>(client_options);
}

Error MdmAgent::Impl::remember(Error e) {
  std::lock_guard lock(records.mutex);
  records.last_error = e;
  return e;
}

Result<http::Response> MdmAgent::Impl::put_plist(const std::string& url, const Json& body,
                                                 const char* content_type) {
  http::Headers headers{{"content-type", content_type}, {"user-agent", options.user_agent}};
  return client->request("PUT", url, headers, json_to_plist_xml(body));
}

mdm::CheckinMessage MdmAgent::Impl::checkin_base(const std::string& type) const {
  mdm::CheckinMessage m;
  m.message_type = type;
  m.topic = records.topic;
  m.udid = records.reported_udid;
  m.enrollment_id = records.reported_enrollment_id;
  return m;
}

MdmAgent::MdmAgent(Device device, std::shared_ptr<AppleAttestationServers> apple,
                   MdmAgentOptions options)
    : impl_(std::make_unique<Impl>(std::move(device), std::move(apple), std::move(options))) {}

MdmAgent::~MdmAgent() {
  stop();
  std::lock_guard lock(impl_->records.mutex);
  if (impl_->options.push && !impl_->records.push_token.empty())
    impl_->options.push->unregister_device(impl_->records.push_token);
}

Result<void> MdmAgent::enroll() {
  return impl_->enroll();
}

bool MdmAgent::enrolled() const {
  std::lock_guard lock(impl_->records.mutex);
  return impl_->records.enrolled;
}

Result<std::size_t> MdmAgent::run_until_idle() {
  return impl_->run_until_idle();
}
Result<void> MdmAgent::check_out() {
  return impl_->check_out();
}

void MdmAgent::start() {
  if (impl_->running.exchange(true)) return;
  impl_->stopping = false;
  impl_->thread = std::thread([this] {
    name_this_thread("mdm-agent");
    impl_->loop();
  });
}

void MdmAgent::stop() {
  if (!impl_->running.exchange(false)) return;
  impl_->stopping = true;
  impl_->wake->notify();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool MdmAgent::running() const {
  return impl_->running;
}
void MdmAgent::wake() {
  impl_->wake->notify();
}

void MdmAgent::set_locked(bool locked) {
  const bool was = impl_->locked.exchange(locked);
  if (was && !locked) impl_->wake->notify();
}

bool MdmAgent::locked() const {
  return impl_->locked;
}

std::string MdmAgent::device_id() const {
  std::lock_guard lock(impl_->records.mutex);
  return impl_->records.reported_udid.empty() ? impl_->records.reported_enrollment_id
                                              : impl_->records.reported_udid;
}

std::string MdmAgent::server_url() const {
  std::lock_guard lock(impl_->records.mutex);
  return impl_->records.server_url;
}

std::string MdmAgent::check_in_url() const {
  std::lock_guard lock(impl_->records.mutex);
  return impl_->records.check_in_url;
}

std::vector<ExecutedCommand> MdmAgent::history() const {
  std::lock_guard lock(impl_->records.mutex);
  return impl_->records.history;
}

std::vector<InstalledProfile> MdmAgent::profiles() const {
  std::lock_guard lock(impl_->records.mutex);
  return impl_->records.profiles;
}

std::vector<KeychainIdentity> MdmAgent::identities() const {
  std::lock_guard lock(impl_->device.mutex);
  return impl_->device.keychain.identities();
}

std::optional<Error> MdmAgent::last_error() const {
  std::lock_guard lock(impl_->records.mutex);
  return impl_->records.last_error;
}

std::uint64_t MdmAgent::sessions() const {
  std::lock_guard lock(impl_->records.mutex);
  return impl_->records.sessions;
}

void MdmAgent::with_device(
    const std::function<void(Device&, AttestationService&, DeviceKeychain&)>& fn) {
  std::lock_guard lock(impl_->device.mutex);
  fn(impl_->device.device, impl_->device.attestation, impl_->device.keychain);
}

}  // namespace attestlab::sim

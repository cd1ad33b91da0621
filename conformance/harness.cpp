#include "conformance/harness.h"

#include <algorithm>
#include <thread>

#include "core/bytes.h"
#include "core/pki.h"

namespace attestlab::conformance {

// --- http-01 responder ---------------------------------------------------------------------

Result<std::unique_ptr<Http01Responder>> Http01Responder::start(const std::string& listen) {
  auto hp = parse_host_port(listen);
  if (!hp) return Error::make("malformed", "http01.listen \"" + listen + "\" is not HOST:PORT");
  std::unique_ptr<Http01Responder> responder(new Http01Responder());
  http::ServerOptions options;
  options.host = hp->first;
  options.port = hp->second;
  // Several validations may be held back at once (see provide's delay).
  options.threads = 4;
  Http01Responder* self = responder.get();
  auto server =
      http::Server::start(options, [self](const http::Request& r) { return self->handle(r); });
  if (!server) {
    return Error::make("connection", "http-01 responder cannot listen on " + listen + ": " +
                                         server.error().detail);
  }
  responder->server_ = std::move(server.value());
  return responder;
}

Http01Responder::~Http01Responder() {
  if (server_) server_->stop();
}

http::Response Http01Responder::handle(const http::Request& request) {
  static const std::string kPrefix = "/.well-known/acme-challenge/";
  http::Response response;
  std::string target = request.target.substr(0, request.target.find('?'));
  if (request.method != "GET" || target.compare(0, kPrefix.size(), kPrefix) != 0) {
    response.status = 404;
    return response;
  }
  const std::string token = target.substr(kPrefix.size());
  std::string body;
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(mu_);
    auto it = answers_.find(token);
    if (it == answers_.end()) {
      response.status = 404;
      return response;
    }
    ++it->second.hits;
    body = it->second.body;
    delay = it->second.delay;
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  response.status = 200;
  response.set("Content-Type", "application/octet-stream");
  response.body = body;
  return response;
}

void Http01Responder::provide(const std::string& token, std::string body,
                              std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  Answer& a = answers_[token];
  a.body = std::move(body);
  a.delay = delay;
}

void Http01Responder::withdraw(const std::string& token) {
  std::lock_guard lock(mu_);
  answers_.erase(token);
}

int Http01Responder::hits(const std::string& token) const {
  std::lock_guard lock(mu_);
  auto it = answers_.find(token);
  return it == answers_.end() ? 0 : it->second.hits;
}

std::uint16_t Http01Responder::port() const {
  return server_ ? server_->port() : 0;
}

// --- fake DNS ---------------------------------------------------------------------------------

Result<void> DnsTxtClient::post(const std::string& path, const Json& body) const {
  http::Client client;
  std::string base = base_;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto r = client.request("POST", base + path, {{"content-type", "application/json"}}, body.dump());
  if (!r) return r.error();
  if (r->status != 200) {
    return Error::make("connection", "challtestsrv " + path + " answered HTTP " +
                                         std::to_string(r->status) + ": " + r->body);
  }
  return ok();
}

static std::string fqdn(const std::string& name) {
  return !name.empty() && name.back() == '.' ? name : name + ".";
}

Result<void> DnsTxtClient::set_txt(const std::string& name, const std::string& value) const {
  return post("/set-txt", Json{{"host", fqdn(name)}, {"value", value}});
}

Result<void> DnsTxtClient::clear_txt(const std::string& name) const {
  return post("/clear-txt", Json{{"host", fqdn(name)}});
}

// --- client setup -----------------------------------------------------------------------------

client::AcmeClientOptions client_options(const TargetProfile& target) {
  client::AcmeClientOptions o;
  o.trust_ca_pem_file = target.trust_ca;
  o.timeout = target.timing.http_timeout;
  o.poll_interval = target.timing.poll_interval;
  o.user_agent = "attestlab-conformance/0.1";
  // Targets may reject valid nonces at random (Pebble: 5 %); with 8 retries a request
  // fails that way with probability 0.05^9, negligible over a whole run.
  o.bad_nonce_retries = 8;
  const auto cap = target.timing.max_retry_after;
  o.sleep = [cap](std::chrono::milliseconds d) { std::this_thread::sleep_for(std::min(d, cap)); };
  return o;
}

std::optional<client::ExternalAccountBinding> eab_binding(const TargetProfile& target) {
  if (!target.eab) return std::nullopt;
  auto key = base64url_decode(target.eab->hmac_key_b64u);
  if (!key) return std::nullopt;  // parse_target_profile already refused this
  return client::ExternalAccountBinding{target.eab->kid, *key};
}

// --- devices -------------------------------------------------------------------------------

namespace {

std::uint64_t fnv1a64(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::vector<sim::DeviceIdentity> device_identities(const Case& c) {
  sim::FleetGenerator generator(fnv1a64(c.id));
  std::vector<sim::DeviceIdentity> out;
  for (const auto& slot : c.devices) {
    sim::DeviceIdentity id = generator.identity(slot.kind);
    if (!slot.os_version.empty()) id.os_version = slot.os_version;
    out.push_back(std::move(id));
  }
  return out;
}

Json inventory_json(const CaseList& cases) {
  CaseList sorted = cases;
  std::sort(sorted.begin(), sorted.end(), [](const Case& a, const Case& b) { return a.id < b.id; });
  Json out = Json::array();
  for (const auto& c : sorted) {
    const auto identities = device_identities(c);
    for (std::size_t i = 0; i < c.devices.size(); ++i) {
      if (c.devices[i].inventory_status.empty()) continue;
      out.push_back(Json{{"serial", identities[i].serial},
                         {"udid", identities[i].udid},
                         {"status", c.devices[i].inventory_status},
                         {"platform", sim::platform_name(c.devices[i].kind)},
                         {"_case", c.id}});
    }
  }
  return out;
}

Result<void> write_inventory(const std::string& path, const CaseList& cases) {
  return pki::write_file(path, inventory_json(cases).dump(1) + "\n");
}

// --- harness --------------------------------------------------------------------------------

Result<std::unique_ptr<Harness>> Harness::create(TargetProfile target, const CaseList& all_cases) {
  std::unique_ptr<Harness> h(new Harness(std::move(target)));
  const TargetProfile& t = h->target_;
  if (!t.http01_listen.empty()) {
    auto responder = Http01Responder::start(t.http01_listen);
    if (!responder) return responder.error();
    h->http01_ = std::move(responder.value());
  }
  if (!t.dns01_management.empty()) h->dns_.emplace(t.dns01_management);
  if (!t.device.attestation_ca_dir.empty()) {
    auto ca = sim::AppleCa::load(t.device.attestation_ca_dir);
    if (!ca) {
      return Error::make(ca.error().type, "device.attestation_ca_dir: " + ca.error().detail);
    }
    h->apple_ca_.emplace(std::move(ca.value()));
  }
  if (t.device.identity_source == "inventory-file" && !t.device.inventory_file.empty()) {
    auto written = write_inventory(t.device.inventory_file, all_cases);
    if (!written)
      return Error::make(written.error().type, "device.inventory_file: " + written.error().detail);
  }
  return h;
}

Harness::~Harness() = default;

Result<std::pair<std::shared_ptr<const client::JwsSigner>, std::string>> Harness::shared_account() {
  std::lock_guard lock(account_mu_);
  if (account_) return *account_;
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) {
    account_ = key.error();
    return *account_;
  }
  auto signer = client::make_signer(*key);
  client::AcmeClient client(target_.directory_url, client_options(target_));
  client::NewAccountRequest req;
  req.contact = {"mailto:conformance@example.com"};
  if (target_.eab && target_.eab->required) req.eab = eab_binding(target_);
  auto account = client.new_account(signer, req);
  if (!account) {
    account_ = account.error();
  } else {
    account_ = std::make_pair(signer, account->url);
  }
  return *account_;
}

}  // namespace attestlab::conformance

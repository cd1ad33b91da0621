#include "conformance/harness.h"

#include <algorithm>
#include <thread>

#include "core/bytes.h"
#include "core/pki.h"

namespace attestlab::conformance {

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
  o.sleep = [cap](std::chrono::milliseconds d) {
    const auto wait = std::min(d, cap);
    std::this_thread::sleep_for(wait);
    return wait;
  };
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
  if (t.http01_responder) {
    h->http01_ = t.http01_responder;
  } else if (!t.http01_listen.empty()) {
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

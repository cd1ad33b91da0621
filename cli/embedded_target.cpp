#include "cli/embedded_target.h"

#include <unistd.h>

#include <filesystem>

#include "conformance/harness.h"
#include "conformance/registry.h"
#include "core/bytes.h"
#include "core/child_process.h"
#include "core/clock.h"
#include "core/pki.h"
#include "server/acme/acme_server.h"
#include "server/attest/attest_policy.h"

namespace attestlab::cli {

namespace {

// The documented defaults (server/attest/attest_policy.h), spelled out.
constexpr const char* kConformancePolicy = R"({"match": "either", "require_sip": true,
 "require_full_secure_boot": true, "forbid_third_party_kexts": true,
 "allow_user_enrollment": false, "one_active_certificate_per_device": true})";

// A private server on its own virtual clock; stopping it is destroying it.
class ClockedEmbeddedTarget final : public scenarios::ClockedTarget {
 public:
  ClockedEmbeddedTarget(std::unique_ptr<server::AcmeServer> server,
                        std::shared_ptr<VirtualClock> clock, scenarios::Target target)
      : server_(std::move(server)), clock_(std::move(clock)), target_(std::move(target)) {}
  ~ClockedEmbeddedTarget() override { server_->stop(); }
  const scenarios::Target& target() const override { return target_; }
  void advance_clock(std::int64_t seconds) override { clock_->advance(seconds); }

 private:
  std::unique_ptr<server::AcmeServer> server_;
  std::shared_ptr<VirtualClock> clock_;
  scenarios::Target target_;
};

Result<std::unique_ptr<server::AcmeServer>> start_server(const server::ServerConfig& config,
                                                         std::shared_ptr<Clock> clock) {
  auto started = server::AcmeServer::start(config, std::move(clock), server::LogLevel::Quiet);
  if (!started)
    return Error::make(started.error().type, "embedded server: " + started.error().detail);
  return std::move(*started);
}

// Writes WORK/eab-keys.json with eight fresh key ids; returns them as credentials.
Result<conformance::EabCredentials> write_eab_keys(const std::string& path) {
  conformance::EabCredentials eab;
  Json keys_json = Json::object();
  for (int i = 0; i < 8; ++i) {
    const std::string kid = "conformance-" + std::to_string(i);
    const std::string key = base64url_encode(random_bytes(32));
    keys_json[kid] = key;
    if (i == 0) {
      eab.kid = kid;
      eab.hmac_key_b64u = key;
    } else {
      eab.more_keys.push_back({kid, key});
    }
  }
  ATTESTLAB_TRY(pki::write_file(path, keys_json.dump(1), true));
  return eab;
}

}  // namespace

EmbeddedTargetOptions conformance_target_options(bool eab_required) {
  EmbeddedTargetOptions o;
  o.name = eab_required ? "embedded-eab" : "embedded";
  o.work_dir_prefix = "attestlab-conform";
  // Written again by the runner (same content); the server reads it at start-up.
  o.inventory_json = conformance::inventory_json(conformance::all_cases()).dump(1) + "\n";
  o.policy_json = kConformancePolicy;
  o.eab_keys = true;
  o.eab_required = eab_required;
  o.challenge_peers = true;
  return o;
}

EmbeddedTargetOptions load_target_options(bool challenge_peers) {
  EmbeddedTargetOptions o;
  o.work_dir_prefix = "attestlab-load";
  // A policy member not given keeps its default: only the quota changes.
  o.policy_json = R"({"limits": {"new_accounts_per_ip_per_hour": 100000000}})";
  o.challenge_peers = challenge_peers;
  return o;
}

Result<EmbeddedTargetOptions> scenario_target_options(
    const std::vector<scenarios::ScenarioPlan>& plans) {
  std::vector<scenarios::Scenario> selected;
  for (const auto& p : plans) selected.push_back(p.scenario);
  auto assumed = scenarios::merged_assumed_policy(selected);
  if (!assumed) return assumed.error();
  auto policy = policy_with_assumptions(*assumed);
  if (!policy) return policy.error();
  EmbeddedTargetOptions o;
  o.work_dir_prefix = "attestlab-scenarios";
  o.inventory_json = scenarios::inventory_json(plans).dump(1);
  o.policy_json = policy->dump(1);
  return o;
}

Result<Json> policy_with_assumptions(const Json& assumed) {
  Json policy = server::AttestPolicy{}.to_json();
  for (auto it = assumed.begin(); it != assumed.end(); ++it) {
    if (it->is_object() && policy.contains(it.key()) && policy[it.key()].is_object()) {
      for (auto kv = it->begin(); kv != it->end(); ++kv) policy[it.key()][kv.key()] = *kv;
    } else {
      policy[it.key()] = *it;
    }
  }
  auto checked = server::AttestPolicy::from_json(policy);
  if (!checked) return Error::make("malformed", "assumed policy: " + checked.error().detail);
  return policy;
}

Result<std::unique_ptr<EmbeddedTarget>> EmbeddedTarget::start(EmbeddedTargetOptions options) {
  std::unique_ptr<EmbeddedTarget> t(new EmbeddedTarget());
  t->options_ = std::move(options);
  const EmbeddedTargetOptions& o = t->options_;
  std::string templ =
      (std::filesystem::temp_directory_path() / (o.work_dir_prefix + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr)
    return Error::make("serverInternal", "cannot create a temporary directory");
  t->work_dir_ = templ;
  t->ca_dir_ = t->work_dir_ + "/attestation-ca";
  t->inventory_file_ = t->work_dir_ + "/inventory.json";
  const std::string policy_file = t->work_dir_ + "/policy.json";

  auto ca = sim::AppleCa::create(SystemClock().now());
  if (!ca) return ca.error();
  ATTESTLAB_TRY(ca->save(t->ca_dir_));
  if (!o.inventory_json.empty())
    ATTESTLAB_TRY(pki::write_file(t->inventory_file_, o.inventory_json));
  if (!o.policy_json.empty()) ATTESTLAB_TRY(pki::write_file(policy_file, o.policy_json));

  server::ServerConfig& config = t->config_;
  config.listen_host = "127.0.0.1";
  config.listen_port = 0;
  config.data_dir = t->work_dir_ + "/server";
  config.attestation_roots_file = t->ca_dir_ + "/root.pem";
  if (!o.inventory_json.empty()) config.inventory_file = t->inventory_file_;
  if (!o.policy_json.empty()) config.policy_file = policy_file;
  config.io_threads = 2;
  config.validation_threads = 4;
  if (o.eab_keys) {
    config.eab_keys_file = t->work_dir_ + "/eab-keys.json";
    auto eab = write_eab_keys(config.eab_keys_file);
    if (!eab) return eab.error();
    t->eab_ = std::move(*eab);
    t->eab_.required = o.eab_required;
  }
  config.eab_required = o.eab_required;
  if (o.challenge_peers) {
    t->have_dns_ = t->dns_.start(t->work_dir_ + "/challtestsrv.log").ok();
    auto responder = client::Http01Responder::start("127.0.0.1:0");
    if (!responder)
      return Error::make("serverInternal", "http-01 responder: " + responder.error().detail);
    t->http01_ = std::move(*responder);
    if (t->have_dns_) config.dns_server = t->dns_.dns_address();
    config.http01_port = t->http01_->port();
  }
  auto server = start_server(config, SystemClock::instance());
  if (!server) return server.error();
  t->server_ = std::move(*server);
  t->directory_url_ = t->server_->directory_url();
  t->trust_file_ = t->work_dir_ + "/tls-trust.pem";
  ATTESTLAB_TRY(pki::write_file(t->trust_file_, t->server_->tls_certificate_pem()));

  scenarios::Target& target = t->scenario_target_;
  target.name = o.name;
  target.directory_url = t->directory_url_;
  target.trust_ca_pem_file = t->trust_file_;
  target.attestation_ca = std::make_shared<const sim::AppleCa>(std::move(*ca));
  target.capabilities = {scenarios::kRequiresInventory, scenarios::kRequiresPolicy};
  target.max_poll_sleep_ms = 50;
  return t;
}

conformance::TargetProfile EmbeddedTarget::conformance_profile() const {
  conformance::TargetProfile t;
  t.name = options_.name;
  t.directory_url = directory_url_;
  t.trust_ca = trust_file_;
  if (options_.eab_keys) t.eab = eab_;
  t.identifiers = {"dns", "ip", "permanent-identifier", "hardware-module"};
  t.challenges = {"device-attest-01"};
  if (have_dns_) {
    t.challenges.push_back("http-01");
    t.challenges.push_back("dns-01");
    t.http01_listen = "127.0.0.1:" + std::to_string(http01_->port());
    t.http01_responder = http01_;
    t.dns01_management = dns_.management_url();
  }
  t.capabilities = {"revocation",     "key-change",       "wildcard",
                    "posture-policy", "device-supersede", "strict-contacts"};
  t.device.attestation_ca_dir = ca_dir_;
  if (!options_.inventory_json.empty()) {
    t.device.identity_source = "inventory-file";
    t.device.inventory_file = inventory_file_;
  }
  // A local in-process target: short polls; the server's Retry-After (1 s) is still
  // checked by the cases, only the wait is shortened.
  t.timing.case_timeout = std::chrono::milliseconds(20000);
  t.timing.poll_interval = std::chrono::milliseconds(25);
  t.timing.max_retry_after = std::chrono::milliseconds(50);
  return t;
}

std::uint64_t EmbeddedTarget::certificates_issued() const {
  return server_->metrics().certificates_issued();
}

scenarios::ClockedTargetFactory EmbeddedTarget::clocked_target_factory() {
  return [this]() -> Result<std::unique_ptr<scenarios::ClockedTarget>> {
    const int n = ++clocked_count_;
    server::ServerConfig config = config_;
    config.data_dir = work_dir_ + "/clocked-" + std::to_string(n);
    config.decision_log_file.clear();
    auto clock = std::make_shared<VirtualClock>();
    auto server = start_server(config, clock);
    if (!server) return server.error();
    scenarios::Target target = scenario_target_;
    target.name = options_.name + " (private clock)";
    target.directory_url = (*server)->directory_url();
    target.trust_ca_pem_file = config.data_dir + "/tls-trust.pem";
    ATTESTLAB_TRY(pki::write_file(target.trust_ca_pem_file, (*server)->tls_certificate_pem()));
    return std::unique_ptr<scenarios::ClockedTarget>(
        new ClockedEmbeddedTarget(std::move(*server), std::move(clock), std::move(target)));
  };
}

EmbeddedTarget::~EmbeddedTarget() {
  if (server_) server_->stop();
  dns_.stop();
  if (!options_.keep_work_dir && !work_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
  }
}

}  // namespace attestlab::cli

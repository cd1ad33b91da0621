#include "cli/scenario_target.h"

#include <unistd.h>

#include <filesystem>

#include "core/clock.h"
#include "core/pki.h"
#include "server/acme/acme_server.h"
#include "server/attest/attest_policy.h"
#include "sim/device/apple_ca.h"

namespace attestlab::cli {

namespace {

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

}  // namespace

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

Result<std::unique_ptr<EmbeddedScenarioTarget>> EmbeddedScenarioTarget::start(
    const std::vector<scenarios::ScenarioPlan>& plans, bool keep_work_dir) {
  std::unique_ptr<EmbeddedScenarioTarget> t(new EmbeddedScenarioTarget());
  t->keep_ = keep_work_dir;
  std::string templ =
      (std::filesystem::temp_directory_path() / "attestlab-scenarios-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    return Error::make("serverInternal", "cannot create a temporary directory");
  t->work_dir_ = templ;

  std::vector<scenarios::Scenario> selected;
  for (const auto& p : plans) selected.push_back(p.scenario);
  auto assumed = scenarios::merged_assumed_policy(selected);
  if (!assumed) return assumed.error();
  auto policy = policy_with_assumptions(*assumed);
  if (!policy) return policy.error();

  auto ca = sim::AppleCa::create(SystemClock().now());
  if (!ca) return ca.error();
  const std::string ca_dir = t->work_dir_ + "/attestation-ca";
  ATTESTLAB_TRY(ca->save(ca_dir));
  const std::string inventory = t->work_dir_ + "/inventory.json";
  const std::string policy_file = t->work_dir_ + "/policy.json";
  ATTESTLAB_TRY(pki::write_file(inventory, scenarios::inventory_json(plans).dump(1)));
  ATTESTLAB_TRY(pki::write_file(policy_file, policy->dump(1)));

  server::ServerConfig& config = t->config_;
  config.listen_host = "127.0.0.1";
  config.listen_port = 0;
  config.data_dir = t->work_dir_ + "/server";
  config.attestation_roots_file = ca_dir + "/root.pem";
  config.inventory_file = inventory;
  config.policy_file = policy_file;
  config.io_threads = 2;
  config.validation_threads = 4;
  auto server = start_server(config, SystemClock::instance());
  if (!server) return server.error();
  t->server_ = std::move(*server);
  const std::string trust = t->work_dir_ + "/tls-trust.pem";
  ATTESTLAB_TRY(pki::write_file(trust, t->server_->tls_certificate_pem()));

  scenarios::Target& target = t->target_;
  target.name = "embedded";
  target.directory_url = t->server_->directory_url();
  target.trust_ca_pem_file = trust;
  target.attestation_ca = std::make_shared<const sim::AppleCa>(std::move(*ca));
  target.capabilities = {scenarios::kRequiresInventory, scenarios::kRequiresPolicy};
  target.max_poll_sleep_ms = 50;
  return t;
}

scenarios::ClockedTargetFactory EmbeddedScenarioTarget::clocked_target_factory() {
  return [this]() -> Result<std::unique_ptr<scenarios::ClockedTarget>> {
    const int n = ++clocked_count_;
    server::ServerConfig config = config_;
    config.data_dir = work_dir_ + "/clocked-" + std::to_string(n);
    config.decision_log_file.clear();
    auto clock = std::make_shared<VirtualClock>();
    auto server = start_server(config, clock);
    if (!server) return server.error();
    scenarios::Target target = target_;
    target.name = "embedded (private clock)";
    target.directory_url = (*server)->directory_url();
    target.trust_ca_pem_file = config.data_dir + "/tls-trust.pem";
    ATTESTLAB_TRY(pki::write_file(target.trust_ca_pem_file, (*server)->tls_certificate_pem()));
    return std::unique_ptr<scenarios::ClockedTarget>(
        new ClockedEmbeddedTarget(std::move(*server), std::move(clock), std::move(target)));
  };
}

EmbeddedScenarioTarget::~EmbeddedScenarioTarget() {
  if (server_) server_->stop();
  if (!keep_ && !work_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
  }
}

}  // namespace attestlab::cli

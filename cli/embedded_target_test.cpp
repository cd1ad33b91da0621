#include "cli/embedded_target.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "client/acme_client.h"
#include "conformance/harness.h"
#include "conformance/registry.h"
#include "core/pki.h"
#include "scenarios/engine.h"
#include "scenarios/library.h"
#include "scenarios/scenario.h"
#include "server/acme/rate_limits.h"
#include "server/attest/attest_policy.h"

namespace attestlab::cli {
namespace {

// The conformance options without pebble-challtestsrv (a test of its own below).
EmbeddedTargetOptions conformance_options(bool eab_required) {
  EmbeddedTargetOptions o = conformance_target_options(eab_required);
  o.challenge_peers = false;
  return o;
}

Result<client::Directory> directory_of(const conformance::TargetProfile& profile) {
  client::AcmeClient client(profile.directory_url, conformance::client_options(profile));
  return client.directory();
}

// The named library scenarios, planned together (one identity generator: no device twice).
std::vector<scenarios::ScenarioPlan> plans_of(const std::vector<std::string>& names) {
  auto library = scenarios::load_library();
  EXPECT_TRUE(library.ok()) << library.error().detail;
  if (!library) return {};
  std::vector<scenarios::Scenario> selected;
  for (const auto& name : names) {
    auto one = scenarios::select_scenarios(*library, name);
    EXPECT_TRUE(one.ok()) << one.error().detail;
    if (one) selected.insert(selected.end(), one->begin(), one->end());
  }
  return scenarios::plan_run(selected, 42);
}

TEST(EmbeddedTarget, ConformanceProfileDescribesTheRunningServer) {
  auto t = EmbeddedTarget::start(conformance_options(false));
  ASSERT_TRUE(t.ok()) << t.error().detail;
  const conformance::TargetProfile p = (*t)->conformance_profile();
  EXPECT_EQ(p.name, "embedded");
  EXPECT_EQ(p.directory_url, (*t)->directory_url());
  EXPECT_EQ(p.directory_url.rfind("https://127.0.0.1:", 0), 0u) << p.directory_url;
  EXPECT_EQ(p.challenges, std::vector<std::string>{"device-attest-01"});
  EXPECT_TRUE(p.http01_listen.empty());
  EXPECT_TRUE(p.has("posture-policy"));
  EXPECT_TRUE(p.has("device-supersede"));
  // The inventory the server reads lists every conformance case's devices.
  auto inventory = pki::read_file(p.device.inventory_file);
  ASSERT_TRUE(inventory.ok()) << inventory.error().detail;
  EXPECT_EQ(*inventory, conformance::inventory_json(conformance::all_cases()).dump(1) + "\n");
  EXPECT_EQ(p.device.identity_source, "inventory-file");
  EXPECT_TRUE(std::filesystem::is_regular_file(p.device.attestation_ca_dir + "/root.pem"));
  // EAB keys are offered but not required.
  ASSERT_TRUE(p.eab.has_value());
  EXPECT_FALSE(p.eab->required);
  EXPECT_EQ(p.eab->more_keys.size(), 7u);
  // The server answers over TLS trusted through the profile's trust file.
  auto dir = directory_of(p);
  ASSERT_TRUE(dir.ok()) << dir.error().detail;
  EXPECT_FALSE(dir->new_account.empty());
  EXPECT_FALSE(dir->external_account_required);
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  client::AcmeClient client(p.directory_url, conformance::client_options(p));
  auto account = client.new_account(*key);
  EXPECT_TRUE(account.ok()) << account.error().detail;
}

TEST(EmbeddedTarget, EabVariantRequiresABinding) {
  auto t = EmbeddedTarget::start(conformance_options(true));
  ASSERT_TRUE(t.ok()) << t.error().detail;
  const conformance::TargetProfile p = (*t)->conformance_profile();
  EXPECT_EQ(p.name, "embedded-eab");
  ASSERT_TRUE(p.eab.has_value());
  EXPECT_TRUE(p.eab->required);
  auto dir = directory_of(p);
  ASSERT_TRUE(dir.ok()) << dir.error().detail;
  EXPECT_TRUE(dir->external_account_required);

  client::AcmeClient client(p.directory_url, conformance::client_options(p));
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  auto without = client.new_account(*key);
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(without.error().type, "externalAccountRequired");
  client::NewAccountRequest req;
  req.eab = conformance::eab_binding(p);
  ASSERT_TRUE(req.eab.has_value());
  auto with = client.new_account(*key, req);
  EXPECT_TRUE(with.ok()) << with.error().detail;
}

TEST(EmbeddedTarget, ChallengePeersMatchTheProfile) {
  auto t = EmbeddedTarget::start(conformance_target_options(false));
  ASSERT_TRUE(t.ok()) << t.error().detail;
  const conformance::TargetProfile p = (*t)->conformance_profile();
  const std::set<std::string> challenges(p.challenges.begin(), p.challenges.end());
  // Without pebble-challtestsrv on this machine the target honestly offers less.
  EXPECT_EQ(challenges.count("http-01"), (*t)->has_challenge_peers() ? 1u : 0u);
  EXPECT_EQ(challenges.count("dns-01"), (*t)->has_challenge_peers() ? 1u : 0u);
  EXPECT_EQ(p.http01_listen.empty(), !(*t)->has_challenge_peers());
  EXPECT_EQ(p.dns01_management.empty(), !(*t)->has_challenge_peers());
}

// The http-01 responder listens before its port reaches the server's config and the
// profile, and the harness (and `load`) use that responder: no port is picked free and bound
// later, when a parallel test may have taken it ("Address already in use").
TEST(EmbeddedTarget, Http01ResponderIsListeningBeforeItsPortIsHandedOut) {
  auto t = EmbeddedTarget::start(conformance_target_options(false));
  ASSERT_TRUE(t.ok()) << t.error().detail;
  if (!(*t)->has_challenge_peers()) GTEST_SKIP() << "no pebble-challtestsrv";
  const conformance::TargetProfile p = (*t)->conformance_profile();
  ASSERT_NE(p.http01_responder, nullptr);
  EXPECT_EQ(p.http01_listen, "127.0.0.1:" + std::to_string(p.http01_responder->port()));
  // Nobody else can bind it, and the harness does not try to.
  EXPECT_FALSE(client::Http01Responder::start(p.http01_listen).ok());
  auto harness = conformance::Harness::create(p, {});
  ASSERT_TRUE(harness.ok()) << harness.error().detail;
  EXPECT_EQ((*harness)->http01(), p.http01_responder.get());
}

TEST(EmbeddedTarget, WorkDirIsRemovedUnlessKept) {
  std::string removed, kept;
  {
    auto t = EmbeddedTarget::start(conformance_options(false));
    ASSERT_TRUE(t.ok()) << t.error().detail;
    removed = (*t)->work_dir();
    EXPECT_TRUE(std::filesystem::is_directory(removed));
    EXPECT_EQ(std::filesystem::path(removed).filename().string().rfind("attestlab-conform-", 0),
              0u);
  }
  EXPECT_FALSE(std::filesystem::exists(removed));
  {
    EmbeddedTargetOptions o = conformance_options(false);
    o.keep_work_dir = true;
    auto t = EmbeddedTarget::start(o);
    ASSERT_TRUE(t.ok()) << t.error().detail;
    kept = (*t)->work_dir();
  }
  EXPECT_TRUE(std::filesystem::is_regular_file(kept + "/tls-trust.pem"));
  std::filesystem::remove_all(kept);
}

TEST(EmbeddedTarget, ScenarioTargetRunsScenariosIncludingServerClock) {
  // dormant-device needs server-clock: it runs on a private server.
  const auto both = plans_of({"happy-iphone", "dormant-device"});
  ASSERT_EQ(both.size(), 2u);
  auto options = scenario_target_options(both);
  ASSERT_TRUE(options.ok()) << options.error().detail;
  auto t = EmbeddedTarget::start(*options);
  ASSERT_TRUE(t.ok()) << t.error().detail;
  const scenarios::Target& target = (*t)->scenario_target();
  EXPECT_EQ(target.name, "embedded");
  EXPECT_EQ(target.directory_url, (*t)->directory_url());
  ASSERT_NE(target.attestation_ca, nullptr);
  EXPECT_EQ(target.capabilities,
            (std::set<std::string>{scenarios::kRequiresInventory, scenarios::kRequiresPolicy}));
  EXPECT_EQ(target.max_poll_sleep_ms, 50);
  auto inventory = pki::read_file((*t)->work_dir() + "/inventory.json");
  ASSERT_TRUE(inventory.ok());
  EXPECT_EQ(*inventory, scenarios::inventory_json(both).dump(1));

  scenarios::RunOptions run_options;
  run_options.jobs = 2;
  run_options.clocked_target = (*t)->clocked_target_factory();
  const auto summary = scenarios::run_scenarios(both, target, run_options);
  ASSERT_EQ(summary.scenarios.size(), 2u);
  for (const auto& s : summary.scenarios) {
    EXPECT_EQ(s.verdict(), "pass") << s.name;
    for (const auto& c : s.cases)
      EXPECT_EQ(c.outcome, reports::Outcome::Pass) << c.id << ": " << c.reason;
  }
}

TEST(EmbeddedTarget, ClockedTargetsArePrivateServers) {
  auto options = scenario_target_options(plans_of({"happy-iphone"}));
  ASSERT_TRUE(options.ok()) << options.error().detail;
  auto t = EmbeddedTarget::start(*options);
  ASSERT_TRUE(t.ok()) << t.error().detail;
  auto factory = (*t)->clocked_target_factory();
  auto first = factory();
  ASSERT_TRUE(first.ok()) << first.error().detail;
  auto second = factory();
  ASSERT_TRUE(second.ok()) << second.error().detail;
  const scenarios::Target& a = (*first)->target();
  EXPECT_EQ(a.name, "embedded (private clock)");
  EXPECT_NE(a.directory_url, (*t)->directory_url());
  EXPECT_NE(a.directory_url, (*second)->target().directory_url);
  EXPECT_EQ(a.attestation_ca, (*t)->scenario_target().attestation_ca);
  client::AcmeClientOptions client_options;
  client_options.trust_ca_pem_file = a.trust_ca_pem_file;
  client::AcmeClient client(a.directory_url, client_options);
  auto dir = client.directory();
  EXPECT_TRUE(dir.ok()) << dir.error().detail;
}

TEST(EmbeddedTarget, BadAssumedPolicyIsMalformed) {
  auto sc = scenarios::parse_scenario_text(R"({"name": "bad-policy", "summary": "s",
    "threat": "t", "spec": ["x"], "devices": [], "assumes_policy": {"require_sip": "yes"},
    "steps": [{"type": "advance_clock", "days": 1}]})",
                                           "bad-policy.json");
  ASSERT_TRUE(sc.ok()) << sc.error().detail;
  auto options = scenario_target_options(scenarios::plan_run({*sc}, 1));
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.error().type, "malformed");
  EXPECT_NE(options.error().detail.find("assumed policy: "), std::string::npos)
      << options.error().detail;
  EXPECT_NE(options.error().detail.find("require_sip"), std::string::npos)
      << options.error().detail;
}

// `load --embedded` must not measure the server's quota of new accounts per client IP (one
// address, a new account per enrollment: 10,000 an hour are passed within seconds), and
// nothing else of the default policy changes.
TEST(EmbeddedTarget, LoadTargetRaisesOnlyTheNewAccountQuota) {
  for (bool peers : {false, true}) {
    const EmbeddedTargetOptions o = load_target_options(peers);
    EXPECT_EQ(o.challenge_peers, peers);
    EXPECT_TRUE(o.inventory_json.empty());
    const Json policy = Json::parse(o.policy_json);
    auto limits = server::rate_limits_from_json(policy, server::RateLimits{});
    ASSERT_TRUE(limits.ok()) << limits.error().detail;
    EXPECT_EQ(limits->new_accounts_per_ip_per_hour, 100000000);
    Json others = server::rate_limits_json(*limits);
    Json defaults = server::rate_limits_json(server::RateLimits{});
    others.erase("new_accounts_per_ip_per_hour");
    defaults.erase("new_accounts_per_ip_per_hour");
    EXPECT_EQ(others, defaults);
    auto posture = server::AttestPolicy::from_json(policy);
    ASSERT_TRUE(posture.ok()) << posture.error().detail;
    EXPECT_EQ(posture->to_json(), server::AttestPolicy{}.to_json());
  }
  // The server starts with that policy and creates accounts.
  auto t = EmbeddedTarget::start(load_target_options(false));
  ASSERT_TRUE(t.ok()) << t.error().detail;
  const conformance::TargetProfile p = (*t)->conformance_profile();
  client::AcmeClient client(p.directory_url, conformance::client_options(p));
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  auto account = client.new_account(*key);
  EXPECT_TRUE(account.ok()) << account.error().detail;
}

TEST(PolicyWithAssumptions, MergesObjectsAndReplacesTheRest) {
  auto policy = policy_with_assumptions(
      Json{{"require_sip", false}, {"min_os_version", {{"macOS", "15.0"}}}});
  ASSERT_TRUE(policy.ok()) << policy.error().detail;
  EXPECT_EQ((*policy)["require_sip"], false);
  EXPECT_EQ((*policy)["min_os_version"]["macOS"], "15.0");
  // Members not assumed keep the defaults.
  const Json defaults = *policy_with_assumptions(Json::object());
  EXPECT_EQ((*policy)["require_full_secure_boot"], defaults["require_full_secure_boot"]);
  for (auto it = defaults["min_os_version"].begin(); it != defaults["min_os_version"].end(); ++it) {
    if (it.key() != "macOS") {
      EXPECT_EQ((*policy)["min_os_version"][it.key()], *it) << it.key();
    }
  }
}

}  // namespace
}  // namespace attestlab::cli

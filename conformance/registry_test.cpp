#include "conformance/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "conformance/harness.h"
#include "conformance/target.h"

namespace attestlab::conformance {
namespace {

// A profile declaring everything, so any capability a case names must be satisfiable.
TargetProfile everything() {
  TargetProfile t;
  t.name = "all";
  t.directory_url = "https://127.0.0.1:1/dir";
  t.identifiers = {"dns", "ip", "permanent-identifier", "hardware-module"};
  t.challenges = {"http-01", "dns-01", "device-attest-01"};
  t.capabilities = {"revocation",     "key-change",       "wildcard",
                    "posture-policy", "device-supersede", "strict-contacts"};
  t.device.attestation_ca_dir = "/ca";
  t.device.identity_source = "inventory-file";
  t.device.inventory_file = "/inv.json";
  t.http01_listen = "127.0.0.1:1";
  t.dns01_management = "http://127.0.0.1:1";
  t.eab = EabCredentials{"k", "c2VjcmV0", true, {}};
  return t;
}

TEST(Registry, HasEnoughUniquelyNamedCases) {
  const CaseList& cases = all_cases();
  EXPECT_GE(cases.size(), 120u);
  std::set<std::string> ids;
  for (const auto& c : cases) EXPECT_TRUE(ids.insert(c.id).second) << "duplicate id " << c.id;
  for (std::size_t i = 1; i < cases.size(); ++i) EXPECT_LT(cases[i - 1].id, cases[i].id);
}

TEST(Registry, EveryCaseIsFullyDescribed) {
  const auto& profiles = all_profiles();
  for (const auto& c : all_cases()) {
    EXPECT_FALSE(c.title.empty()) << c.id;
    EXPECT_FALSE(c.spec.empty()) << c.id;
    EXPECT_FALSE(c.section.empty()) << c.id;
    EXPECT_GT(c.requirement.size(), 20u) << c.id;
    EXPECT_TRUE(c.run != nullptr) << c.id;
    EXPECT_NE(std::find(profiles.begin(), profiles.end(), c.profile), profiles.end()) << c.id;
  }
}

TEST(Registry, IdsStartWithTheirProfileKey) {
  const std::map<std::string, std::vector<std::string>> prefixes = {
      {kProfileRfc8555, {"rfc8555-", "rfc8738-"}},
      {kProfileDeviceAttest, {"device-attest-"}},
      {kProfileApple, {"apple-"}},
      {kProfileMdaPolicy, {"mda-"}},
      {kProfileRfc9773, {"rfc9773-"}},
      {kProfileAcmeProfiles, {"profiles-"}},
  };
  for (const auto& c : all_cases()) {
    const auto& allowed = prefixes.at(c.profile);
    const bool ok = std::any_of(allowed.begin(), allowed.end(),
                                [&](const std::string& p) { return c.id.rfind(p, 0) == 0; });
    EXPECT_TRUE(ok) << c.id << " (profile " << c.profile << ")";
  }
}

TEST(Registry, PolicyLevelBelongsToOperatorPolicy) {
  for (const auto& c : all_cases()) {
    if (c.profile == kProfileMdaPolicy) {
      EXPECT_EQ(c.level, Level::Policy) << c.id;
    }
    if (c.level == Level::Policy && c.profile != kProfileMdaPolicy) {
      // Operator-policy rules outside the MDA profile (Apple key rules, attestlab's contact
      // policy) name the capability that declares the policy.
      const auto has = [&c](const char* cap) {
        return std::find(c.capabilities.begin(), c.capabilities.end(), cap) !=
               c.capabilities.end();
      };
      EXPECT_TRUE(has("posture-policy") || has("strict-contacts")) << c.id;
    }
  }
}

TEST(Registry, EveryCapabilityIsOneAProfileCanProvide) {
  const TargetProfile t = everything();
  for (const auto& c : all_cases()) {
    for (const auto& capability : c.capabilities) {
      EXPECT_FALSE(t.missing(capability).has_value())
          << c.id << " needs unknown capability " << capability;
    }
  }
}

TEST(Registry, DeviceCasesDeclareTheirDevices) {
  for (const auto& c : all_cases()) {
    if (c.profile == kProfileRfc8555) {
      EXPECT_TRUE(c.devices.empty()) << c.id;
      continue;
    }
    const bool uses_device_attest = std::find(c.capabilities.begin(), c.capabilities.end(),
                                              "device-attest-01") != c.capabilities.end();
    if (uses_device_attest) {
      EXPECT_FALSE(c.devices.empty()) << c.id;
    }
  }
}

TEST(Registry, InventoryListsEveryListedSlotOnceWithItsStatus) {
  const Json inventory = inventory_json(all_cases());
  ASSERT_TRUE(inventory.is_array());
  std::set<std::string> serials;
  std::map<std::string, int> statuses;
  for (const auto& e : inventory) {
    EXPECT_TRUE(serials.insert(e["serial"].get<std::string>()).second)
        << "serial listed twice: " << e.dump();
    ++statuses[e["status"].get<std::string>()];
  }
  EXPECT_GE(statuses["active"], 40);
  EXPECT_EQ(statuses["retired"], 1);
  EXPECT_EQ(statuses["lost"], 1);
  // The device that must stay unknown is not listed.
  for (const auto& c : all_cases()) {
    if (c.id != "mda-inventory-unknown") continue;
    const auto ids = device_identities(c);
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_EQ(serials.count(ids[0].serial), 0u);
  }
  // Deterministic: the same file every time.
  EXPECT_EQ(inventory, inventory_json(all_cases()));
}

}  // namespace
}  // namespace attestlab::conformance

namespace attestlab::conformance {
namespace {

TEST(Registry, DependenciesNameOtherExistingCases) {
  std::set<std::string> ids;
  for (const auto& c : all_cases()) ids.insert(c.id);
  int with_dependencies = 0;
  for (const auto& c : all_cases()) {
    for (const auto& dep : c.depends_on) {
      EXPECT_TRUE(ids.count(dep)) << c.id << " depends on unknown " << dep;
      EXPECT_NE(dep, c.id) << c.id << " depends on itself";
    }
    with_dependencies += c.depends_on.empty() ? 0 : 1;
  }
  EXPECT_GE(with_dependencies, 11) << "key change, authz deactivation, orders list dependents";
}

}  // namespace
}  // namespace attestlab::conformance

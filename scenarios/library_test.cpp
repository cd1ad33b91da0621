#include "scenarios/library.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace attestlab::scenarios {
namespace {

std::vector<Scenario> library() {
  auto lib = load_library();
  EXPECT_TRUE(lib.ok()) << (lib.ok() ? "" : lib.error().detail);
  return lib.ok() ? *lib : std::vector<Scenario>{};
}

TEST(Library, EmbeddedLibraryParsesAndIsLargeEnough) {
  const auto lib = library();
  EXPECT_GE(lib.size(), 25u);
  EXPECT_TRUE(std::is_sorted(lib.begin(), lib.end(),
                             [](const Scenario& a, const Scenario& b) { return a.name < b.name; }));
  for (const auto& sc : lib) {
    EXPECT_EQ(sc.source, "scenarios/library/" + sc.name + ".json");
    EXPECT_FALSE(sc.threat.empty()) << sc.name;
    bool checks = false;
    for (const auto& s : sc.steps)
      checks = checks || s.expect.has_value() || s.type == StepType::Fleet;
    EXPECT_TRUE(checks) << sc.name << " checks nothing";
  }
}

TEST(Library, EmbeddedCopyMatchesTheSourceDirectory) {
  auto from_dir = load_library(std::string(ATTESTLAB_SOURCE_DIR) + "/scenarios/library");
  ASSERT_TRUE(from_dir.ok()) << from_dir.error().detail;
  const auto embedded = library();
  ASSERT_EQ(from_dir->size(), embedded.size()) << "rebuild: the embedded library is stale";
  for (std::size_t i = 0; i < embedded.size(); ++i) {
    EXPECT_EQ((*from_dir)[i].name, embedded[i].name);
    EXPECT_EQ((*from_dir)[i].steps.size(), embedded[i].steps.size()) << embedded[i].name;
  }
}

// PROTOCOL.md §4: each threat Apple lists for MDA must be a scenario.
TEST(Library, EveryAppleThreatHasAScenario) {
  const auto lib = library();
  const char* threats[] = {
      "lies about its properties",          "replays an old attestation",
      "claims another device's identifier", "private key is extracted",
      "hijacks a certificate request",
  };
  for (const char* threat : threats) {
    const bool found = std::any_of(lib.begin(), lib.end(), [&](const Scenario& s) {
      return s.threat.find(threat) != std::string::npos;
    });
    EXPECT_TRUE(found) << "no scenario plays out: " << threat;
  }
}

TEST(Library, BriefedScenariosExist) {
  const auto lib = library();
  std::set<std::string> names;
  for (const auto& s : lib) names.insert(s.name);
  for (const char* name : {"jailbroken",
                           "stale-nonce",
                           "rsa-keys",
                           "restored-device",
                           "inventory-mismatch",
                           "forged-chain",
                           "other-device-identifier",
                           "csr-key-swap",
                           "missing-freshness",
                           "reused-attestation",
                           "expired-attestation",
                           "byod-user-enrollment",
                           "mac-sip-disabled",
                           "os-below-minimum",
                           "attestation-service-outage",
                           "malformed-attobj",
                           "payload-error-field",
                           "happy-iphone",
                           "happy-ipad",
                           "happy-mac",
                           "happy-appletv",
                           "happy-visionpro",
                           "happy-watch",
                           "legacy-devices",
                           "fleet-rollout-100"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
}

TEST(Library, SelectSeveralNamesGlobsAndCommaLists) {
  const auto lib = library();
  auto happy = select_scenarios(lib, std::vector<std::string>{"happy-*"});
  ASSERT_TRUE(happy.ok()) << happy.error().detail;
  EXPECT_GE(happy->size(), 6u);
  for (const auto& sc : *happy) EXPECT_EQ(sc.name.rfind("happy-", 0), 0u) << sc.name;

  // Union in the order first selected, each scenario once.
  auto mixed = select_scenarios(
      lib, std::vector<std::string>{"jailbroken,rsa-keys", "jailbroken", "stale-*"});
  ASSERT_TRUE(mixed.ok()) << mixed.error().detail;
  ASSERT_EQ(mixed->size(), 3u);
  EXPECT_EQ((*mixed)[0].name, "jailbroken");
  EXPECT_EQ((*mixed)[1].name, "rsa-keys");
  EXPECT_EQ((*mixed)[2].name, "stale-nonce");

  // One pattern that selects nothing fails the whole selection, naming it.
  auto typo = select_scenarios(lib, std::vector<std::string>{"jailbroken", "happy-iphon"});
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().detail, "unknown scenario \"happy-iphon\" (see attestlab scenario list)");
  EXPECT_FALSE(select_scenarios(lib, std::vector<std::string>{","}).ok());
}

TEST(Library, SelectByNameFileOrAll) {
  const auto lib = library();
  auto all = select_scenarios(lib, "all");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), lib.size());
  auto one = select_scenarios(lib, "jailbroken");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().name, "jailbroken");
  auto file =
      select_scenarios(lib, std::string(ATTESTLAB_SOURCE_DIR) + "/scenarios/library/rsa-keys.json");
  ASSERT_TRUE(file.ok()) << file.error().detail;
  EXPECT_EQ(file->front().name, "rsa-keys");
  auto unknown = select_scenarios(lib, "no-such-scenario");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().detail,
            "unknown scenario \"no-such-scenario\" (see attestlab scenario list)");
  auto bad = select_scenarios(
      lib, std::string(ATTESTLAB_SOURCE_DIR) + "/scenarios/testdata/bad/unknown-kind.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("unknown-kind.json: devices[0].kind"), std::string::npos);
}

TEST(Library, ADirectoryWithABadFileFailsNamingIt) {
  auto lib = load_library(std::string(ATTESTLAB_SOURCE_DIR) + "/scenarios/testdata/bad");
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(lib.error().detail.find("scenarios/testdata/bad/"), std::string::npos)
      << lib.error().detail;
}

}  // namespace
}  // namespace attestlab::scenarios

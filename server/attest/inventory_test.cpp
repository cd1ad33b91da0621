#include "server/attest/inventory.h"

#include <gtest/gtest.h>

#include "testing/device_attest_support.h"

namespace attestlab::server {
namespace {

Inventory sample() {
  const Json doc = Json::array({
      {{"serial", "S-ACTIVE"}, {"udid", "U-ACTIVE"}, {"status", "active"}, {"platform", "iOS"}},
      {{"serial", "S-RETIRED"}, {"udid", "U-RETIRED"}, {"status", "retired"}},
      {{"serial", "S-ONLY"}, {"status", "active"}, {"note", "ignored member"}},
      {{"udid", "U-ONLY"}, {"status", "active"}},
  });
  return Inventory::from_json(doc).value();
}

std::string rule_of(const Inventory& inv, std::optional<std::string> serial,
                    std::optional<std::string> udid) {
  std::string rule;
  auto r = inv.check(serial, udid, &rule);
  if (r.ok()) return "accepted";
  EXPECT_EQ(r.error().type, "rejectedIdentifier");
  return rule;
}

TEST(Inventory, ActiveDeviceAccepted) {
  const Inventory inv = sample();
  auto entry = inv.check(std::string("S-ACTIVE"), std::string("U-ACTIVE"));
  ASSERT_TRUE(entry.ok()) << entry.error().detail;
  EXPECT_EQ(entry->platform, "iOS");
  EXPECT_EQ(rule_of(inv, "S-ACTIVE", std::nullopt), "accepted");
  EXPECT_EQ(rule_of(inv, std::nullopt, "U-ACTIVE"), "accepted");
  // Entries listing one identifier accept any value of the other.
  EXPECT_EQ(rule_of(inv, "S-ONLY", "U-NEW"), "accepted");
  EXPECT_EQ(rule_of(inv, "S-NEW", "U-ONLY"), "accepted");
  EXPECT_EQ(inv.size(), 4u);
}

TEST(Inventory, UnknownDeviceRefused) {
  const Inventory inv = sample();
  EXPECT_EQ(rule_of(inv, "S-NOBODY", "U-NOBODY"), "inventory_unknown");
  std::string rule;
  auto r = inv.check(std::string("S-NOBODY"), std::nullopt, &rule);
  EXPECT_NE(r.error().detail.find("S-NOBODY"), std::string::npos);
  EXPECT_EQ(rule_of(inv, std::nullopt, std::nullopt), "inventory_unknown");
}

TEST(Inventory, RetiredDeviceRefused) {
  const Inventory inv = sample();
  EXPECT_EQ(rule_of(inv, "S-RETIRED", "U-RETIRED"), "inventory_status");
  std::string rule;
  auto r = inv.check(std::string("S-RETIRED"), std::string("U-RETIRED"), &rule);
  EXPECT_NE(r.error().detail.find("retired"), std::string::npos);
}

TEST(Inventory, PairMismatchRefused) {
  const Inventory inv = sample();
  // Serial of one device, UDID of another.
  EXPECT_EQ(rule_of(inv, "S-ACTIVE", "U-RETIRED"), "inventory_pair");
  // Known serial whose entry lists another UDID (the attested UDID is unknown).
  EXPECT_EQ(rule_of(inv, "S-ACTIVE", "U-STRANGER"), "inventory_pair");
  EXPECT_EQ(rule_of(inv, "S-STRANGER", "U-ACTIVE"), "inventory_pair");
  // Serial-only entry, but the attested UDID belongs to another entry.
  EXPECT_EQ(rule_of(inv, "S-ONLY", "U-ACTIVE"), "inventory_pair");
}

TEST(Inventory, BadDocumentsRefused) {
  const std::vector<std::pair<Json, std::string>> cases = {
      {Json::object(), "array"},
      {Json::array({"S1"}), "inventory[0]"},
      {Json::array({{{"status", "active"}}}), "serial"},
      {Json::array({{{"serial", "S1"}}}), "status"},
      {Json::array({{{"serial", 12}, {"status", "active"}}}), "\"serial\" must be a string"},
      {Json::array(
           {{{"serial", "S1"}, {"status", "active"}}, {{"serial", "S1"}, {"status", "retired"}}}),
       "inventory[1]: serial \"S1\" is listed twice"},
      {Json::array(
           {{{"udid", "U1"}, {"status", "active"}}, {{"udid", "U1"}, {"status", "active"}}}),
       "listed twice"},
      {Json::array({{{"serial", "S1"}, {"status", "active"}, {"platform", "Android"}}}),
       "platform"},
      {Json::array({{{"serial", "S1"}, {"status", "weird"}}}),
       "inventory[0]: unknown status \"weird\" (known: active, retired"},
      {Json::array({{{"serial", "S1"}, {"status", "Active"}}}), "unknown status \"Active\""},
  };
  for (const auto& [doc, needle] : cases) {
    auto inv = Inventory::from_json(doc);
    ASSERT_FALSE(inv.ok()) << doc.dump();
    EXPECT_EQ(inv.error().type, "malformed");
    EXPECT_NE(inv.error().detail.find(needle), std::string::npos) << inv.error().detail;
  }
}

TEST(Inventory, ExampleFixtureLoads) {
  auto inv =
      Inventory::load(std::string(ATTESTLAB_SOURCE_DIR) + "/fixtures/inventory.example.json");
  ASSERT_TRUE(inv.ok()) << inv.error().detail;
  EXPECT_EQ(rule_of(*inv, "C02XL0GVJGH5", "00008103-000A4C9E1E8A001E"), "accepted");
  EXPECT_EQ(rule_of(*inv, "C02YW1RETIRD", "00008103-000B5D0F2F9B002F"), "inventory_status");
}

TEST(Inventory, LoadNamesTheFile) {
  testing::TempDir dir;
  ASSERT_TRUE(pki::write_file(dir.file("inv.json"), "[{\"serial\": \"S\"}]").ok());
  auto inv = Inventory::load(dir.file("inv.json"));
  ASSERT_FALSE(inv.ok());
  EXPECT_NE(inv.error().detail.find("inv.json"), std::string::npos);
  EXPECT_NE(inv.error().detail.find("status"), std::string::npos);
}

}  // namespace
}  // namespace attestlab::server

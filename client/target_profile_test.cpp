#include "client/target_profile.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/pki.h"

namespace attestlab::client {
namespace {

Json minimal() {
  return Json{{"name", "t"}, {"directory_url", "https://127.0.0.1:14000/dir"}};
}

// Parses doc and expects an error whose detail names `field`.
void expect_field_error(const Json& doc, const std::string& field) {
  auto r = parse_target_profile(doc);
  ASSERT_FALSE(r.ok()) << doc.dump();
  EXPECT_EQ(r.error().type, "malformed");
  EXPECT_NE(r.error().detail.find("\"" + field + "\""), std::string::npos)
      << "error \"" << r.error().detail << "\" does not name " << field;
}

TEST(TargetProfile, MinimalProfileHasOnlyDnsIdentifiers) {
  auto t = parse_target_profile(minimal());
  ASSERT_TRUE(t.ok()) << t.error().detail;
  EXPECT_EQ(t->name, "t");
  EXPECT_TRUE(t->has("dns-identifiers"));
  EXPECT_FALSE(t->has("http-01"));
  EXPECT_FALSE(t->has("validation"));
  EXPECT_FALSE(t->has("revocation"));
  EXPECT_FALSE(t->has("device-attest-01"));
}

TEST(TargetProfile, FullProfileParses) {
  Json doc = minimal();
  doc["trust_ca"] = "tls.pem";
  doc["eab"] = {{"kid", "k"},
                {"hmac_key", "c2VjcmV0"},
                {"required", true},
                {"more_keys", {{{"kid", "k2"}, {"hmac_key", "b3RoZXI"}}}}};
  doc["identifiers"] = {"dns", "ip", "permanent-identifier"};
  doc["challenges"] = {"http-01", "dns-01", "device-attest-01"};
  doc["capabilities"] = {"revocation", "key-change", "posture-policy"};
  doc["device"] = {{"attestation_ca_dir", "ca"},
                   {"identity_source", "inventory-file"},
                   {"inventory_file", "inv.json"}};
  doc["http01"] = {{"listen", "127.0.0.1:5002"}};
  doc["dns01"] = {{"challtestsrv_management", "http://127.0.0.1:8055"}};
  doc["timing"] = {{"case_timeout_s", 12}, {"poll_interval_ms", 40}, {"max_retry_after_ms", 80}};
  doc["_comment"] = "members starting with _ are ignored";
  auto t = parse_target_profile(doc, "/etc/attestlab");
  ASSERT_TRUE(t.ok()) << t.error().detail;
  EXPECT_EQ(t->trust_ca, "/etc/attestlab/tls.pem");  // relative to the profile's directory
  EXPECT_EQ(t->device.attestation_ca_dir, "/etc/attestlab/ca");
  EXPECT_EQ(t->device.inventory_file, "/etc/attestlab/inv.json");
  ASSERT_TRUE(t->eab.has_value());
  EXPECT_TRUE(t->eab->required);
  EXPECT_EQ(t->eab->key(0).kid, "k");
  EXPECT_EQ(t->eab->key(1).kid, "k2");
  EXPECT_EQ(t->eab->key(2).kid, "k");  // cycles
  EXPECT_EQ(t->timing.case_timeout.count(), 12000);
  EXPECT_EQ(t->timing.poll_interval.count(), 40);
  for (const char* cap : {"http-01", "dns-01", "validation", "device-attest-01", "inventory", "eab",
                          "eab-required", "ip-identifiers", "revocation", "posture-policy"}) {
    EXPECT_TRUE(t->has(cap)) << cap;
  }
  EXPECT_FALSE(t->has("wildcard"));
  EXPECT_FALSE(t->has("hardware-module"));
  EXPECT_EQ(t->effective_capabilities().count("inventory"), 1u);
}

TEST(TargetProfile, BadFieldsAreNamed) {
  Json no_name = minimal();
  no_name.erase("name");
  expect_field_error(no_name, "name");
  Json no_dir = minimal();
  no_dir.erase("directory_url");
  expect_field_error(no_dir, "directory_url");

  Json bad_url = minimal();
  bad_url["directory_url"] = "ftp://x/dir";
  expect_field_error(bad_url, "directory_url");

  Json listen = minimal();
  listen["http01"] = {{"listen", "localhost"}};
  expect_field_error(listen, "http01.listen");

  Json port = minimal();
  port["http01"] = {{"listen", "127.0.0.1:99999"}};
  expect_field_error(port, "http01.listen");

  Json unknown = minimal();
  unknown["capabilites"] = Json::array();  // typo
  expect_field_error(unknown, "capabilites");

  Json unknown_cap = minimal();
  unknown_cap["capabilities"] = {"revocation", "teleport"};
  expect_field_error(unknown_cap, "capabilities[1]");

  Json challenge = minimal();
  challenge["challenges"] = {"tls-alpn-01"};
  expect_field_error(challenge, "challenges[0]");

  Json eab_key = minimal();
  eab_key["eab"] = {{"kid", "k"}, {"hmac_key", "not base64url!"}};
  expect_field_error(eab_key, "eab.hmac_key");

  Json eab_kid = minimal();
  eab_kid["eab"] = {{"hmac_key", "c2VjcmV0"}};
  expect_field_error(eab_kid, "eab.kid");

  Json source = minimal();
  source["device"] = {{"attestation_ca_dir", "ca"}, {"identity_source", "ldap"}};
  expect_field_error(source, "device.identity_source");

  Json inventory = minimal();
  inventory["device"] = {{"attestation_ca_dir", "ca"}, {"identity_source", "inventory-file"}};
  expect_field_error(inventory, "device.inventory_file");

  Json mgmt = minimal();
  mgmt["dns01"] = {{"challtestsrv_management", "https://127.0.0.1:8055"}};
  expect_field_error(mgmt, "dns01.challtestsrv_management");

  Json timing = minimal();
  timing["timing"] = {{"case_timeout_s", -1}};
  expect_field_error(timing, "timing.case_timeout_s");
  // Beyond a day (and far beyond int64 milliseconds: the fuzzer's input) is refused too.
  Json too_long = minimal();
  too_long["timing"] = {{"poll_interval_ms", 509223372036854775808.0}};
  expect_field_error(too_long, "timing.poll_interval_ms");
  too_long["timing"] = {{"case_timeout_s", 86401}};
  expect_field_error(too_long, "timing.case_timeout_s");
  too_long["timing"] = {{"case_timeout_s", 86400}};
  EXPECT_TRUE(parse_target_profile(too_long).ok());

  Json type = minimal();
  type["name"] = 7;
  expect_field_error(type, "name");

  EXPECT_FALSE(parse_target_profile(Json::array()).ok());
}

TEST(TargetProfile, MissingCapabilitiesExplainThemselves) {
  Json doc = minimal();
  doc["challenges"] = {"http-01"};  // declared, but no http01.listen
  auto t = parse_target_profile(doc);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->missing("http-01").has_value());
  EXPECT_NE(t->missing("http-01")->find("http01.listen"), std::string::npos);
  EXPECT_NE(t->missing("revocation")->find("\"revocation\""), std::string::npos);
  EXPECT_NE(t->missing("inventory")->find("inventory-file"), std::string::npos);
  EXPECT_NE(t->missing("device-attest-01")->find("device-attest-01"), std::string::npos);
}

TEST(TargetProfile, BasicTargetIsRfc8555BasicsOnly) {
  TargetProfile t = basic_target("https://acme.example:8443/directory", "ca.pem");
  EXPECT_EQ(t.name, "acme.example:8443");
  EXPECT_EQ(t.trust_ca, "ca.pem");
  EXPECT_TRUE(t.has("dns-identifiers"));
  EXPECT_TRUE(t.has("key-change"));
  EXPECT_FALSE(t.has("validation"));
  EXPECT_FALSE(t.has("revocation"));
  EXPECT_FALSE(t.has("eab"));
}

TEST(TargetProfile, LoadNamesTheFileAndTheField) {
  const std::string dir = ::testing::TempDir() + "/attestlab-target-test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/bad.json";
  ASSERT_TRUE(
      pki::write_file(path, R"({"name":"x","directory_url":"https://h/d","dns01":{}})").ok());
  auto r = load_target_profile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find(path), std::string::npos);
  EXPECT_NE(r.error().detail.find("dns01.challtestsrv_management"), std::string::npos);

  ASSERT_TRUE(pki::write_file(path, "{ not json").ok());
  auto not_json = load_target_profile(path);
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.error().detail.find("not JSON"), std::string::npos);

  EXPECT_FALSE(load_target_profile(dir + "/missing.json").ok());
}

TEST(TargetProfile, ShippedExamplesParse) {
  for (const char* name : {"embedded.json", "pebble.json"}) {
    const std::string path = std::string(ATTESTLAB_SOURCE_DIR) + "/conformance/targets/" + name;
    auto t = load_target_profile(path);
    ASSERT_TRUE(t.ok()) << path << ": " << t.error().detail;
    EXPECT_TRUE(t->has("validation")) << name;
  }
}

TEST(HostPort, Parses) {
  auto hp = parse_host_port("127.0.0.1:5002");
  ASSERT_TRUE(hp.has_value());
  EXPECT_EQ(hp->first, "127.0.0.1");
  EXPECT_EQ(hp->second, 5002);
  auto v6 = parse_host_port("[::1]:80");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_FALSE(parse_host_port("127.0.0.1").has_value());
  EXPECT_FALSE(parse_host_port(":80").has_value());
  EXPECT_FALSE(parse_host_port("h:0").has_value());
  EXPECT_FALSE(parse_host_port("h:8x").has_value());
}

}  // namespace
}  // namespace attestlab::client

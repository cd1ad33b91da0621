#include "sim/device/device.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "core/pki.h"
#include "sim/device/apple_ca.h"

namespace attestlab::sim {
namespace {

constexpr std::int64_t kNow = 1795564800;  // 2026-11-25T00:00:00Z

DeviceIdentity identity(std::string os = "17.5") {
  DeviceIdentity id;
  id.serial = "F2LXQ7K9MN";
  id.udid = "00008120-0011223344556677";
  id.model = "iPhone15,2";
  id.product_name = "iPhone 14 Pro";
  id.os_version = std::move(os);
  id.build_version = "21F79";
  id.sepos_version = "21.5.0";
  id.llb_version = "10151.121.1";
  id.enrollment_id = "6B29FC40-CA47-1067-B31D-00DD010662DA";
  return id;
}

// The set of Apple OIDs a real leaf for this device carries (through the mock CA).
std::set<std::string> leaf_oids(const Device& device) {
  static const AppleCa ca = [] {
    auto c = AppleCa::create(kNow);
    EXPECT_TRUE(c.ok());
    return *c;
  }();
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  EXPECT_TRUE(key.ok());
  auto chain = ca.issue_attestation(key->public_key(), device.attested_facts(),
                                    freshness_code(std::string_view("n")), kNow);
  EXPECT_TRUE(chain.ok());
  auto leaf = pki::Certificate::from_der(chain->leaf_der);
  EXPECT_TRUE(leaf.ok());
  std::set<std::string> out;
  for (const auto& oid : all_apple_oids()) {
    if (leaf->extension_value(oid)) out.insert(oid);
  }
  return out;
}

const std::set<std::string> kCommonOids = {kOidSerialNumber, kOidUdid,       kOidOsVersion,
                                           kOidSeposVersion, kOidLlbVersion, kOidFreshnessCode};

TEST(Device, IPhoneLeafHasNoMacPostureOids) {
  Device phone(DeviceKind::IPhone, identity());
  EXPECT_EQ(leaf_oids(phone), kCommonOids);
  const DeviceFacts f = phone.attested_facts();
  EXPECT_EQ(f.serial, "F2LXQ7K9MN");
  EXPECT_FALSE(f.sip_enabled.has_value());
  EXPECT_FALSE(f.secure_boot.has_value());
  EXPECT_FALSE(f.third_party_kexts_allowed.has_value());
}

TEST(Device, MacLeafHasSipSecureBootAndKextOids) {
  DeviceIdentity id = identity("14.5");
  id.model = "Mac14,2";
  Device mac(DeviceKind::Mac, id, Posture{false, SecureBootLevel::Permissive, true, false});
  std::set<std::string> expected = kCommonOids;
  expected.insert({kOidSipStatus, kOidSecureBootLevel, kOidThirdPartyKexts});
  EXPECT_EQ(leaf_oids(mac), expected);
  const DeviceFacts f = mac.attested_facts();
  EXPECT_EQ(f.sip_enabled, false);
  EXPECT_EQ(f.secure_boot, SecureBootLevel::Permissive);
  EXPECT_EQ(f.third_party_kexts_allowed, true);
}

TEST(Device, EveryAttestingKindHasTheCommonOids) {
  for (DeviceKind kind :
       {DeviceKind::IPad, DeviceKind::AppleTv, DeviceKind::VisionPro, DeviceKind::Watch}) {
    FleetGenerator gen(7);
    Device d = gen.device(kind);
    EXPECT_TRUE(d.supports_attestation()) << to_string(kind) << " " << d.identity().os_version;
    EXPECT_EQ(leaf_oids(d), kCommonOids) << to_string(kind);
  }
}

TEST(Device, UserEnrollmentOmitsSerialAndUdid) {
  Device phone(DeviceKind::IPhone, identity());
  phone.set_user_enrollment(true);
  const DeviceFacts f = phone.attested_facts();
  EXPECT_FALSE(f.serial.has_value());
  EXPECT_FALSE(f.udid.has_value());
  EXPECT_EQ(f.os_version, "17.5");
  std::set<std::string> expected = kCommonOids;
  expected.erase(kOidSerialNumber);
  expected.erase(kOidUdid);
  EXPECT_EQ(leaf_oids(phone), expected);
  EXPECT_FALSE(phone.identity().enrollment_id.empty());
}

TEST(Device, LyingChangesOnlyTheSelfReport) {
  DeviceIdentity id = identity("14.5");
  Device mac(DeviceKind::Mac, id, Posture{false, SecureBootLevel::Permissive, true, true});
  mac.claim_overrides().sip_enabled = true;
  mac.claim_overrides().secure_boot = SecureBootLevel::Full;
  mac.claim_overrides().jailbroken = false;
  mac.claim_overrides().serial = "STOLENSERIAL";
  mac.claim_overrides().os_version = "15.1";

  const SelfReport claims = mac.self_report();
  EXPECT_TRUE(claims.posture.sip_enabled);
  EXPECT_EQ(claims.posture.secure_boot, SecureBootLevel::Full);
  EXPECT_FALSE(claims.posture.jailbroken);
  EXPECT_EQ(claims.identity.serial, "STOLENSERIAL");
  EXPECT_EQ(claims.identity.os_version, "15.1");
  EXPECT_EQ(claims.identity.udid, id.udid);  // not overridden

  const DeviceFacts truth = mac.attested_facts();
  EXPECT_EQ(truth.sip_enabled, false);
  EXPECT_EQ(truth.secure_boot, SecureBootLevel::Permissive);
  EXPECT_EQ(truth.serial, id.serial);
  EXPECT_EQ(truth.os_version, "14.5");
  EXPECT_TRUE(mac.posture().jailbroken);
}

TEST(Device, HonestDeviceReportsTheTruth) {
  Device phone(DeviceKind::IPhone, identity());
  const SelfReport r = phone.self_report();
  EXPECT_EQ(r.identity, phone.identity());
  EXPECT_EQ(r.posture, phone.posture());
}

TEST(Device, LegacyKindsCannotAttest) {
  FleetGenerator gen(1);
  Device old_phone = gen.device(DeviceKind::LegacyIPhone);
  EXPECT_FALSE(old_phone.supports_attestation());
  EXPECT_TRUE(old_phone.has_secure_enclave());
  EXPECT_TRUE(old_phone.secure_enclave().generate_key(pki::KeySpec::p256()).ok());

  Device intel = gen.device(DeviceKind::IntelMac);
  EXPECT_FALSE(intel.supports_attestation());
  EXPECT_FALSE(intel.has_secure_enclave());
  EXPECT_FALSE(intel.secure_enclave().generate_key(pki::KeySpec::p256()).ok());
  EXPECT_TRUE(intel.software_keystore().generate_key(pki::KeySpec::p256()).ok());
  EXPECT_TRUE(kind_is_mac(DeviceKind::IntelMac));
  EXPECT_FALSE(kind_attests_mac_posture(DeviceKind::IntelMac));
}

TEST(Device, OldOsCannotAttest) {
  Device phone(DeviceKind::IPhone, identity("15.7"));
  EXPECT_FALSE(phone.supports_attestation());
  phone.update_software("16.0", "20A362", "20.0.0", "8419.0.1");
  EXPECT_TRUE(phone.supports_attestation());
  EXPECT_EQ(phone.attested_facts().os_version, "16.0");

  DeviceIdentity id = identity("13.6");
  Device mac(DeviceKind::Mac, id);
  EXPECT_FALSE(mac.supports_attestation());
  Device vision(DeviceKind::VisionPro, identity("1.0"));
  EXPECT_FALSE(vision.supports_attestation());
  Device vision11(DeviceKind::VisionPro, identity("1.1"));
  EXPECT_TRUE(vision11.supports_attestation());
}

TEST(Device, EraseDestroysKeysInBothStores) {
  Device phone(DeviceKind::IPhone, identity());
  auto hw = phone.secure_enclave().generate_key(pki::KeySpec::p384());
  auto sw = phone.software_keystore().generate_key(pki::KeySpec::rsa(2048));
  ASSERT_TRUE(hw.ok() && sw.ok());
  EXPECT_EQ(phone.erase_count(), 0u);
  phone.erase();
  EXPECT_EQ(phone.erase_count(), 1u);
  EXPECT_FALSE(phone.secure_enclave().has_key(*hw));
  EXPECT_FALSE(phone.software_keystore().has_key(*sw));
  EXPECT_EQ(phone.identity().serial, "F2LXQ7K9MN");  // hardware identity survives

  Device moved = std::move(phone);  // devices are movable (fleets live in vectors)
  EXPECT_EQ(moved.erase_count(), 1u);
}

TEST(Device, KindNamesRoundTrip) {
  for (DeviceKind kind : all_device_kinds()) {
    EXPECT_EQ(parse_device_kind(to_string(kind)), kind);
  }
  EXPECT_FALSE(parse_device_kind("Newton").has_value());
  EXPECT_EQ(all_device_kinds().size(), 8u);
}

TEST(Device, ParsesOsVersions) {
  EXPECT_EQ(parse_os_version("17.5"), std::make_pair(17, 5));
  EXPECT_EQ(parse_os_version("14.4.1"), std::make_pair(14, 4));
  EXPECT_EQ(parse_os_version("18"), std::make_pair(18, 0));
  EXPECT_FALSE(parse_os_version("").has_value());
  EXPECT_FALSE(parse_os_version("x.1").has_value());
  EXPECT_FALSE(parse_os_version("17.").has_value());
}

TEST(FleetGenerator, SameSeedSameFleet) {
  FleetGenerator a(42);
  FleetGenerator b(42);
  auto fa = a.fleet(30);
  auto fb = b.fleet(30);
  ASSERT_EQ(fa.size(), 30u);
  for (std::size_t i = 0; i < fa.size(); ++i) {
    EXPECT_EQ(fa[i].kind(), fb[i].kind());
    EXPECT_EQ(fa[i].identity(), fb[i].identity());
  }
  FleetGenerator c(43);
  EXPECT_NE(c.identity(DeviceKind::IPhone).serial,
            FleetGenerator(42).identity(DeviceKind::IPhone).serial);
}

TEST(FleetGenerator, IdentitiesAreUniqueAndWellFormed) {
  FleetGenerator gen(2026);
  std::set<std::string> serials;
  std::set<std::string> udids;
  std::map<DeviceKind, int> kinds;
  auto fleet = gen.fleet(400);
  for (const Device& d : fleet) {
    const DeviceIdentity& id = d.identity();
    EXPECT_TRUE(serials.insert(id.serial).second) << id.serial;
    EXPECT_TRUE(udids.insert(id.udid).second) << id.udid;
    ++kinds[d.kind()];
    EXPECT_FALSE(id.model.empty());
    EXPECT_FALSE(id.product_name.empty());
    EXPECT_FALSE(id.build_version.empty());
    EXPECT_TRUE(parse_os_version(id.os_version).has_value()) << id.os_version;
    EXPECT_EQ(id.enrollment_id.size(), 36u);
    if (d.kind() == DeviceKind::LegacyIPhone) {
      EXPECT_EQ(id.serial.size(), 12u);
      EXPECT_EQ(id.udid.size(), 40u);
    }
    if (d.kind() == DeviceKind::Mac) {
      EXPECT_EQ(id.udid.size(), 25u) << id.udid;
      EXPECT_EQ(id.udid[8], '-');
    }
    // Generated attesting devices run an OS that can attest.
    EXPECT_EQ(d.supports_attestation(), kind_can_attest(d.kind())) << to_string(d.kind());
  }
  // The default mix includes the common kinds and the legacy ones.
  EXPECT_GT(kinds[DeviceKind::IPhone], 0);
  EXPECT_GT(kinds[DeviceKind::Mac], 0);
  EXPECT_GT(kinds[DeviceKind::LegacyIPhone], 0);
  EXPECT_GT(kinds[DeviceKind::IntelMac], 0);
  EXPECT_GT(kinds[DeviceKind::IPhone], kinds[DeviceKind::AppleTv]);
}

TEST(FleetGenerator, WeightsSelectKinds) {
  FleetGenerator gen(5);
  // Only Macs: weights in all_device_kinds() order.
  auto macs = gen.fleet(20, {0, 0, 1});
  for (const Device& d : macs) EXPECT_EQ(d.kind(), DeviceKind::Mac);
}

TEST(DeviceKind, PlatformNames) {
  // Every kind, as the inventories of scenarios/ and conformance/ list it.
  const std::map<DeviceKind, std::string> expected = {
      {DeviceKind::IPhone, "iOS"},         {DeviceKind::IPad, "iPadOS"},
      {DeviceKind::Mac, "macOS"},          {DeviceKind::AppleTv, "tvOS"},
      {DeviceKind::VisionPro, "visionOS"}, {DeviceKind::Watch, "watchOS"},
      {DeviceKind::LegacyIPhone, "iOS"},   {DeviceKind::IntelMac, "macOS"}};
  ASSERT_EQ(expected.size(), all_device_kinds().size());
  for (DeviceKind kind : all_device_kinds())
    EXPECT_EQ(platform_name(kind), expected.at(kind)) << to_string(kind);
}

}  // namespace
}  // namespace attestlab::sim

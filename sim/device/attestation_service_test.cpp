#include "sim/device/attestation_service.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"
#include "core/pki.h"
#include "sim/device/apple_format.h"
#include "testing/mock_apple_world.h"

namespace attestlab::sim {
namespace {

using testing::kDay;
using testing::kNow;

class AttestationServiceTest : public testing::AppleServersTest {
 protected:
  static Device phone() {
    return Device(DeviceKind::IPhone,
                  {.serial = "F2LXQ7K9MN", .udid = "00008120-0011223344556677",
                   .model = "iPhone15,2", .os_version = "17.5", .sepos_version = "21.5.0",
                   .llb_version = "10151.121.1"});
  }

  static pki::Certificate leaf(const Attestation& a) {
    return testing::expect_certificate(a.chain.leaf_der);
  }

  bool verifies_now(const Attestation& a) const {
    return testing::chains_to(*ca_, leaf(a), clock_->now());
  }
};

TEST_F(AttestationServiceTest, DeviceAttestationCarriesNonceFreshnessAndTruth) {
  Device d = phone();
  AttestationService service(servers_);
  const Bytes nonce = random_bytes(32);
  auto a = service.device_attestation(d, nonce);
  ASSERT_TRUE(a.ok()) << a.error().detail;
  EXPECT_FALSE(a->from_cache);
  EXPECT_EQ(a->freshness, sha256(nonce));
  const pki::Certificate cert = leaf(*a);
  EXPECT_EQ(cert.extension_value(kOidFreshnessCode), sha256(nonce));
  EXPECT_EQ(cert.extension_value(kOidSerialNumber), to_bytes("F2LXQ7K9MN"));
  EXPECT_TRUE(verifies_now(*a));
  EXPECT_EQ(servers_->issued_count(), 1u);
  // The attestation key lives in the device's Secure Enclave.
  EXPECT_EQ(d.secure_enclave().key_count(), 1u);
}

TEST_F(AttestationServiceTest, ThrottleReturnsCachedInsideSevenDaysNewAfter) {
  Device d = phone();
  AttestationService service(servers_);
  const Bytes nonce1 = to_bytes("nonce-one");
  const Bytes nonce2 = to_bytes("nonce-two");
  auto first = service.device_attestation(d, nonce1);
  ASSERT_TRUE(first.ok());

  clock_->advance(3 * kDay);
  auto second = service.device_attestation(d, nonce2);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->from_cache);
  EXPECT_EQ(second->chain, first->chain);        // the same leaf...
  EXPECT_EQ(second->freshness, sha256(nonce1));  // ...with the OLD freshness
  EXPECT_NE(second->freshness, sha256(nonce2));
  EXPECT_EQ(servers_->issued_count(), 1u);

  clock_->advance(4 * kDay);  // now exactly 7 days after the first
  auto third = service.device_attestation(d, nonce2);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->from_cache);
  EXPECT_NE(third->chain, first->chain);
  EXPECT_EQ(third->freshness, sha256(nonce2));
  EXPECT_EQ(leaf(*third).extension_value(kOidFreshnessCode), sha256(nonce2));
  EXPECT_EQ(servers_->issued_count(), 2u);
  EXPECT_GE(third->issued_at, first->issued_at + 7 * kDay);
  // The same per-device attestation key was attested both times.
  EXPECT_TRUE(leaf(*third).public_key().equals(leaf(*first).public_key()));
  EXPECT_EQ(d.secure_enclave().key_count(), 1u);
}

TEST_F(AttestationServiceTest, NonceLessRequestGetsTheCachedOne) {
  Device d = phone();
  AttestationService service(servers_);
  auto first = service.device_attestation(d, to_bytes("n"));
  ASSERT_TRUE(first.ok());
  clock_->advance(kDay);
  auto again = service.device_attestation(d, std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->from_cache);
  EXPECT_EQ(again->chain, first->chain);
  ASSERT_TRUE(service.cached_device_attestation().has_value());
  EXPECT_EQ(service.cached_device_attestation()->chain, first->chain);
}

TEST_F(AttestationServiceTest, NonceLessFirstRequestHasNoFreshness) {
  Device d = phone();
  AttestationService service(servers_);
  auto a = service.device_attestation(d, std::nullopt);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->freshness.has_value());
  EXPECT_FALSE(leaf(*a).extension_value(kOidFreshnessCode).has_value());
}

TEST_F(AttestationServiceTest, CachedLeafKeepsFactsOfItsIssueTime) {
  Device d = phone();
  AttestationService service(servers_);
  ASSERT_TRUE(service.device_attestation(d, to_bytes("n")).ok());
  d.update_software("18.1", "22B83", "22.1.0", "11881.40.130");
  auto cached = service.device_attestation(d, to_bytes("m"));
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(leaf(*cached).extension_value(kOidOsVersion), to_bytes("17.5"));
  clock_->advance(7 * kDay);
  auto fresh = service.device_attestation(d, to_bytes("m"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(leaf(*fresh).extension_value(kOidOsVersion), to_bytes("18.1"));
}

TEST_F(AttestationServiceTest, OutageErrorsOnlyWhenAppleIsNeeded) {
  Device d = phone();
  AttestationService service(servers_);
  servers_->set_outage(AppleAttestationServers::Outage::ServerError);
  auto down = service.device_attestation(d, to_bytes("n"));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().type, "serverInternal");

  servers_->set_outage(AppleAttestationServers::Outage::Connection);
  auto unreachable = service.device_attestation(d, to_bytes("n"));
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.error().type, "connection");

  auto key = d.secure_enclave().generate_key(pki::KeySpec::p384());
  ASSERT_TRUE(key.ok());
  auto acme = service.key_attestation(d, *key, "token");
  ASSERT_FALSE(acme.ok());
  EXPECT_EQ(acme.error().type, "connection");
  EXPECT_EQ(servers_->issued_count(), 0u);

  servers_->set_outage(AppleAttestationServers::Outage::None);
  auto up = service.device_attestation(d, to_bytes("n"));
  ASSERT_TRUE(up.ok());
  // Inside the window the cache answers even when Apple is down again.
  servers_->set_outage(AppleAttestationServers::Outage::ServerError);
  auto cached = service.device_attestation(d, to_bytes("n2"));
  ASSERT_TRUE(cached.ok());
  EXPECT_TRUE(cached->from_cache);
}

TEST_F(AttestationServiceTest, KeyAttestationCertifiesTheAcmeKeyWithTokenFreshness) {
  Device d = phone();
  AttestationService service(servers_);
  auto key = d.secure_enclave().generate_key(pki::KeySpec::p384());
  ASSERT_TRUE(key.ok());
  const std::string token = "DGyRejmCefe7v4NfDGDKfA2kb5d_6XIJzrVvrPmdXuE";
  auto a = service.key_attestation(d, *key, token);
  ASSERT_TRUE(a.ok()) << a.error().detail;
  const pki::Certificate cert = leaf(*a);
  EXPECT_TRUE(cert.public_key().equals(*d.secure_enclave().public_key(*key)));
  EXPECT_EQ(cert.extension_value(kOidFreshnessCode), sha256(std::string_view(token)));
  EXPECT_TRUE(verifies_now(*a));

  // Not throttled by default: a second challenge for the same key gets fresh freshness.
  auto b = service.key_attestation(d, *key, "second-token");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->from_cache);
  EXPECT_EQ(leaf(*b).extension_value(kOidFreshnessCode), sha256(std::string_view("second-token")));
}

TEST_F(AttestationServiceTest, KeyAttestationThrottleIsOptIn) {
  Device d = phone();
  AttestationService service(servers_, AttestationService::Options{true});
  auto key = d.secure_enclave().generate_key(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  auto a = service.key_attestation(d, *key, "t1");
  ASSERT_TRUE(a.ok());
  auto b = service.key_attestation(d, *key, "t2");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->from_cache);
  EXPECT_EQ(b->freshness, sha256(std::string_view("t1")));
  clock_->advance(7 * kDay);
  auto c = service.key_attestation(d, *key, "t3");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->from_cache);
}

TEST_F(AttestationServiceTest, SoftwareKeysCannotBeAttested) {
  Device d = phone();
  AttestationService service(servers_);
  auto rsa = d.software_keystore().generate_key(pki::KeySpec::rsa(2048));
  ASSERT_TRUE(rsa.ok());
  EXPECT_FALSE(service.key_attestation(d, *rsa, "t").ok());
}

TEST_F(AttestationServiceTest, LegacyDevicesCannotAttest) {
  FleetGenerator gen(9);
  AttestationService service(servers_);
  for (DeviceKind kind : {DeviceKind::LegacyIPhone, DeviceKind::IntelMac}) {
    Device d = gen.device(kind);
    auto r = service.device_attestation(d, to_bytes("n"));
    ASSERT_FALSE(r.ok()) << to_string(kind);
    EXPECT_NE(r.error().detail.find("cannot attest"), std::string::npos);
  }
  EXPECT_EQ(servers_->issued_count(), 0u);
}

TEST_F(AttestationServiceTest, OversizedNonceIsMalformed) {
  Device d = phone();
  AttestationService service(servers_);
  auto r = service.device_attestation(d, Bytes(33, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "malformed");
  EXPECT_TRUE(service.device_attestation(d, Bytes(32, 1)).ok());
}

TEST_F(AttestationServiceTest, EraseDropsCacheAndAttestationKey) {
  Device d = phone();
  AttestationService service(servers_);
  auto first = service.device_attestation(d, to_bytes("n1"));
  ASSERT_TRUE(first.ok());
  d.erase();
  auto second = service.device_attestation(d, to_bytes("n2"));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->from_cache);
  EXPECT_EQ(second->freshness, sha256(to_bytes("n2")));
  EXPECT_FALSE(leaf(*second).public_key().equals(leaf(*first).public_key()));
}

TEST_F(AttestationServiceTest, UserEnrollmentAttestationHasNoIdentifiers) {
  Device d = phone();
  d.set_user_enrollment(true);
  AttestationService service(servers_);
  auto a = service.device_attestation(d, to_bytes("n"));
  ASSERT_TRUE(a.ok());
  const pki::Certificate cert = leaf(*a);
  EXPECT_FALSE(cert.extension_value(kOidSerialNumber).has_value());
  EXPECT_FALSE(cert.extension_value(kOidUdid).has_value());
  EXPECT_TRUE(cert.extension_value(kOidOsVersion).has_value());
  EXPECT_TRUE(cert.extension_value(kOidFreshnessCode).has_value());
}

TEST_F(AttestationServiceTest, MacAttestationReportsTruthNotClaims) {
  FleetGenerator gen(11);
  Device mac = gen.device(DeviceKind::Mac);
  mac.set_posture(Posture{false, SecureBootLevel::Reduced, true, false});
  mac.claim_overrides().sip_enabled = true;
  mac.claim_overrides().secure_boot = SecureBootLevel::Full;
  AttestationService service(servers_);
  auto a = service.device_attestation(mac, to_bytes("n"));
  ASSERT_TRUE(a.ok()) << a.error().detail;
  const pki::Certificate cert = leaf(*a);
  EXPECT_EQ(cert.extension_value(kOidSipStatus), (Bytes{kFlagFalse}));
  EXPECT_EQ(cert.extension_value(kOidSecureBootLevel), to_bytes("reduced"));
  EXPECT_EQ(cert.extension_value(kOidThirdPartyKexts), (Bytes{kFlagTrue}));
  EXPECT_TRUE(mac.self_report().posture.sip_enabled);
}

}  // namespace
}  // namespace attestlab::sim

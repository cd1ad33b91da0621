// Configuration profiles: the builders (ACME with Wi-Fi/VPN users, MDM enrollment), reading
// XML / binary / CMS-signed files, summaries, and plistutil round trips.
#include "sim/mdm/profile.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/cms.h>

#include <set>

#include "core/pki.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/profile_lint.h"
#include "testing/mdm_support.h"

namespace attestlab::sim {
namespace {

AcmeProfileOptions acme_options() {
  AcmeProfileOptions o;
  o.acme = AcmePayload::for_attestation("https://ca.example.com/acme/directory", "F2LXQ7K9MN");
  o.wifi_ssids = {"corp-wifi"};
  o.vpn_servers = {"vpn.example.com"};
  return o;
}

// CMS SignedData around the bytes, content embedded, as MDMs sign profiles.
std::string sign_cms(const std::string& content) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  pki::CertificateSpec spec;
  spec.subject = {{"CN", "profile signer"}};
  spec.not_before = 0;
  spec.not_after = 4102444800;
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  BIO* in = BIO_new_mem_buf(content.data(), static_cast<int>(content.size()));
  CMS_ContentInfo* cms = CMS_sign(cert->get(), key->get(), nullptr, in, CMS_BINARY);
  BIO* out = BIO_new(BIO_s_mem());
  i2d_CMS_bio(out, cms);
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string der(data, static_cast<std::size_t>(n));
  BIO_free(out);
  BIO_free(in);
  CMS_ContentInfo_free(cms);
  return der;
}

TEST(Profile, AcmeProfileHasReferencingPayloads) {
  const AcmeProfileOptions o = acme_options();
  const Json profile = make_acme_profile(o);
  EXPECT_EQ(profile["PayloadType"], "Configuration");
  EXPECT_EQ(profile["PayloadVersion"], 1);
  ASSERT_EQ(profile["PayloadContent"].size(), 3u);
  const Json& acme = profile["PayloadContent"][0];
  EXPECT_EQ(acme["PayloadType"], kAcmePayloadType);
  EXPECT_EQ(acme["KeyType"], "ECSECPrimeRandom");
  EXPECT_EQ(acme["KeySize"], 384);
  EXPECT_EQ(acme["HardwareBound"], true);
  EXPECT_EQ(acme["Attest"], true);
  EXPECT_EQ(acme["ClientIdentifier"], "F2LXQ7K9MN");
  const std::string acme_uuid = acme["PayloadUUID"];
  EXPECT_EQ(acme_uuid, *o.acme.payload_uuid);
  const Json& wifi = profile["PayloadContent"][1];
  EXPECT_EQ(wifi["PayloadType"], kWifiPayloadType);
  EXPECT_EQ(wifi["PayloadCertificateUUID"], acme_uuid);
  EXPECT_EQ(wifi["SSID_STR"], "corp-wifi");
  const Json& vpn = profile["PayloadContent"][2];
  EXPECT_EQ(vpn["PayloadType"], kVpnPayloadType);
  EXPECT_EQ(vpn["IKEv2"]["PayloadCertificateUUID"], acme_uuid);
  // Every UUID distinct.
  std::set<std::string> uuids = {profile["PayloadUUID"], acme_uuid, wifi["PayloadUUID"],
                                 vpn["PayloadUUID"]};
  EXPECT_EQ(uuids.size(), 4u);
}

TEST(Profile, BuiltProfilesLintClean) {
  const std::string acme_xml = profile_to_xml(make_acme_profile(acme_options()));
  EXPECT_TRUE(lint_profile(acme_xml).empty());

  MdmEnrollmentOptions m;
  m.server_url = "https://mdm.example.com/mdm/connect";
  m.check_in_url = "https://mdm.example.com/mdm/checkin";
  m.topic = "com.apple.mgmt.External.1234";
  const auto problems = lint_profile(profile_to_xml(make_mdm_enrollment_profile(m)));
  ASSERT_EQ(problems.size(), 1u);  // only: no identity (attestlab's MDM does not need one)
  EXPECT_EQ(problems[0].code, "mdm_missing_identity");
  EXPECT_EQ(problems[0].severity, ProfileProblem::Severity::Warning);

  m.identity = AcmePayload::for_attestation("https://ca.example.com/acme/directory", "F2LXQ7K9MN");
  EXPECT_TRUE(lint_profile(profile_to_xml(make_mdm_enrollment_profile(m))).empty());
}

TEST(Profile, MdmEnrollmentProfileShape) {
  MdmEnrollmentOptions m;
  m.server_url = "https://mdm.example.com/mdm/connect";
  m.check_in_url = "https://mdm.example.com/mdm/checkin";
  m.topic = "com.apple.mgmt.External.1234";
  m.identity = AcmePayload::for_attestation("https://ca.example.com/acme/directory", "X");
  const Json profile = make_mdm_enrollment_profile(m);
  const auto payloads = profile_payloads(profile);
  ASSERT_EQ(payloads.size(), 2u);
  const Json& mdm = payloads[1];
  EXPECT_EQ(mdm["PayloadType"], "com.apple.mdm");
  EXPECT_EQ(mdm["ServerURL"], m.server_url);
  EXPECT_EQ(mdm["CheckInURL"], m.check_in_url);
  EXPECT_EQ(mdm["Topic"], m.topic);
  EXPECT_EQ(mdm["AccessRights"], 8191);
  EXPECT_EQ(mdm["SignMessage"], false);
  EXPECT_EQ(mdm["CheckOutWhenRemoved"], true);
  EXPECT_EQ(mdm["IdentityCertificateUUID"], payloads[0]["PayloadUUID"]);
}

TEST(Profile, ParsesXmlBinaryAndSignedAlike) {
  const Json profile = make_acme_profile(acme_options());
  const std::string xml = profile_to_xml(profile);
  auto from_xml = parse_profile(xml);
  ASSERT_TRUE(from_xml.ok());
  EXPECT_EQ(*from_xml, profile);
  auto from_bin = parse_profile(json_to_plist_binary(profile));
  ASSERT_TRUE(from_bin.ok());
  EXPECT_EQ(*from_bin, profile);
  const std::string signed_der = sign_cms(xml);
  ASSERT_FALSE(signed_der.empty());
  auto from_signed = parse_profile(signed_der);
  ASSERT_TRUE(from_signed.ok()) << from_signed.error().detail;
  EXPECT_EQ(*from_signed, profile);
  EXPECT_TRUE(lint_profile(signed_der).empty());
}

TEST(Profile, RefusesWhatIsNoProfile) {
  EXPECT_FALSE(parse_profile("").ok());
  EXPECT_FALSE(parse_profile("hello").ok());
  EXPECT_FALSE(parse_profile(std::string("\x30\x03\x02\x01\x00", 5)).ok());  // DER, not CMS
  auto array_root = parse_profile(json_to_plist_xml(Json::array({1})));
  ASSERT_FALSE(array_root.ok());
  EXPECT_NE(array_root.error().detail.find("root"), std::string::npos);
}

TEST(Profile, RoundTripsThroughPlistutil) {
  ASSERT_TRUE(testing::have_plistutil());
  MdmEnrollmentOptions m;
  m.server_url = "https://mdm.example.com/mdm/connect";
  m.check_in_url = "https://mdm.example.com/mdm/checkin";
  m.topic = "com.apple.mgmt.External.1234";
  for (const Json& profile : {make_acme_profile(acme_options()), make_mdm_enrollment_profile(m)}) {
    auto back = testing::plistutil_round_trip(profile);
    ASSERT_TRUE(back.ok()) << back.error().detail;
    EXPECT_EQ(*back, profile);
  }
}

TEST(Profile, SummaryAndAcmePayloads) {
  const AcmeProfileOptions o = acme_options();
  const Json profile = make_acme_profile(o);
  const ProfileSummary s = summarize_profile(profile);
  EXPECT_EQ(s.identifier, profile["PayloadIdentifier"]);
  EXPECT_EQ(s.uuid, profile["PayloadUUID"]);
  ASSERT_EQ(s.payloads.size(), 3u);
  EXPECT_EQ(s.payloads[0].type, kAcmePayloadType);
  EXPECT_EQ(s.payloads[1].type, kWifiPayloadType);
  const auto acme = profile_acme_payloads(profile);
  ASSERT_EQ(acme.size(), 1u);
  EXPECT_EQ(acme[0], o.acme);
}

}  // namespace
}  // namespace attestlab::sim

namespace attestlab::sim {
namespace {

TEST(Profile, TrustAnchorsComeFirstAsRootPayloads) {
  AcmeProfileOptions o = acme_options();
  o.trust_anchors = {Bytes{0x30, 0x01, 0x00}, Bytes{0x30, 0x01, 0x01}};
  const Json profile = make_acme_profile(o);
  ASSERT_EQ(profile["PayloadContent"].size(), 5u);
  for (int i = 0; i < 2; ++i) {
    const Json& root = profile["PayloadContent"][i];
    EXPECT_EQ(root["PayloadType"], kRootCertificatePayloadType);
    ASSERT_NE(plist_bytes(root, "PayloadContent"), nullptr);
    EXPECT_EQ(*plist_bytes(root, "PayloadContent"), o.trust_anchors[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(profile["PayloadContent"][2]["PayloadType"], kAcmePayloadType);
  EXPECT_TRUE(lint_profile(profile_to_xml(profile)).empty());
}

}  // namespace
}  // namespace attestlab::sim

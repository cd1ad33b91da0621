#include "sim/device/attestation_source.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "client/acme_types.h"
#include "core/bytes.h"
#include "core/pki.h"
#include "sim/device/apple_format.h"
#include "sim/device/attestation.h"
#include "testing/mock_apple_world.h"

namespace attestlab::sim {
namespace {

using testing::kDay;
using testing::kNow;
const std::string kToken = "token-of-this-challenge-0123456789";
const std::string kEarlierToken = "token-of-the-previous-challenge-abc";

// Apple's key attestations are throttled here, so that after a source asked Apple,
// key_attestation() for the same key returns exactly the leaf the source got: the
// genuine answer each forgery is compared with.
class AttestationSourceTest : public testing::AppleServersTest {
 protected:
  void SetUp() override {
    AppleServersTest::SetUp();
    if (HasFatalFailure()) return;
    AttestationService::Options options;
    options.throttle_key_attestations = true;
    apple_ = std::make_unique<AttestationService>(servers_, options);
    auto key = device_.secure_enclave().generate_key(pki::KeySpec::p384());
    ASSERT_TRUE(key.ok());
    key_ = *key;
    auto pub = device_.secure_enclave().public_key(key_);
    ASSERT_TRUE(pub.ok());
    public_key_ = *pub;
  }

  ForgeryInputs inputs(std::optional<SentAttestation> earlier = std::nullopt) const {
    return ForgeryInputs{ca_, clock_, std::move(earlier)};
  }
  SentAttestation earlier_of(KeyHandle key) const {
    return SentAttestation{kEarlierToken, "earlier-att-obj", key, kNow - kDay};
  }

  Result<AttestationStatement> forge(const ClientFaults& faults,
                                     std::optional<SentAttestation> earlier = std::nullopt) {
    ForgedAttestationSource source(faults, *apple_, inputs(std::move(earlier)));
    auto statement = source.statement(device_, key_, kToken);
    notes_ = source.notes();
    return statement;
  }

  // The leaf Apple issued for key_ (from the throttle cache: no new request).
  AttestationChain genuine_chain() {
    auto cached = apple_->key_attestation(device_, key_, kToken);
    EXPECT_TRUE(cached.ok());
    if (!cached.ok()) return {};
    EXPECT_TRUE(cached->from_cache);
    return cached->chain;
  }

  static pki::Certificate leaf_of(const AttestationStatement& statement) {
    auto object = parse_attestation_object_b64u(statement.att_obj_b64u);
    EXPECT_TRUE(object.ok());
    if (!object.ok()) return {};
    return testing::expect_certificate(object->x5c.front());
  }
  static Bytes freshness_of(const pki::Certificate& leaf) {
    return leaf.extension_value(kOidFreshnessCode).value_or(Bytes{});
  }
  bool chains_to_apple(const pki::Certificate& leaf, std::int64_t at) const {
    return testing::chains_to(*ca_, leaf, at);
  }
  // Everything but the key and the freshness is what Apple would say about this device.
  void expect_device_facts(const pki::Certificate& leaf) const {
    auto contents = decode_apple_extensions(leaf);
    ASSERT_TRUE(contents.ok());
    EXPECT_EQ(contents->facts, device_.attested_facts());
  }

  std::unique_ptr<AttestationService> apple_;
  Device device_ = FleetGenerator(7).device(DeviceKind::IPhone);
  KeyHandle key_;
  pki::PublicKey public_key_;
  std::vector<std::string> notes_;
};

// --- the honest source ------------------------------------------------------------------------

TEST_F(AttestationSourceTest, HonestSourceSendsAppleAnswer) {
  HonestAttestationSource source(*apple_);
  auto statement = source.statement(device_, key_, kToken);
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  EXPECT_FALSE(statement->from_cache);
  EXPECT_EQ(servers_->issued_count(), 1u);
  EXPECT_EQ(statement->att_obj_b64u, apple_attobj_b64u(genuine_chain()));
  const pki::Certificate leaf = leaf_of(*statement);
  EXPECT_TRUE(leaf.public_key().equals(public_key_));
  EXPECT_EQ(freshness_of(leaf), key_attestation_freshness(kToken));
  EXPECT_EQ(key_attestation_freshness(kToken), sha256(to_bytes(kToken)));
  EXPECT_TRUE(chains_to_apple(leaf, kNow + 60));
  expect_device_facts(leaf);
  EXPECT_TRUE(source.notes().empty());
  EXPECT_FALSE(source.key_to_keep(key_).has_value());

  // Apple's throttle: the same answer again, from the cache.
  auto again = source.statement(device_, key_, "another-token");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->from_cache);
  EXPECT_EQ(again->att_obj_b64u, statement->att_obj_b64u);
  EXPECT_EQ(servers_->issued_count(), 1u);
}

TEST_F(AttestationSourceTest, HonestSourceFailsWithAppleOutage) {
  HonestAttestationSource source(*apple_);
  servers_->set_outage(AppleAttestationServers::Outage::Connection);
  auto statement = source.statement(device_, key_, kToken);
  ASSERT_FALSE(statement.ok());
  EXPECT_EQ(statement.error().type, "connection");
  servers_->set_outage(AppleAttestationServers::Outage::None);
  EXPECT_TRUE(source.statement(device_, key_, kToken).ok());
}

TEST_F(AttestationSourceTest, OnlyAttestationKnobsChooseTheForger) {
  const std::set<std::string> attestation_knobs = {
      "stale_token",      "reused_attestation", "wrong_key_attested",
      "rogue_root_chain", "omit_freshness",     "expired_attestation",
      "wrong_fmt",        "empty_x5c",          "malformed_cbor"};
  EXPECT_FALSE(forges_attestation(ClientFaults{}));
  EXPECT_NE(dynamic_cast<HonestAttestationSource*>(
                make_attestation_source(ClientFaults{}, *apple_, inputs()).get()),
            nullptr);
  for (const std::string& name : client_fault_names()) {
    ClientFaults faults;
    ASSERT_TRUE(set_client_fault(faults, name).ok());
    const bool forges = attestation_knobs.count(name) == 1;
    EXPECT_EQ(forges_attestation(faults), forges) << name;
    auto source = make_attestation_source(faults, *apple_, inputs());
    EXPECT_EQ(dynamic_cast<ForgedAttestationSource*>(source.get()) != nullptr, forges) << name;
  }
}

// --- the forgers that ask Apple for the wrong thing ---------------------------------------------

TEST_F(AttestationSourceTest, StaleTokenAttestsThePreviousToken) {
  auto statement = forge({.stale_token = true}, earlier_of(key_));
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  EXPECT_EQ(statement->att_obj_b64u, apple_attobj_b64u(genuine_chain()));  // Apple's answer
  const pki::Certificate leaf = leaf_of(*statement);
  EXPECT_EQ(freshness_of(leaf), key_attestation_freshness(kEarlierToken));  // for that token
  EXPECT_TRUE(leaf.public_key().equals(public_key_));
  EXPECT_TRUE(chains_to_apple(leaf, kNow + 60));
  EXPECT_TRUE(notes_.empty());
}

TEST_F(AttestationSourceTest, StaleTokenWithoutAnEarlierChallengeMakesOneUp) {
  SentAttestation same_token = earlier_of(key_);
  same_token.token = kToken;  // the earlier answer was for this very token: not stale
  for (const auto& earlier : {std::optional<SentAttestation>(), std::optional(same_token)}) {
    apple_ = std::make_unique<AttestationService>(servers_);
    auto statement = forge({.stale_token = true}, earlier);
    ASSERT_TRUE(statement.ok()) << statement.error().detail;
    const pki::Certificate leaf = leaf_of(*statement);
    EXPECT_EQ(freshness_of(leaf).size(), kFreshnessCodeSize);
    EXPECT_NE(freshness_of(leaf), key_attestation_freshness(kToken));
    EXPECT_NE(freshness_of(leaf), key_attestation_freshness(kEarlierToken));
    EXPECT_TRUE(leaf.public_key().equals(public_key_));
    EXPECT_TRUE(chains_to_apple(leaf, kNow + 60));
  }
}

TEST_F(AttestationSourceTest, ReusedAttestationReplaysTheEarlierBytes) {
  ForgedAttestationSource source({.reused_attestation = true}, *apple_, inputs(earlier_of(key_)));
  EXPECT_EQ(source.key_to_keep(KeyHandle{}), key_);  // the key it attested last
  auto statement = source.statement(device_, key_, kToken);
  ASSERT_TRUE(statement.ok());
  EXPECT_EQ(statement->att_obj_b64u, "earlier-att-obj");
  EXPECT_FALSE(statement->from_cache);
  EXPECT_EQ(servers_->issued_count(), 0u);  // Apple was not asked
  EXPECT_TRUE(source.notes().empty());
}

TEST_F(AttestationSourceTest, ReusedAttestationWithoutOneFallsBackToAStaleToken) {
  // None sent before: keep the installed key, attest a made-up earlier token, say so.
  ForgedAttestationSource alone({.reused_attestation = true}, *apple_, inputs());
  const KeyHandle installed{4242};
  EXPECT_EQ(alone.key_to_keep(installed), installed);
  auto statement = alone.statement(device_, key_, kToken);
  ASSERT_TRUE(statement.ok());
  ASSERT_EQ(alone.notes().size(), 1u);
  EXPECT_NE(alone.notes()[0].find("reused_attestation"), std::string::npos);
  const pki::Certificate leaf = leaf_of(*statement);
  EXPECT_NE(freshness_of(leaf), key_attestation_freshness(kToken));
  EXPECT_TRUE(chains_to_apple(leaf, kNow + 60));

  // Sent for another key: Apple's attestation of this key for the earlier token.
  apple_ = std::make_unique<AttestationService>(servers_);
  auto statement2 = forge({.reused_attestation = true}, earlier_of(KeyHandle{4242}));
  ASSERT_TRUE(statement2.ok());
  EXPECT_EQ(notes_.size(), 1u);
  EXPECT_EQ(freshness_of(leaf_of(*statement2)), key_attestation_freshness(kEarlierToken));
  EXPECT_TRUE(leaf_of(*statement2).public_key().equals(public_key_));
}

TEST_F(AttestationSourceTest, WrongKeyAttestedAttestsAnotherEnclaveKey) {
  const std::size_t keys_before = device_.secure_enclave().key_count();
  auto statement = forge({.wrong_key_attested = true});
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  EXPECT_EQ(device_.secure_enclave().key_count(), keys_before + 1);
  const pki::Certificate leaf = leaf_of(*statement);
  EXPECT_FALSE(leaf.public_key().equals(public_key_));
  EXPECT_EQ(leaf.public_key().spec(), pki::KeySpec::p384());  // same kind of key
  EXPECT_EQ(freshness_of(leaf), key_attestation_freshness(kToken));
  EXPECT_TRUE(chains_to_apple(leaf, kNow + 60));
  expect_device_facts(leaf);
  EXPECT_EQ(servers_->issued_count(), 1u);  // Apple's genuine answer for that key
}

// --- the leaf forgers: Apple's leaf, edited and re-signed without asking Apple -----------------

TEST_F(AttestationSourceTest, OmitFreshnessDropsOnlyTheFreshness) {
  auto statement = forge({.omit_freshness = true});
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  const pki::Certificate leaf = leaf_of(*statement);
  EXPECT_FALSE(leaf.extension_value(kOidFreshnessCode).has_value());
  EXPECT_TRUE(leaf.public_key().equals(public_key_));
  EXPECT_TRUE(chains_to_apple(leaf, kNow + 60));
  EXPECT_EQ(leaf.not_after(), kNow + kAttestationValiditySeconds);
  expect_device_facts(leaf);
  EXPECT_EQ(servers_->issued_count(), 0u);
}

TEST_F(AttestationSourceTest, ExpiredAttestationEndedADayAgo) {
  auto statement = forge({.expired_attestation = true});
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  const pki::Certificate leaf = leaf_of(*statement);
  EXPECT_EQ(leaf.not_after(), kNow - kDay);
  EXPECT_FALSE(chains_to_apple(leaf, kNow));
  EXPECT_TRUE(chains_to_apple(leaf, kNow - 3 * kDay));  // genuinely signed
  EXPECT_EQ(freshness_of(leaf), key_attestation_freshness(kToken));
  EXPECT_TRUE(leaf.public_key().equals(public_key_));
  expect_device_facts(leaf);
  EXPECT_EQ(servers_->issued_count(), 0u);
}

TEST_F(AttestationSourceTest, RogueRootChainCopiesNamesButNotKeys) {
  auto statement = forge({.rogue_root_chain = true});
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  auto object = parse_attestation_object_b64u(statement->att_obj_b64u);
  ASSERT_TRUE(object.ok());
  ASSERT_EQ(object->x5c.size(), 2u);
  auto sub = pki::Certificate::from_der(object->x5c[1]);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->subject(), ca_->intermediate().subject());
  EXPECT_FALSE(sub->public_key().equals(ca_->intermediate().public_key()));
  const pki::Certificate leaf = leaf_of(*statement);
  EXPECT_EQ(leaf.issuer(), ca_->intermediate().subject());
  EXPECT_FALSE(chains_to_apple(leaf, kNow + 60));
  EXPECT_FALSE(pki::verify_chain(leaf, {*sub}, {ca_->root()}, kNow + 60).ok());
  EXPECT_EQ(freshness_of(leaf), key_attestation_freshness(kToken));
  EXPECT_TRUE(leaf.public_key().equals(public_key_));
  expect_device_facts(leaf);
  EXPECT_EQ(servers_->issued_count(), 0u);
}

TEST_F(AttestationSourceTest, LeafForgeriesCompose) {
  auto statement = forge({.omit_freshness = true, .expired_attestation = true});
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  const pki::Certificate leaf = leaf_of(*statement);
  EXPECT_FALSE(leaf.extension_value(kOidFreshnessCode).has_value());
  EXPECT_EQ(leaf.not_after(), kNow - kDay);
  EXPECT_TRUE(chains_to_apple(leaf, kNow - 3 * kDay));
}

TEST_F(AttestationSourceTest, LeafForgeriesNeedTheAppleCa) {
  ForgedAttestationSource source({.rogue_root_chain = true}, *apple_,
                                 ForgeryInputs{nullptr, clock_, std::nullopt});
  auto statement = source.statement(device_, key_, kToken);
  ASSERT_FALSE(statement.ok());
  EXPECT_EQ(statement.error().type, client::kErrorClientUsage);
}

// --- the object forgers: Apple's chain in a broken attestation object ---------------------------

TEST_F(AttestationSourceTest, WrongFmtChangesOnlyTheFormat) {
  auto statement = forge({.wrong_fmt = true});
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  auto object = parse_attestation_object_b64u(statement->att_obj_b64u);
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object->fmt, "android-key");
  EXPECT_EQ(object->x5c, genuine_chain().x5c());
}

TEST_F(AttestationSourceTest, EmptyX5cSendsNoCertificates) {
  auto statement = forge({.empty_x5c = true});
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  EXPECT_EQ(statement->att_obj_b64u,
            base64url_encode(encode_attestation_object(AttestationObject{kAppleFormat, {}})));
  auto cbor = parse_cbor(base64url_decode(statement->att_obj_b64u).value());
  ASSERT_TRUE(cbor.ok());
  EXPECT_EQ((*cbor)["fmt"], "apple");
  EXPECT_TRUE((*cbor)["attStmt"]["x5c"].is_array());
  EXPECT_TRUE((*cbor)["attStmt"]["x5c"].empty());
  EXPECT_EQ(servers_->issued_count(), 1u);  // the attestation itself was genuine
}

TEST_F(AttestationSourceTest, MalformedCborIsTheGenuineObjectCutInHalf) {
  auto statement = forge({.malformed_cbor = true});
  ASSERT_TRUE(statement.ok()) << statement.error().detail;
  Bytes genuine = encode_attestation_object(apple_attestation_object(genuine_chain()));
  genuine.resize(genuine.size() / 2);
  auto sent = base64url_decode(statement->att_obj_b64u);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(*sent, genuine);
  EXPECT_FALSE(parse_cbor(*sent).ok());
}

}  // namespace
}  // namespace attestlab::sim

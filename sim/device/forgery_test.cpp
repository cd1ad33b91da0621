#include "sim/device/forgery.h"

#include <gtest/gtest.h>

#include "core/pki.h"
#include "sim/device/apple_format.h"
#include "testing/mock_apple_world.h"

namespace attestlab::sim {
namespace {

using testing::kDay;
using testing::kNow;

class ForgeryTest : public testing::SuiteAppleCaTest {
 protected:
  static LeafSpec honest() {
    const DeviceFacts f{
        .serial = "F2LXQ7K9MN", .udid = "00008120-0011223344556677", .os_version = "17.5"};
    return AppleCa::honest_leaf(key_->public_key(), f, freshness_code(std::string_view("tok")),
                                kNow);
  }

  static pki::Certificate issue(const AppleCa& ca, const LeafSpec& spec) {
    auto chain = ca.issue_leaf(spec);
    EXPECT_TRUE(chain.ok()) << (chain.ok() ? "" : chain.error().detail);
    if (!chain.ok()) return {};
    return testing::expect_certificate(chain->leaf_der);
  }

  static bool verifies(const pki::Certificate& leaf, std::int64_t at) {
    return testing::chains_to(*ca_, leaf, at);
  }
};

TEST_F(ForgeryTest, HonestLeafVerifies) {
  EXPECT_TRUE(verifies(issue(*ca_, honest()), kNow + 60));
}

TEST_F(ForgeryTest, RogueCaCopiesNamesButNotTrust) {
  auto rogue = forge::rogue_ca(*ca_, kNow);
  ASSERT_TRUE(rogue.ok()) << rogue.error().detail;
  EXPECT_EQ(rogue->root().subject(), ca_->root().subject());
  EXPECT_EQ(rogue->intermediate().subject(), ca_->intermediate().subject());
  EXPECT_EQ(rogue->intermediate().issuer(), ca_->root().subject());
  EXPECT_FALSE(rogue->root().public_key().equals(ca_->root().public_key()));
  EXPECT_FALSE(rogue->intermediate().public_key().equals(ca_->intermediate().public_key()));

  auto chain = rogue->issue_leaf(honest());
  ASSERT_TRUE(chain.ok());
  auto leaf = pki::Certificate::from_der(chain->leaf_der);
  auto sub = pki::Certificate::from_der(chain->intermediate_der);
  ASSERT_TRUE(leaf.ok() && sub.ok());
  EXPECT_EQ(leaf->issuer(), ca_->intermediate().subject());  // looks genuine by name
  // Not trusted by the genuine root, whichever intermediate is offered...
  EXPECT_FALSE(pki::verify_chain(*leaf, {*sub}, {ca_->root()}, kNow + 60).ok());
  EXPECT_FALSE(pki::verify_chain(*leaf, {ca_->intermediate()}, {ca_->root()}, kNow + 60).ok());
  // ...but internally consistent: it verifies against its own root.
  EXPECT_TRUE(pki::verify_chain(*leaf, {*sub}, {rogue->root()}, kNow + 60).ok());
  // And the genuine chain is not trusted by the rogue root.
  EXPECT_FALSE(
      pki::verify_chain(issue(*ca_, honest()), {ca_->intermediate()}, {rogue->root()}, kNow + 60)
          .ok());
}

TEST_F(ForgeryTest, ExpiredLeaf) {
  const pki::Certificate leaf = issue(*ca_, forge::expired(honest(), kNow));
  EXPECT_LT(leaf.not_after(), kNow);
  EXPECT_FALSE(verifies(leaf, kNow));
  EXPECT_TRUE(verifies(leaf, kNow - 2 * kDay));  // it was a real leaf once
}

TEST_F(ForgeryTest, NotYetValidLeaf) {
  const pki::Certificate leaf = issue(*ca_, forge::not_yet_valid(honest(), kNow));
  EXPECT_GT(leaf.not_before(), kNow);
  EXPECT_FALSE(verifies(leaf, kNow));
  EXPECT_TRUE(verifies(leaf, kNow + 2 * kDay));
}

TEST_F(ForgeryTest, MissingFreshness) {
  const pki::Certificate leaf = issue(*ca_, forge::without_extension(honest(), kOidFreshnessCode));
  EXPECT_FALSE(leaf.extension_value(kOidFreshnessCode).has_value());
  EXPECT_TRUE(leaf.extension_value(kOidSerialNumber).has_value());
  EXPECT_TRUE(verifies(leaf, kNow + 60));  // signed by the real CA: only the content is wrong
}

TEST_F(ForgeryTest, WrongSerialReplacesValue) {
  const pki::Certificate leaf =
      issue(*ca_, forge::with_extension_value(honest(), kOidSerialNumber, to_bytes("OTHERSERIAL")));
  EXPECT_EQ(leaf.extension_value(kOidSerialNumber), to_bytes("OTHERSERIAL"));
  EXPECT_EQ(leaf.extension_value(kOidUdid), to_bytes("00008120-0011223344556677"));
}

TEST_F(ForgeryTest, WrongValueAddsAbsentExtension) {
  LeafSpec spec = forge::without_extension(honest(), kOidSipStatus);  // iPhone: absent anyway
  spec = forge::with_extension_value(std::move(spec), kOidSipStatus, Bytes{0x07});
  const pki::Certificate leaf = issue(*ca_, spec);
  EXPECT_EQ(leaf.extension_value(kOidSipStatus), (Bytes{0x07}));
  auto decoded = decode_apple_extensions(leaf);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().type, "badAttestationStatement");
}

TEST_F(ForgeryTest, ShortFreshnessIsWrittenAsGiven) {
  const pki::Certificate leaf =
      issue(*ca_, forge::with_extension_value(honest(), kOidFreshnessCode, Bytes(16, 0xAB)));
  EXPECT_EQ(leaf.extension_value(kOidFreshnessCode), Bytes(16, 0xAB));
}

TEST_F(ForgeryTest, CriticalExtensionBreaksStandardVerification) {
  LeafSpec spec = forge::with_critical_extension(honest(), kOidSerialNumber);
  ASSERT_TRUE(spec.extensions.front().critical);
  const pki::Certificate leaf = issue(*ca_, spec);
  EXPECT_EQ(leaf.extension_value(kOidSerialNumber), to_bytes("F2LXQ7K9MN"));
  // OpenSSL refuses unknown critical extensions during path validation.
  EXPECT_FALSE(verifies(leaf, kNow + 60));
}

TEST_F(ForgeryTest, LeafForAnotherKey) {
  auto other = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(other.ok());
  const pki::Certificate leaf = issue(*ca_, forge::for_other_key(honest(), other->public_key()));
  EXPECT_TRUE(leaf.public_key().equals(other->public_key()));
  EXPECT_FALSE(leaf.public_key().equals(key_->public_key()));
  EXPECT_TRUE(verifies(leaf, kNow + 60));

  auto fresh = forge::for_fresh_key(honest());
  ASSERT_TRUE(fresh.ok());
  const pki::Certificate leaf2 = issue(*ca_, *fresh);
  EXPECT_FALSE(leaf2.public_key().equals(key_->public_key()));
  EXPECT_EQ(leaf2.extension_value(kOidSerialNumber), to_bytes("F2LXQ7K9MN"));
}

TEST_F(ForgeryTest, ForgeriesCompose) {
  LeafSpec spec = forge::expired(forge::without_extension(honest(), kOidFreshnessCode), kNow);
  const pki::Certificate leaf = issue(*ca_, spec);
  EXPECT_FALSE(leaf.extension_value(kOidFreshnessCode).has_value());
  EXPECT_LT(leaf.not_after(), kNow);
}

}  // namespace
}  // namespace attestlab::sim

#include "sim/device/secure_enclave.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <type_traits>
#include <vector>

namespace attestlab::sim {
namespace {

// The contract is enforced by the type: no member returns a private key.
static_assert(!std::is_copy_constructible_v<SecureEnclave>);
static_assert(std::is_nothrow_move_constructible_v<SecureEnclave>);

// The CSR the enclave tests sign: subject CN=device.
pki::CsrSpec device_csr() {
  pki::CsrSpec spec;
  spec.subject = {{"CN", "device"}};
  return spec;
}

TEST(SecureEnclave, P256AndP384KeysSignAndVerify) {
  SecureEnclave se;
  const Bytes data = to_bytes("attestlab");
  for (auto spec : {pki::KeySpec::p256(), pki::KeySpec::p384()}) {
    auto handle = se.generate_key(spec);
    ASSERT_TRUE(handle.ok()) << handle.error().detail;
    EXPECT_TRUE(handle->valid());
    auto pub = se.public_key(*handle);
    ASSERT_TRUE(pub.ok());
    EXPECT_EQ(pub->spec(), spec);
    auto sig = se.sign(*handle, data);
    ASSERT_TRUE(sig.ok());
    const auto digest = spec.bits == 384 ? pki::Digest::SHA384 : pki::Digest::SHA256;
    EXPECT_TRUE(pub->verify(data, *sig, digest));
    EXPECT_FALSE(pub->verify(to_bytes("other"), *sig, digest));
    auto sig256 = se.sign(*handle, data, pki::Digest::SHA256);
    ASSERT_TRUE(sig256.ok());
    EXPECT_TRUE(pub->verify(data, *sig256, pki::Digest::SHA256));
  }
  EXPECT_EQ(se.key_count(), 2u);
}

TEST(SecureEnclave, KeysAreDistinctAndHandlesUnique) {
  SecureEnclave a;
  SecureEnclave b;
  auto k1 = a.generate_key(pki::KeySpec::p256());
  auto k2 = b.generate_key(pki::KeySpec::p256());
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_NE(k1->id, k2->id);
  EXPECT_FALSE(a.public_key(*k1)->equals(*b.public_key(*k2)));
  // A handle from one enclave is not a key of another.
  EXPECT_FALSE(b.has_key(*k1));
  EXPECT_FALSE(b.sign(*k1, to_bytes("x")).ok());
}

TEST(SecureEnclave, RefusesNonHardwareKeyTypes) {
  SecureEnclave se;
  for (auto spec : {pki::KeySpec::rsa(2048), pki::KeySpec::p521(), pki::KeySpec::ed25519()}) {
    auto r = se.generate_key(spec);
    ASSERT_FALSE(r.ok()) << spec.name();
    EXPECT_EQ(r.error().type, "badPublicKey");
  }
  EXPECT_EQ(se.key_count(), 0u);
}

TEST(SecureEnclave, AbsentEnclaveMakesNoKeys) {
  SecureEnclave none(false);
  EXPECT_FALSE(none.present());
  auto r = none.generate_key(pki::KeySpec::p256());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "badPublicKey");
}

TEST(SecureEnclave, EraseDestroysEveryKeyForGood) {
  SecureEnclave se;
  auto key = se.generate_key(pki::KeySpec::p384());
  ASSERT_TRUE(key.ok());
  const pki::CsrSpec csr_spec = device_csr();
  ASSERT_TRUE(se.sign_csr(*key, csr_spec).ok());

  se.erase();
  EXPECT_EQ(se.key_count(), 0u);
  EXPECT_FALSE(se.has_key(*key));
  auto sig = se.sign(*key, to_bytes("x"));
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().type, "serverInternal");
  EXPECT_FALSE(se.public_key(*key).ok());
  EXPECT_FALSE(se.sign_csr(*key, csr_spec).ok());

  // New keys after the erase never answer to the old handle.
  auto fresh = se.generate_key(pki::KeySpec::p384());
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->id, key->id);
  EXPECT_FALSE(se.has_key(*key));
}

TEST(SecureEnclave, InvalidHandleIsAnError) {
  SecureEnclave se;
  EXPECT_FALSE(se.sign(KeyHandle{}, to_bytes("x")).ok());
  EXPECT_FALSE(se.public_key(KeyHandle{123456789}).ok());
}

TEST(SecureEnclave, SignsCsrWithoutExposingTheKey) {
  SecureEnclave se;
  auto key = se.generate_key(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  pki::CsrSpec spec = device_csr();
  spec.sans.permanent_ids.push_back({"F2LXQ7K9MN", std::nullopt});
  auto csr = se.sign_csr(*key, spec);
  ASSERT_TRUE(csr.ok()) << csr.error().detail;
  EXPECT_TRUE(csr->verify_signature());
  EXPECT_TRUE(csr->public_key().equals(*se.public_key(*key)));
}

TEST(SecureEnclave, ConcurrentUseIsSafe) {
  SecureEnclave se;
  auto key = se.generate_key(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (se.sign(*key, to_bytes("x")).ok()) ++good;
        (void)se.generate_key(pki::KeySpec::p256());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 80);
  EXPECT_EQ(se.key_count(), 81u);
}

TEST(SoftwareKeystore, HoldsRsaAndEcKeysAndExportsThem) {
  SoftwareKeystore ks;
  auto rsa = ks.generate_key(pki::KeySpec::rsa(2048));
  ASSERT_TRUE(rsa.ok()) << rsa.error().detail;
  auto pub = ks.public_key(*rsa);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->spec(), pki::KeySpec::rsa(2048));
  auto sig = ks.sign(*rsa, to_bytes("data"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(pub->verify(to_bytes("data"), *sig, pki::Digest::SHA256));

  auto exported = ks.export_private_key(*rsa);
  ASSERT_TRUE(exported.ok());
  EXPECT_TRUE(exported->public_key().equals(*pub));
  // The extracted key works elsewhere: the "key extracted for use on another device" threat.
  auto sig2 = exported->sign(to_bytes("elsewhere"), pki::Digest::SHA256);
  ASSERT_TRUE(sig2.ok());
  EXPECT_TRUE(pub->verify(to_bytes("elsewhere"), *sig2, pki::Digest::SHA256));

  auto ec = ks.generate_key(pki::KeySpec::p384());
  ASSERT_TRUE(ec.ok());
  EXPECT_EQ(ks.key_count(), 2u);
  ks.erase();
  EXPECT_FALSE(ks.has_key(*rsa));
  EXPECT_FALSE(ks.export_private_key(*rsa).ok());
}

TEST(SoftwareKeystore, ImportedKeyIsUsable) {
  SoftwareKeystore ks;
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  const KeyHandle h = ks.import_key(*key);
  EXPECT_TRUE(ks.public_key(h)->equals(key->public_key()));
}

}  // namespace
}  // namespace attestlab::sim

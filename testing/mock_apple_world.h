// Test-only: the mock Apple world the sim/device tests share: a fixed "now", a mock Apple
// CA created at it and either one device key for a whole suite (keys are slow to make) or
// Apple's attestation servers on a virtual clock for each test (tests move the clock).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/pki.h"
#include "sim/device/apple_ca.h"
#include "sim/device/attestation_service.h"

namespace attestlab::sim::testing {

inline constexpr std::int64_t kNow = 1795564800;  // 2026-11-25T00:00:00Z
inline constexpr std::int64_t kDay = 24 * 3600;

// The certificate in `der`; a failed parse fails the test and gives an empty certificate.
inline pki::Certificate expect_certificate(const Bytes& der) {
  auto cert = pki::Certificate::from_der(der);
  EXPECT_TRUE(cert.ok());
  return cert.ok() ? *cert : pki::Certificate{};
}

// Whether `leaf` chains through ca's intermediate to ca's root at time `at`.
inline bool chains_to(const AppleCa& ca, const pki::Certificate& leaf, std::int64_t at) {
  return pki::verify_chain(leaf, {ca.intermediate()}, {ca.root()}, at).ok();
}

// One AppleCa created at kNow and one P-384 key, made once per test suite.
class SuiteAppleCaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = AppleCa::create(kNow);
    ASSERT_TRUE(ca.ok()) << ca.error().detail;
    ca_ = new AppleCa(std::move(*ca));
    auto key = pki::PrivateKey::generate(pki::KeySpec::p384());
    ASSERT_TRUE(key.ok());
    key_ = new pki::PrivateKey(std::move(*key));
  }
  // The statics are shared by every suite deriving from this one; suites run one at a time.
  static void TearDownTestSuite() {
    delete ca_;
    delete key_;
    ca_ = nullptr;
    key_ = nullptr;
  }

  static inline AppleCa* ca_ = nullptr;
  static inline pki::PrivateKey* key_ = nullptr;
};

// A fresh AppleCa, a VirtualClock at kNow and Apple's attestation servers over both, per test.
class AppleServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = AppleCa::create(kNow);
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<AppleCa>(std::move(*ca));
    clock_ = std::make_shared<VirtualClock>(kNow);
    servers_ = std::make_shared<AppleAttestationServers>(ca_, clock_);
  }

  std::shared_ptr<AppleCa> ca_;
  std::shared_ptr<VirtualClock> clock_;
  std::shared_ptr<AppleAttestationServers> servers_;
};

}  // namespace attestlab::sim::testing

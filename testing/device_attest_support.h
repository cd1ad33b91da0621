// Test-only: a throwaway Apple-like attestation CA built directly with core/pki (never
// through sim/: the server's tests must not share code with the simulator), and leaves
// carrying Apple's raw-valued extensions (docs/APPLE_FORMAT.md).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/pki.h"
#include "server/attest/apple_attestation.h"
#include "testing/temp_dir.h"

namespace attestlab::server::testing {

// 2026-11-26T12:00:00Z: the interop vector's verify_at, a convenient "now".
inline constexpr std::int64_t kNow = 1795694400;

struct TestAttestationCa {
  pki::PrivateKey root_key;
  pki::Certificate root;
  pki::PrivateKey intermediate_key;
  pki::Certificate intermediate;

  static TestAttestationCa make(const std::string& name = "Test Attestation") {
    TestAttestationCa ca;
    ca.root_key = pki::PrivateKey::generate(pki::KeySpec::p384()).value();
    pki::CertificateSpec root_spec;
    root_spec.subject = {{"CN", name + " Root CA"}, {"O", "attestlab tests"}};
    root_spec.not_before = kNow - 365 * 86400;
    root_spec.not_after = kNow + 10 * 365 * 86400;
    root_spec.is_ca = true;
    root_spec.key_usage_cert_sign = true;
    root_spec.key_usage_digital_signature = false;
    ca.root =
        pki::issue_certificate(root_spec, ca.root_key.public_key(), nullptr, ca.root_key).value();

    ca.intermediate_key = pki::PrivateKey::generate(pki::KeySpec::p384()).value();
    pki::CertificateSpec int_spec;
    int_spec.subject = {{"CN", name + " Sub CA 1"}, {"O", "attestlab tests"}};
    int_spec.not_before = kNow - 365 * 86400;
    int_spec.not_after = kNow + 5 * 365 * 86400;
    int_spec.is_ca = true;
    int_spec.path_len = 0;
    int_spec.key_usage_cert_sign = true;
    int_spec.key_usage_digital_signature = false;
    ca.intermediate =
        pki::issue_certificate(int_spec, ca.intermediate_key.public_key(), &ca.root, ca.root_key)
            .value();
    return ca;
  }

  // This CA with its intermediate (same key) re-issued as `cn`, valid from not_before to
  // not_after.
  TestAttestationCa with_intermediate_valid(const std::string& cn, std::int64_t not_before,
                                            std::int64_t not_after) const {
    TestAttestationCa ca = *this;
    pki::CertificateSpec int_spec;
    int_spec.subject = {{"CN", cn}};
    int_spec.not_before = not_before;
    int_spec.not_after = not_after;
    int_spec.is_ca = true;
    int_spec.key_usage_cert_sign = true;
    ca.intermediate =
        pki::issue_certificate(int_spec, ca.intermediate_key.public_key(), &ca.root, ca.root_key)
            .value();
    return ca;
  }
};

// What goes into a test leaf. Defaults: a healthy iPhone-like device (no Mac posture).
struct LeafSpec {
  pki::KeySpec key = pki::KeySpec::p384();
  std::optional<std::string> serial = std::string("F2LXK3ABCD12");
  std::optional<std::string> udid = std::string("00008110-001A2B3C4D5E801E");
  std::optional<std::string> os_version = std::string("17.5");
  std::optional<std::string> sepos_version = std::string("21.5.0");
  std::optional<std::string> llb_version = std::string("10151.121.1");
  // Freshness: SHA-256(token) unless `freshness` overrides it or include_freshness is off.
  bool include_freshness = true;
  std::optional<Bytes> freshness;
  // Mac posture raw values (absent = not a Mac).
  std::optional<Bytes> sip;
  std::optional<Bytes> secure_boot;
  std::optional<Bytes> kexts;
  std::int64_t not_before = kNow - 3600;
  std::int64_t not_after = kNow - 3600 + 7 * 86400;
  // When valid: the leaf's key instead of one generated for `key` (e.g. an odd curve).
  pki::PrivateKey given_key;

  // A healthy Apple silicon Mac: SIP on, full secure boot, no third-party kexts.
  static LeafSpec healthy_mac() {
    return {.serial = "C02XL0GVJGH5", .udid = "00008103-000A4C9E1E8A001E", .os_version = "14.5",
            .sepos_version = "23.5.0", .sip = Bytes{0x01}, .secure_boot = to_bytes("full"),
            .kexts = Bytes{0x00}};
  }
};

struct TestLeaf {
  pki::PrivateKey key;
  pki::Certificate cert;
};

inline TestLeaf issue_leaf(const TestAttestationCa& ca, const LeafSpec& spec,
                           const std::string& token) {
  TestLeaf leaf;
  leaf.key = spec.given_key.valid() ? spec.given_key : pki::PrivateKey::generate(spec.key).value();
  pki::CertificateSpec cs;
  cs.subject = {{"CN", hex_encode(sha256(leaf.key.public_key().spki_der())).substr(0, 20)}};
  cs.not_before = spec.not_before;
  cs.not_after = spec.not_after;
  auto text = [&](const char* oid, const std::optional<std::string>& v) {
    if (v) cs.extra_extensions.push_back({oid, to_bytes(*v), false});
  };
  text(kOidAppleSerial, spec.serial);
  text(kOidAppleUdid, spec.udid);
  text(kOidAppleOsVersion, spec.os_version);
  text(kOidAppleSeposVersion, spec.sepos_version);
  text(kOidAppleLlbVersion, spec.llb_version);
  if (spec.include_freshness) {
    cs.extra_extensions.push_back(
        {kOidAppleFreshness, spec.freshness ? *spec.freshness : sha256(token), false});
  }
  if (spec.sip) cs.extra_extensions.push_back({kOidAppleSip, *spec.sip, false});
  if (spec.secure_boot)
    cs.extra_extensions.push_back({kOidAppleSecureBoot, *spec.secure_boot, false});
  if (spec.kexts) cs.extra_extensions.push_back({kOidAppleThirdPartyKexts, *spec.kexts, false});
  leaf.cert =
      pki::issue_certificate(cs, leaf.key.public_key(), &ca.intermediate, ca.intermediate_key)
          .value();
  return leaf;
}

inline Json binary(const Bytes& b) {
  return Json::binary(std::vector<std::uint8_t>(b.begin(), b.end()));
}

// base64url(CBOR {"fmt": fmt, "attStmt": {"x5c": [der...]}}).
inline std::string att_obj(const std::vector<Bytes>& x5c, const std::string& fmt = "apple") {
  Json chain = Json::array();
  for (const auto& der : x5c) chain.push_back(binary(der));
  return base64url_encode(to_cbor(Json{{"fmt", fmt}, {"attStmt", Json{{"x5c", chain}}}}));
}

inline std::string att_obj(const TestAttestationCa& ca, const TestLeaf& leaf) {
  return att_obj({leaf.cert.to_der(), ca.intermediate.to_der()});
}

using attestlab::testing::TempDir;  // testing/temp_dir.h

inline std::string interop_dir() {
  return std::string(ATTESTLAB_SOURCE_DIR) + "/fixtures/interop/apple-attestation/";
}

inline std::string read_text(const std::string& path) {
  auto r = pki::read_file(path);
  if (!r) throw std::runtime_error(r.error().detail);
  return *r;
}

inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace attestlab::server::testing

// The "apple" attestation statement format (PROTOCOL.md §3, docs/APPLE_FORMAT.md):
// base64url(CBOR {"fmt": "apple", "attStmt": {"x5c": [leaf, intermediates...]}}) whose
// leaf, chained to a configured root, carries the device facts as raw-valued extensions.
//
// verify_apple_attestation is a pure function of its arguments (no I/O, no clock, no
// policy beyond the options given), thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"

namespace attestlab::server {

// Apple's extension OIDs (1.2.840.113635.100.8.*).
inline constexpr const char* kOidAppleSerial = "1.2.840.113635.100.8.9.1";
inline constexpr const char* kOidAppleUdid = "1.2.840.113635.100.8.9.2";
inline constexpr const char* kOidAppleOsVersion = "1.2.840.113635.100.8.10.1";
inline constexpr const char* kOidAppleSeposVersion = "1.2.840.113635.100.8.10.2";
inline constexpr const char* kOidAppleLlbVersion = "1.2.840.113635.100.8.10.3";
inline constexpr const char* kOidAppleFreshness = "1.2.840.113635.100.8.11.1";
inline constexpr const char* kOidAppleSip = "1.2.840.113635.100.8.13.1";
inline constexpr const char* kOidAppleSecureBoot = "1.2.840.113635.100.8.13.2";
inline constexpr const char* kOidAppleThirdPartyKexts = "1.2.840.113635.100.8.13.3";

// The default oldest attestation leaf accepted: 7 days and an hour. An ACME attestation is
// made when the device generates the key, just before it answers the challenge (Apple's
// 7-day throttle is DeviceInformation's, not ACME's: Apple Developer Forums thread 783599),
// so a fresh one is minutes old; this bound is attestlab's default, not an Apple figure,
// and the freshness code is what ties a leaf to its challenge.
inline constexpr std::int64_t kDefaultMaxAttestationAge = 7 * 24 * 3600 + 3600;
inline constexpr std::int64_t kDefaultClockSkew = 300;

// Intermediates already verified to a root. An attestation whose x5c is [leaf, one of
// these] then costs one signature check (the leaf's, under the remembered intermediate, with
// the validity of leaf, intermediate and root at the verification time checked every time)
// instead of two, and one certificate parse instead of two. An entry names its root: it is
// used only while that root is among the roots given. Thread-safe; at most `capacity`
// entries (the oldest is dropped).
class VerifiedIntermediates {
 public:
  struct Link {
    pki::Certificate intermediate;
    pki::Certificate root;
    Bytes root_fingerprint;
  };
  explicit VerifiedIntermediates(std::size_t capacity = 64) : capacity_(capacity) {}
  // The link of the intermediate whose DER has this SHA-256, if remembered.
  std::optional<Link> find(const Bytes& der_sha256) const;
  void remember(const Bytes& der_sha256, Link link);
  // Attestations whose chain was verified through a remembered intermediate.
  std::uint64_t hits() const;
  void count_hit();

 private:
  mutable std::mutex mu_;
  std::size_t capacity_;
  std::map<Bytes, Link> links_;
  std::deque<Bytes> order_;  // insertion order, for dropping the oldest
  std::uint64_t hits_ = 0;
};

struct AppleVerifyOptions {
  // EC curves (by bits: 256 = P-256, 384 = P-384, 521 = P-521) the attested key may use.
  // Any other key type (RSA, Ed25519) is always refused.
  std::vector<int> allowed_ec_bits = {256, 384};
  // The leaf's notBefore may be at most this long before `now`.
  std::int64_t max_attestation_age_seconds = kDefaultMaxAttestationAge;
  // A leaf whose notBefore is at most this far in the future still verifies (the
  // attestation server's clock may run ahead of ours); notAfter gets no such slack.
  std::int64_t clock_skew_seconds = kDefaultClockSkew;
  // At most this many certificates in x5c.
  std::size_t max_chain_length = 5;
  // Where verified intermediates are remembered and looked up (null: none; every chain is
  // verified in full). Shared by the calls of one validator.
  std::shared_ptr<VerifiedIntermediates> intermediates;
};

// What a verified Apple attestation says. Optional members are absent when the leaf has
// no such extension (User Enrollment has no serial/UDID; only Apple silicon Macs attest
// SIP, secure boot and kexts). A Mac flag or boot level whose raw value is not one of the
// encodings of docs/APPLE_FORMAT.md is absent from the decoded value and kept in *_raw,
// so a policy that needs it can refuse it as unreadable.
struct AttestedFacts {
  std::string fmt = "apple";
  std::optional<std::string> serial;
  std::optional<std::string> udid;
  std::optional<std::string> os_version;
  std::optional<std::string> sepos_version;
  std::optional<std::string> llb_version;
  std::optional<bool> sip_enabled;
  std::optional<std::string> secure_boot;  // "full" | "reduced" | "permissive"
  std::optional<bool> third_party_kexts_allowed;
  std::optional<Bytes> sip_raw;  // present whenever the SIP extension is
  std::optional<Bytes> secure_boot_raw;
  std::optional<Bytes> kexts_raw;
  Bytes freshness;  // the 32-byte freshness code

  pki::PublicKey key;  // the attested (Secure Enclave) key
  pki::Certificate leaf;
  std::vector<pki::Certificate> intermediates;
  Bytes root_fingerprint;  // SHA-256 of the DER of the root that anchored it

  // Any of the Mac posture OIDs (1.2.840.113635.100.8.13.*) is present.
  bool has_mac_posture() const;
  // Neither serial nor UDID is attested (User Enrollment, BYOD).
  bool user_enrollment() const { return !serial && !udid; }
  // The facts as JSON: fmt, spki (base64url DER), key ("P-256"...), serial, udid,
  // os_version, sepos_version, llb_version, posture {sip, secure_boot, third_party_kexts}
  // (Macs), freshness (hex), leaf_serial (hex), leaf_not_before/leaf_not_after (RFC 3339),
  // root_sha256 (hex). Absent facts are absent members.
  Json to_json() const;
};

// Verifies an attestation object as the client sent it (base64url text of the CBOR) for a
// challenge `token` at time `now`: the CBOR structure, fmt == "apple", the x5c chain to one
// of `roots`, the leaf's validity and age, the freshness code == SHA-256(token) (required:
// a leaf without one is refused), and the attested key type/curve. Extracts the facts.
// Errors: Error("badAttestationStatement", detail); when `failed_rule` is not null it
// receives the id of the failed check: "encoding" (base64url/CBOR), "format" (structure,
// fmt, x5c), "certificate" (undecodable DER, CA leaf), "extension" (an identity or version
// extension that is not UTF-8 text), "validity", "chain", "attestation_age", "freshness",
// "key".
Result<AttestedFacts> verify_apple_attestation(std::string_view att_obj_b64u,
                                               const std::vector<pki::Certificate>& roots,
                                               const std::string& token, std::int64_t now,
                                               const AppleVerifyOptions& options = {},
                                               std::string* failed_rule = nullptr);

}  // namespace attestlab::server

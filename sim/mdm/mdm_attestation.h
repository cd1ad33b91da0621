// The MDM's own check of a DeviceInformation DevicePropertiesAttestation answer
// (PROTOCOL.md §4): independent of any ACME server, the way an MDM decides whether to
// trust what a device says about itself.
//
// Verdicts, strongest evidence first:
//   untrusted  the chain does not verify to a configured attestation root, a certificate
//              does not parse, the attested serial/UDID differ from the device's check-in
//              identity (it claims another device's identifier), a self-reported fact
//              contradicts the attestation (it lies), or the attested posture breaks the
//              policy (SIP off, reduced secure boot, third-party kexts, OS too old);
//   stale      everything verifies, but the freshness code is not SHA-256 of the nonce the
//              MDM sent (or is absent): the device returned a cached attestation (Apple's
//              7-day throttle) or replayed an old one;
//   trusted    everything verifies and the attestation is fresh;
//   unknown    no usable answer yet (the MDM's state before any answer, or after an Error).
// Every verdict comes with reasons, one sentence each, naming the evidence.
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"
#include "sim/device/apple_format.h"

namespace attestlab::sim {

enum class AttestationVerdict { Unknown, Trusted, Untrusted, Stale };
const char* to_string(AttestationVerdict verdict);  // "unknown", "trusted", "untrusted", "stale"

// What the MDM requires of an attested device. Defaults match attestlab serve's
// (fixtures/policy.example.json).
struct MdmAttestationPolicy {
  bool require_sip = true;               // Apple silicon Macs: SIP attested enabled
  bool require_full_secure_boot = true;  // Apple silicon Macs: secure boot "full"
  bool forbid_third_party_kexts = true;  // Apple silicon Macs: kexts not allowed
  // Self-reported serial/UDID/OS version must equal the attested ones.
  bool require_claims_match = true;
  std::string min_os_version;  // "" = no floor; else e.g. "17.0" (numeric per component)

  // Reads {"require_sip": bool, "require_full_secure_boot": bool,
  // "forbid_third_party_kexts": bool, "require_claims_match": bool, "min_os_version": "x.y"}
  // (members optional; "_"-prefixed members are comments). Unknown members or wrong types:
  // Error("malformed", what).
  static Result<MdmAttestationPolicy> from_json(const Json& json);
};

// What the device said about itself: the check-in identity and the latest self-reported
// facts (DeviceInformation answers override the check-in's).
struct DeviceClaims {
  std::string udid;
  std::string serial;
  std::string enrollment_id;
  std::string os_version;
  bool user_enrollment = false;
};

struct AttestationAssessment {
  AttestationVerdict verdict = AttestationVerdict::Unknown;
  std::vector<std::string> reasons;
  std::optional<DeviceFacts> attested;  // when the leaf could be read
  std::optional<Bytes> freshness;       // the leaf's freshness code, if any
  std::int64_t leaf_not_before = 0;

  Json to_json() const;  // {"verdict", "reasons", "attested": {...}, "leaf_not_before"}
};

// Judges a DevicePropertiesAttestation answer: certificates = the array as received (leaf
// first, then intermediates), nonce_sent = the DeviceAttestationNonce of the command it
// answers (nullopt when none was sent: freshness is then not judged), roots = trust
// anchors, now = time for the chain's validity.
AttestationAssessment assess_device_attestation(const std::vector<Bytes>& certificates,
                                                const std::optional<Bytes>& nonce_sent,
                                                const DeviceClaims& claims,
                                                const std::vector<pki::Certificate>& roots,
                                                const MdmAttestationPolicy& policy,
                                                std::int64_t now);

// Numeric dotted-version comparison ("17.10" > "17.5"); missing components count as 0 and
// non-numeric components compare as text. <0, 0, >0 like strcmp.
int compare_versions(const std::string& a, const std::string& b);

}  // namespace attestlab::sim

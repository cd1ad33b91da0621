// The device-attest posture and key policy (`attestlab serve --policy FILE`). Every rule
// can be switched; the defaults (below and in fixtures/policy.example.json) refuse what a
// well-run fleet never produces and never refuse a genuine, healthy device.
//
// Policy JSON (every member optional; a member given replaces its default entirely;
// members whose name starts with "_" are comments and ignored; any other unknown member
// is an error, so a typo cannot silently switch a rule off):
//   "match": "either"              order identifier must equal the attested "serial",
//                                   "udid", or "either"
//   "curves": ["P-256","P-384"]    EC curves the attested key may use (P-256/P-384/P-521)
//   "max_attestation_age_seconds": 608400   leaf notBefore at most this old (7 d + 1 h)
//   "clock_skew_seconds": 300      leaf notBefore may be this far in the future
//   "min_os_version": {"macOS":"14.0","iOS":"16.0","iPadOS":"16.0","tvOS":"16.0",
//                      "watchOS":"10.0","visionOS":"1.1"}
//   "min_sepos_version": {}        per platform, same shape
//   "require_sip": true            Macs: System Integrity Protection enabled
//   "require_full_secure_boot": true   Macs: secure boot level "full"
//   "forbid_third_party_kexts": true   Macs: third-party kernel extensions not allowed
//   "allow_user_enrollment": false     accept attestations without serial/UDID (BYOD)
//   "one_active_certificate_per_device": true  revoke a device's older certificates
//   "limits": {...}                the ACME server's quotas (server/acme/rate_limits.h)
//
// Platforms: an attestation does not name its platform. The platform is the inventory
// entry's "platform" when the inventory knows the device, else "macOS" when the leaf
// carries the Mac posture OIDs (1.2.840.113635.100.8.13.*), else "default". A version
// floor map is looked up by platform, then by "default"; no entry = no floor. A floor
// may also be given as a plain string, meaning {"default": value}.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "server/attest/apple_attestation.h"

namespace attestlab::server {

enum class IdentifierMatch { Serial, Udid, Either };

// Platform names a floor map may use.
const std::vector<std::string>&
policy_platforms();  // iOS iPadOS tvOS macOS watchOS visionOS default

struct AttestPolicy {
  IdentifierMatch match = IdentifierMatch::Either;
  std::vector<std::string> curves = {"P-256", "P-384"};
  std::int64_t max_attestation_age_seconds = kDefaultMaxAttestationAge;
  std::int64_t clock_skew_seconds = kDefaultClockSkew;
  // Apple's Managed Device Attestation minimums: floors no genuine device falls below.
  std::map<std::string, std::string> min_os_version = {{"iOS", "16.0"},     {"iPadOS", "16.0"},
                                                       {"tvOS", "16.0"},    {"macOS", "14.0"},
                                                       {"watchOS", "10.0"}, {"visionOS", "1.1"}};
  std::map<std::string, std::string> min_sepos_version;
  bool require_sip = true;
  bool require_full_secure_boot = true;
  bool forbid_third_party_kexts = true;
  bool allow_user_enrollment = false;
  bool one_active_certificate_per_device = true;

  // Parses a policy document (see the file comment). Error("malformed", "<member>: why").
  static Result<AttestPolicy> from_json(const Json& doc);
  // Reads and parses a policy file; errors name the file.
  static Result<AttestPolicy> load(const std::string& path);
  // The effective policy in the same JSON shape (every member present).
  Json to_json() const;
  // The verifier options this policy implies.
  AppleVerifyOptions verify_options() const;
};

// Dotted numeric versions ("17.5", "10151.121.1"): each component all digits, at most 9
// digits. nullopt for anything else ("17.5b", "", "1..2").
std::optional<std::vector<std::uint64_t>> parse_version(std::string_view text);
// Numeric per component, missing components are 0: "17.5" < "17.10", "17" == "17.0".
// Both must parse; an unparsable one compares as lower than anything.
int compare_versions(std::string_view a, std::string_view b);

// "macOS" when the facts carry Mac posture, else "default" (an inventory entry's platform
// overrides this; see the file comment).
std::string platform_of(const AttestedFacts& facts);

// Applies the version floors and the Mac posture rules to verified facts for `platform`.
// Error("badAttestationStatement", "policy <rule>: <evidence>"); *failed_rule receives the
// rule id ("min_os_version", "min_sepos_version", "require_sip",
// "require_full_secure_boot", "forbid_third_party_kexts").
Result<void> check_posture(const AttestPolicy& policy, const AttestedFacts& facts,
                           const std::string& platform, std::string* failed_rule = nullptr);

}  // namespace attestlab::server

// The ACMECertificate configuration-profile payload (PayloadType com.apple.security.acme,
// PROTOCOL.md §4): its model, its plist form (libplist dict, XML or binary text), and the
// checks an Apple device makes before it starts an enrollment.
//
// The model keeps "absent" apart from "false/0": every key is optional, and the effective
// value a device uses (Apple's default when absent) comes from the accessors. Parsing is
// lenient the way a device is: unknown keys are ignored (their names are kept in
// unknown_keys for linting, their values are dropped and never written back); a key of
// the wrong plist type is treated as absent and recorded in parse_problems, which
// validate_as_device() reports. Nothing here throws; pure functions, thread-safe.
#pragma once

#include <plist/plist.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace attestlab::sim {

inline constexpr const char* kAcmePayloadType = "com.apple.security.acme";
inline constexpr const char* kAcmeKeyTypeRsa = "RSA";
inline constexpr const char* kAcmeKeyTypeEc = "ECSECPrimeRandom";
// UsageFlags bits (a bit field; Apple defines only these two).
inline constexpr std::int64_t kAcmeUsageSign = 1;     // digitalSignature
inline constexpr std::int64_t kAcmeUsageEncrypt = 4;  // keyEncipherment

// One finding about a payload. code is stable (tests, `attestlab profile lint` output);
// key names the payload key concerned ("" when it concerns the whole payload).
struct PayloadProblem {
  enum class Severity {
    Error,    // a device refuses the payload: no enrollment is attempted
    Warning,  // a device accepts it, but something is probably not what the author meant
  };
  std::string code;
  std::string key;
  std::string message;
  Severity severity = Severity::Error;

  bool operator==(const PayloadProblem&) const = default;
};

// SubjectAltName dictionary. Apple documents each member as one string; an array of
// strings is accepted too and read as several names. Written back as a string when it
// holds exactly one name, else as an array.
struct AcmeSubjectAltName {
  std::vector<std::string> rfc822_name;
  std::vector<std::string> dns_name;
  std::vector<std::string> uniform_resource_identifier;
  std::vector<std::string> nt_principal_name;

  bool empty() const;
  bool operator==(const AcmeSubjectAltName&) const = default;
};

// Subject: an array of RDNs, each an array of [oid-or-short-name, value] pairs, e.g.
// [[["C","US"]],[["O","Example"]],[["CN","device"]]]. Short names Apple documents: C, L,
// ST, O, OU, CN; anything else must be a dotted OID.
using SubjectAttribute = std::pair<std::string, std::string>;
using SubjectRdn = std::vector<SubjectAttribute>;

struct AcmePayload {
  // Common payload keys.
  std::optional<std::string> payload_type;  // must be kAcmePayloadType
  std::optional<std::string> payload_uuid;
  std::optional<std::string> payload_identifier;
  std::optional<std::int64_t> payload_version;  // 1
  std::optional<std::string> payload_display_name;
  std::optional<std::string> payload_description;
  std::optional<std::string> payload_organization;

  // ACMECertificate keys.
  std::optional<std::string> directory_url;        // required, https
  std::optional<std::string> client_identifier;    // required: the permanent-identifier value
  std::optional<std::string> key_type;             // required: RSA | ECSECPrimeRandom
  std::optional<std::int64_t> key_size;            // required
  std::optional<bool> hardware_bound;              // required
  std::optional<bool> attest;                      // default false
  std::optional<std::vector<SubjectRdn>> subject;  // required (may be empty)
  std::optional<AcmeSubjectAltName> subject_alt_name;
  std::optional<std::int64_t> usage_flags;                     // default 0
  std::optional<std::vector<std::string>> extended_key_usage;  // dotted OIDs
  std::optional<bool> key_is_extractable;                      // default true
  std::optional<bool> allow_all_apps_access;                   // default false

  // Filled by parsing only; never written. Problems: "wrong_type" (the key is then
  // absent above) and "invalid_subject"/"invalid_subject_alt_name" (bad inner shape).
  std::vector<PayloadProblem> parse_problems;
  std::vector<std::string> unknown_keys;  // keys a device ignores, in dict order

  // Effective values (Apple's defaults for absent keys).
  bool attests() const { return attest.value_or(false); }
  bool is_hardware_bound() const { return hardware_bound.value_or(false); }
  bool is_rsa() const { return key_type && *key_type == kAcmeKeyTypeRsa; }
  bool key_extractable() const { return key_is_extractable.value_or(true); }
  bool all_apps_access() const { return allow_all_apps_access.value_or(false); }
  std::int64_t usage() const { return usage_flags.value_or(0); }

  // The payload an MDM sends for MDA: ECSECPrimeRandom 384, HardwareBound, Attest, Subject
  // CN = client_identifier, a fresh PayloadUUID and PayloadIdentifier
  // "com.attestlab.acme.<uuid>", PayloadVersion 1, UsageFlags 1 (sign), EKU clientAuth.
  static AcmePayload for_attestation(std::string directory_url, std::string client_identifier,
                                     std::int64_t key_size = 384);

  // Compares every key (and the parse findings).
  bool operator==(const AcmePayload&) const = default;
};

// Owns a plist_t (plist_free on destruction).
struct PlistDeleter {
  void operator()(void* node) const noexcept;
};
using PlistPtr = std::unique_ptr<void, PlistDeleter>;

// Reads a payload dict. The node is only read (the caller keeps ownership). Error
// ("malformed") when node is null or not a dict; everything else lands in the payload
// (see parse_problems).
Result<AcmePayload> parse_acme_payload(plist_t dict);
// Same from plist text: XML or binary (detected). Error("malformed") when the text is
// not a plist or its root is not a dict.
Result<AcmePayload> parse_acme_payload_text(std::string_view text);

// The payload as a new plist dict (only the keys that are set) and as XML plist text.
PlistPtr acme_payload_to_plist(const AcmePayload& payload);
std::string acme_payload_to_xml(const AcmePayload& payload);

// Every com.apple.security.acme dict in a configuration profile's PayloadContent array
// (a .mobileconfig, unsigned), in order. A root dict that is itself an ACME payload
// counts as one. Error("malformed") when the text is not a plist dict.
Result<std::vector<AcmePayload>> acme_payloads_in_profile_text(std::string_view text);
// A minimal unsigned configuration profile (PayloadType Configuration) carrying the
// payloads, as XML. profile_identifier empty = "com.attestlab.profile.<uuid>".
std::string configuration_profile_xml(const std::vector<AcmePayload>& payloads,
                                      const std::string& profile_identifier = "",
                                      const std::string& display_name = "attestlab ACME");

// The checks a device makes before any network request: every Error-severity problem
// makes it refuse the payload; warnings are informational (see PayloadProblem). Codes:
//   wrong_type, invalid_subject, invalid_subject_alt_name (from parsing),
//   missing_payload_type, wrong_payload_type, missing_payload_uuid,
//   missing_payload_identifier, missing_payload_version,
//   missing_directory_url, directory_url_not_https, invalid_directory_url,
//   missing_client_identifier, empty_client_identifier,
//   missing_key_type, unsupported_key_type, missing_key_size, unsupported_key_size,
//   missing_hardware_bound, hardware_bound_requires_ec, hardware_bound_key_size,
//   attest_requires_hardware_bound, attest_with_rsa,
//   missing_subject, unknown_subject_attribute, empty_subject_value,
//   invalid_usage_flags, invalid_eku_oid
// Warnings: payload_version_not_1, unknown_usage_flags, rsa_key_size_small,
//   extractable_hardware_bound_key, client_identifier_not_permanent_identifier,
//   unknown_key.
std::vector<PayloadProblem> validate_as_device(const AcmePayload& payload);

// True when any problem has Error severity (the device refuses).
bool device_refuses(const std::vector<PayloadProblem>& problems);

// "error" | "warning".
const char* to_string(PayloadProblem::Severity severity);

// One line a problem: "error hardware_bound_requires_ec (KeyType): ...".
std::string describe(const PayloadProblem& problem);

// A random RFC 4122 version 4 UUID in upper case, as Apple profiles write them.
std::string new_payload_uuid();

}  // namespace attestlab::sim

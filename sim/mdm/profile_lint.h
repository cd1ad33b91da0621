// `attestlab profile lint`: every problem in a .mobileconfig that would make a device refuse
// it (errors) or that is probably not what the admin meant (warnings), each explained in
// words an admin acts on.
//
// Payload-level rules of ACMECertificate payloads are validate_as_device()'s
// (sim/device/acme_payload.h), with the same codes and a hint added to the message. The rules
// that need the whole profile are here:
//   not_a_profile            the file is no plist (or signed profile) at all
//   wrong_profile_type       the root's PayloadType is not "Configuration"
//   missing_payload_type / missing_payload_identifier / missing_payload_uuid /
//   missing_payload_version  a required common key is absent (root or any payload)
//   wrong_type               a common key has the wrong plist type
//   missing_payload_content, payload_not_dict, empty_payload_content (warning)
//   duplicate_payload_uuid, duplicate_payload_identifier
//   unknown_certificate_reference  a payload names a certificate PayloadUUID that no
//                            payload of the profile has
//   reference_not_identity   it names a payload that provides no identity
//   too_many_acme_references more than kMaxAcmeReferences payloads use one ACME payload
//   multiple_mdm_payloads, mdm_missing_server_url, mdm_url_not_https, mdm_missing_topic,
//   mdm_invalid_access_rights, mdm_topic_not_apns (warning), mdm_missing_identity (warning)
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sim/device/acme_payload.h"

namespace attestlab::sim {

struct ProfileProblem {
  using Severity = PayloadProblem::Severity;
  std::string code;
  Severity severity = Severity::Error;
  // The payload concerned: its PayloadIdentifier, or "PayloadContent[i]" when it has none,
  // or the profile's identifier (or "profile") for problems of the profile itself.
  std::string payload;
  std::string payload_type;  // "" when unknown
  std::string key;           // the key concerned; "" = the whole payload
  std::string message;       // what is wrong, what the device does, how to fix it
};

// Lints a profile file's bytes (XML, binary, or signed). Never fails: a file that cannot be
// read gives the single problem not_a_profile. expect_acme_payload (what `profile lint`
// checks: a profile meant to get a device an attested certificate): a profile with neither
// an ACME nor an MDM payload gets the error no_acme_payload, e.g. when the ACME payload's
// PayloadType is misspelled. Payloads of a type the linter does not know get the warning
// unknown_payload_type either way.
std::vector<ProfileProblem> lint_profile(std::string_view file_bytes,
                                         bool expect_acme_payload = false);

bool has_errors(const std::vector<ProfileProblem>& problems);

// "error unknown_certificate_reference [com.example.wifi] (PayloadCertificateUUID): ..."
std::string describe(const ProfileProblem& problem);

}  // namespace attestlab::sim

// Syntax rules for what clients send in accounts and orders: identifiers (RFC 8555
// §7.1.3/§9.7.7, RFC 8738, draft-ietf-acme-device-attest §3–4) and contacts (§7.3).
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"
#include "server/store/model.h"

namespace attestlab::server {

// An LDH host name: labels of 1–63 letters, digits and inner hyphens, at most 253
// characters, no trailing dot, last label not all digits. Lowercase only.
bool is_valid_dns_name(std::string_view name);

// The canonical text of an IPv4 or IPv6 address (inet_ntop form), or nullopt.
std::optional<std::string> canonical_ip(std::string_view text);

// A newOrder identifier, validated and normalised (dns values lowercased). Wildcards
// ("*." + name) are allowed for dns. Errors: "malformed" (bad syntax, non-canonical
// IP), "unsupportedIdentifier" (unknown type).
Result<Identifier> normalize_identifier(const Json& identifier);

// Challenge types offered for an identifier: dns → http-01 + dns-01 (wildcard: dns-01
// only), ip → http-01, permanent-identifier / hardware-module → device-attest-01.
std::vector<std::string> challenge_types_for(const Identifier& identifier, bool wildcard);

bool is_device_identifier(const Identifier& identifier);

// The SAN forms of device identifiers (draft §3.2, §4.2): permanent-identifier
// "device[/assigner]" and hardware-module "serial/hwTypeOID".
pki::PermanentIdentifier permanent_identifier_of(const Identifier& identifier);
pki::HardwareModuleName hardware_module_of(const Identifier& identifier);

// One contact URL: only "mailto:" with exactly one address and no header fields.
// Errors: "unsupportedContact" (other schemes), "invalidContact" (bad address).
Result<void> check_contact(const std::string& contact);
// The "contact" member of an account request: an array of strings, each checked.
Result<std::vector<std::string>> parse_contacts(const Json& contact);

}  // namespace attestlab::server

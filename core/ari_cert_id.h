// The ACME Renewal Information certificate identifier (RFC 9773 §4.1):
// base64url(AKI keyIdentifier) "." base64url(DER serial number content), padding
// stripped. Used by the client (to ask for renewal information and to name the
// predecessor in newOrder "replaces") and by the server (to find the certificate).
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/pki.h"
#include "core/result.h"

namespace attestlab::ari {

struct CertId {
  Bytes authority_key_id;  // keyIdentifier of the certificate's AKI extension
  Bytes serial;            // content octets of the DER INTEGER (leading 0x00 kept)
};

// The identifier of a certificate; Error("malformed") when it has no AKI keyIdentifier.
Result<std::string> cert_id(const pki::Certificate& certificate);
// The parts of the identifier; Error("malformed") unless it is two non-empty base64url
// parts joined by one "." and the serial is a minimally encoded, positive INTEGER.
Result<CertId> parse_cert_id(std::string_view text);
// The serial in pki::Certificate::serial_hex form (lowercase, no leading zeros).
std::string serial_hex(const CertId& id);

}  // namespace attestlab::ari

// The application/pem-certificate-chain media type (RFC 8555 §9.1) read as strictly as the
// spec writes it: "The textual encoding of certificates in this file MUST use the strict
// encoding and MUST NOT include explanatory text." Pure functions, thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace attestlab::client {

// The DER of each certificate in a chain file, in order. Accepted: one or more RFC 7468 §3
// "stricttextualmsg" blocks ("-----BEGIN CERTIFICATE-----" eol, base64 in lines of exactly
// 64 characters but the last, 4 to 64 characters, padding only at its end, then
// "-----END CERTIFICATE-----" eol; eol is CRLF, CR or LF), each holding a DER X.509
// certificate. Between two blocks at most one empty line: §9.1 prints
// "certchain = stricttextualmsg *(eol stricttextualmsg)" and its verified erratum 5983
// drops that eol, so both readings are accepted. Anything else (text before, between or
// after the blocks, another label, whitespace, a short line that is not the last, a block
// without its END line or its final line break) is kErrorUnexpectedResponse whose detail
// names the line and what was wrong there.
Result<std::vector<Bytes>> parse_pem_certificate_chain(std::string_view text);

}  // namespace attestlab::client

// Byte strings and their textual encodings (base64url per RFC 7515 §2, base64, hex) and
// the digests the protocols use. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace attestlab {

using Bytes = std::vector<std::uint8_t>;

Bytes to_bytes(std::string_view s);
std::string to_string(const Bytes& b);

// base64url without padding. Decoding refuses padding, whitespace and any character
// outside the URL-safe alphabet ("malformed").
std::string base64url_encode(const Bytes& data);
std::string base64url_encode(std::string_view data);
Result<Bytes> base64url_decode(std::string_view text);

// Standard base64 with padding (PEM bodies, plist <data>).
std::string base64_encode(const Bytes& data);
// RFC 7468's strict textual encoding of `data` under `label` ("CERTIFICATE"): the BEGIN line,
// base64 in lines of 64 characters (the last one shorter), the END line, each ending in LF;
// the same text OpenSSL's PEM_write_bio_* writes.
std::string pem_encode(std::string_view label, const Bytes& data);
Result<Bytes> base64_decode(std::string_view text);

std::string hex_encode(const Bytes& data);  // lowercase
Result<Bytes> hex_decode(std::string_view text);

Bytes sha256(const Bytes& data);
Bytes sha256(std::string_view data);
Bytes sha384(const Bytes& data);
Bytes hmac_sha256(const Bytes& key, std::string_view data);

// Cryptographically random bytes from OpenSSL's DRBG (up to 64 through a per-thread pool that
// a forked child forgets: bytes.cpp).
Bytes random_bytes(std::size_t n);
// base64url of n random bytes: tokens, nonces, ids.
std::string random_token(std::size_t n = 16);
// Identifier of a stored object (account, order, challenge, certificate): 48 bits of
// milliseconds since the epoch, big-endian, then 72 random bits, written as 20 characters of
// an order-preserving base64 alphabet ('-', digits, upper case, '_', lower case: ASCII
// order), so that ids sort by creation time. New rows then land at the right edge of the
// store's B-tree indexes instead of on random leaves: at a million stored enrollments the
// random ids made most inserts read a page from disk. The time prefix reveals when an object
// was made, which its owner already knows; the 72 random bits keep ids unguessable.
std::string sortable_id();  // now (system_millis)
std::string sortable_id(std::int64_t unix_millis);
// 48 bits of `unix_millis` (milliseconds since the epoch; earlier counts as 0), big-endian,
// then `random_len` bytes from the CSPRNG: the time-ordered body of sortable_id and of
// pki::new_serial.
Bytes time_ordered_bytes(std::int64_t unix_millis, std::size_t random_len);

// Constant-time comparison.
bool equal_ct(const Bytes& a, const Bytes& b);

}  // namespace attestlab

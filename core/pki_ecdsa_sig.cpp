// ECDSA signature formats: the DER ECDSA-Sig-Value OpenSSL signs and verifies, and JOSE's
// fixed-length r||s (RFC 7518 §3.4).
#include <openssl/bn.h>
#include <openssl/ec.h>

#include <span>
#include <string>

#include "core/der.h"
#include "core/pki_internal.h"

namespace attestlab::pki {
namespace {

Error malformed(const std::string& what) {
  ossl::last_error();  // drop whatever OpenSSL queued while refusing the input
  return Error::make("malformed", what);
}

}  // namespace

Result<Bytes> ecdsa_der_to_raw(const Bytes& der, std::size_t coord_len) {
  const unsigned char* p = der.data();
  ossl::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) return malformed("invalid DER ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  if (coord_len == 0 || static_cast<std::size_t>(BN_num_bytes(r)) > coord_len ||
      static_cast<std::size_t>(BN_num_bytes(s)) > coord_len)
    return Error::make("malformed", "ECDSA signature component too large");
  Bytes raw(coord_len * 2);
  if (BN_bn2binpad(r, raw.data(), static_cast<int>(coord_len)) < 0 ||
      BN_bn2binpad(s, raw.data() + coord_len, static_cast<int>(coord_len)) < 0)
    return Error::make("serverInternal", "encoding ECDSA signature: " + ossl::last_error());
  return raw;
}

Result<Bytes> ecdsa_raw_to_der(const Bytes& raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 2 * 66)
    return Error::make("malformed", "raw ECDSA signature has an invalid length");
  // ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3), each a
  // non-negative integer in its shortest form; written here rather than through two BIGNUMs
  // and i2d_ECDSA_SIG (every ES256 JWS a server checks is converted).
  const std::span<const std::uint8_t> both(raw);
  const std::size_t half = raw.size() / 2;
  Bytes body = der::unsigned_integer(both.first(half));
  der::append(body, der::unsigned_integer(both.subspan(half)));
  return der::tlv(der::kSequence, body);
}

}  // namespace attestlab::pki

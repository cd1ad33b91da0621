// Test-only: a key's SubjectPublicKeyInfo as OpenSSL itself writes it (i2d_PUBKEY, through its
// provider encoder), the reference the project's own encoders are compared with. Header-only.
#pragma once

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "core/bytes.h"

namespace attestlab::testing {

inline Bytes openssl_spki(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  Bytes out = len > 0 ? Bytes(der, der + len) : Bytes();
  OPENSSL_free(der);
  return out;
}

}  // namespace attestlab::testing

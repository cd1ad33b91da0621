// Test-only EC keys that must be refused: curves other than P-256/384/521 (secp256k1,
// brainpool) and keys carrying explicit domain parameters. Header-only.
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <string>

#include "core/pki.h"

namespace attestlab::testing {

// A private key on `group` (an OpenSSL curve name), generated with explicit parameters
// when `explicit_params`; an invalid key when OpenSSL cannot make one.
inline pki::PrivateKey odd_ec_key(const char* group, bool explicit_params = false) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* raw = nullptr;
  std::string encoding = explicit_params ? "explicit" : "named_curve";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, encoding.data(), 0),
      OSSL_PARAM_construct_end()};
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx) != 1 ||
      EVP_PKEY_CTX_set_params(ctx, params) != 1 || EVP_PKEY_generate(ctx, &raw) != 1) {
    EVP_PKEY_CTX_free(ctx);
    return pki::PrivateKey();
  }
  EVP_PKEY_CTX_free(ctx);
  std::string pem;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (PEM_write_bio_PrivateKey(bio, raw, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
      char* data = nullptr;
      long len = BIO_get_mem_data(bio, &data);
      pem.assign(data, static_cast<std::size_t>(len));
    }
    BIO_free(bio);
  }
  EVP_PKEY_free(raw);
  auto key = pki::PrivateKey::from_pem(pem);
  return key.ok() ? *key : pki::PrivateKey();
}

}  // namespace attestlab::testing

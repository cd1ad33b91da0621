// Deleters for the RAII handles declared in ossl.h: one explicit specialization per alias.
#include "core/ossl.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace attestlab::ossl {

template <>
void Deleter<EVP_PKEY>::operator()(EVP_PKEY* p) const noexcept {
  EVP_PKEY_free(p);
}
template <>
void Deleter<EVP_PKEY_CTX>::operator()(EVP_PKEY_CTX* p) const noexcept {
  EVP_PKEY_CTX_free(p);
}
template <>
void Deleter<EVP_MD_CTX>::operator()(EVP_MD_CTX* p) const noexcept {
  EVP_MD_CTX_free(p);
}
template <>
void Deleter<X509>::operator()(X509* p) const noexcept {
  X509_free(p);
}
template <>
void Deleter<X509_REQ>::operator()(X509_REQ* p) const noexcept {
  X509_REQ_free(p);
}
template <>
void Deleter<BIO>::operator()(BIO* p) const noexcept {
  BIO_free_all(p);
}
template <>
void Deleter<X509_STORE>::operator()(X509_STORE* p) const noexcept {
  X509_STORE_free(p);
}
template <>
void Deleter<X509_STORE_CTX>::operator()(X509_STORE_CTX* p) const noexcept {
  X509_STORE_CTX_free(p);
}
// BN_clear_free: BIGNUMs may hold private key material.
template <>
void Deleter<BIGNUM>::operator()(BIGNUM* p) const noexcept {
  BN_clear_free(p);
}
template <>
void Deleter<ECDSA_SIG>::operator()(ECDSA_SIG* p) const noexcept {
  ECDSA_SIG_free(p);
}
template <>
void Deleter<X509_EXTENSION>::operator()(X509_EXTENSION* p) const noexcept {
  X509_EXTENSION_free(p);
}
template <>
void Deleter<ASN1_OBJECT>::operator()(ASN1_OBJECT* p) const noexcept {
  ASN1_OBJECT_free(p);
}
template <>
void Deleter<GENERAL_NAMES>::operator()(GENERAL_NAMES* p) const noexcept {
  GENERAL_NAMES_free(p);
}
template <>
void Deleter<X509_NAME>::operator()(X509_NAME* p) const noexcept {
  X509_NAME_free(p);
}
template <>
void Deleter<OSSL_PARAM_BLD>::operator()(OSSL_PARAM_BLD* p) const noexcept {
  OSSL_PARAM_BLD_free(p);
}
template <>
void Deleter<ASN1_STRING>::operator()(ASN1_STRING* p) const noexcept {
  ASN1_STRING_free(p);
}
template <>
void Deleter<EVP_MAC>::operator()(EVP_MAC* p) const noexcept {
  EVP_MAC_free(p);
}
template <>
void Deleter<EVP_MAC_CTX>::operator()(EVP_MAC_CTX* p) const noexcept {
  EVP_MAC_CTX_free(p);
}
template <>
void Deleter<unsigned char>::operator()(unsigned char* p) const noexcept {
  OPENSSL_free(p);
}

std::string last_error() {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

}  // namespace attestlab::ossl

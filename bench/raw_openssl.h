// The raw OpenSSL primitives that the micro-benchmarks set beside attestlab's own code:
// one signature verify or sign, a CSR self-signature check, an HMAC. Each works on a key
// decoded and a digest fetched once, outside the timed loop, so it measures what no
// implementation can avoid paying (the crypto floor); the difference to the attestlab
// benchmark beside it is the overhead of parsing, conversions and per-call setup.
//
// Benchmark support only (bench/ is outside the layering). Thread-safe on distinct objects.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "core/bytes.h"
#include "core/ossl.h"
#include "core/pki.h"

namespace attestlab::bench {

// A digest fetched once from the default provider (OpenSSL 3 otherwise fetches per call).
class FetchedDigest {
 public:
  explicit FetchedDigest(const char* name) : md_(EVP_MD_fetch(nullptr, name, nullptr)) {}
  const EVP_MD* get() const { return md_.get(); }
  bool valid() const { return md_ != nullptr; }

 private:
  struct Free {
    void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
  };
  std::unique_ptr<EVP_MD, Free> md_;
};

// The digest a key of this spec signs with in ACME and X.509 here: SHA-384 for P-384,
// SHA-256 otherwise.
inline const char* digest_name_for(const pki::KeySpec& spec) {
  return spec.kind == pki::KeyKind::EC && spec.bits == 384 ? "SHA384" : "SHA256";
}

// EVP_DigestVerifyInit + EVP_DigestVerify of a DER signature: true when it verifies.
inline bool raw_digest_verify(EVP_PKEY* key, const EVP_MD* md, const Bytes& data,
                              const Bytes& der_signature) {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), der_signature.data(), der_signature.size(), data.data(),
                          data.size()) == 1;
}

// EVP_DigestSignInit + EVP_DigestSign: the DER signature, empty on failure.
inline Bytes raw_digest_sign(EVP_PKEY* key, const EVP_MD* md, const Bytes& data) {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, data.data(), data.size()) != 1) {
    return {};
  }
  Bytes signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, data.data(), data.size()) != 1)
    return {};
  signature.resize(length);
  return signature;
}

// A certificate's or a CSR's signed part (the TBSCertificate or CertificationRequestInfo DER)
// and its signature value, so that a raw verify can check exactly what X509_verify or
// X509_REQ_verify would.
struct SignedPart {
  Bytes tbs;
  Bytes signature;
};
// From what i2d_re_X509_tbs / i2d_re_X509_REQ_tbs wrote (length, tbs; freed here) and the
// object's signature.
inline SignedPart signed_part(int length, unsigned char* tbs, const ASN1_BIT_STRING* signature) {
  SignedPart part;
  if (length > 0) part.tbs.assign(tbs, tbs + length);
  OPENSSL_free(tbs);
  if (signature != nullptr) {
    const unsigned char* bytes = ASN1_STRING_get0_data(signature);
    part.signature.assign(bytes, bytes + ASN1_STRING_length(signature));
  }
  return part;
}
inline SignedPart signed_part_of(const pki::Certificate& certificate) {
  unsigned char* tbs = nullptr;
  const int length = i2d_re_X509_tbs(certificate.get(), &tbs);
  const ASN1_BIT_STRING* signature = nullptr;
  X509_get0_signature(&signature, nullptr, certificate.get());
  return signed_part(length, tbs, signature);
}
inline SignedPart signed_part_of(const pki::Csr& csr) {
  unsigned char* info = nullptr;
  const int length = i2d_re_X509_REQ_tbs(csr.get(), &info);
  const ASN1_BIT_STRING* signature = nullptr;
  X509_REQ_get0_signature(csr.get(), &signature, nullptr);
  return signed_part(length, info, signature);
}
// X509_REQ_verify with the CSR's own key: true when the self-signature verifies.
inline bool raw_csr_verify(X509_REQ* request, EVP_PKEY* key) {
  return X509_REQ_verify_ex(request, key, nullptr, nullptr) == 1;
}

// d2i_X509_REQ / d2i_X509: OpenSSL's own DER decoding, which decodes the public key
// eagerly (through the provider decoders in OpenSSL 3). True when it decodes.
inline bool raw_csr_decodes(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::ReqPtr request(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  return request != nullptr && X509_REQ_get0_pubkey(request.get()) != nullptr;
}

inline bool raw_certificate_decodes(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  return certificate != nullptr && X509_get0_pubkey(certificate.get()) != nullptr;
}

// One-shot HMAC-SHA256 (what a self-authenticating nonce costs to mint or check).
inline Bytes raw_hmac_sha256(const Bytes& key, const Bytes& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), mac,
           &length) == nullptr) {
    return {};
  }
  return Bytes(mac, mac + length);
}

// The label that names a benchmark's raw-primitive twin for bench/run_micro.sh.
inline std::string twin_label(const std::string& twin_name) {
  return "twin=" + twin_name;
}

}  // namespace attestlab::bench

// Signatures: PublicKey::verify, PrivateKey::sign, and the OpenSSL contexts kept for them.
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <mutex>

#include "core/pki_internal.h"

namespace attestlab::pki {
namespace {

using detail::internal;

// The message digest for a signature with this key, or an error for combinations that
// make no sense (a digest-less ECDSA/RSA signature, PSS with a non-RSA key). Ed25519 is
// always pure EdDSA, whatever the caller asked for.
Result<const EVP_MD*> digest_for(EVP_PKEY* key, Digest digest, bool pss) {
  if (detail::is_ed25519(key)) {
    if (pss) return Error::make("malformed", "PSS with an Ed25519 key");
    return static_cast<const EVP_MD*>(nullptr);
  }
  if (pss && !detail::is_rsa(key)) return Error::make("malformed", "PSS with a non-RSA key");
  if (digest == Digest::None)
    return Error::make("malformed", "a digest is required for ECDSA and RSA signatures");
  return detail::evp_digest(digest);
}

Result<void> configure_pss(EVP_PKEY_CTX* pctx) {
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
    return internal("configuring RSA-PSS");
  return ok();
}

// OpenSSL wants a valid pointer even for an empty message.
const unsigned char* data_ptr(const Bytes& b) {
  static const unsigned char kEmpty = 0;
  return b.empty() ? &kEmpty : b.data();
}

// ECDSA signs and verifies a digest: this one, into out (EVP_MAX_MD_SIZE bytes). On failure
// OpenSSL's reason stays queued for the caller (to report, or to drop).
bool digest_of(const Bytes& data, const EVP_MD* md, unsigned char* out, unsigned int* len) {
  return EVP_Digest(data_ptr(data), data.size(), out, len, md, nullptr) == 1;
}

}  // namespace

namespace detail {

EVP_PKEY_CTX* KeptContexts::take(EVP_PKEY* key, int (*init)(EVP_PKEY_CTX*)) {
  {
    std::lock_guard lock(mutex_);
    if (count_ > 0) return kept_[--count_];
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  if (ctx != nullptr && init(ctx) == 1) return ctx;
  EVP_PKEY_CTX_free(ctx);
  return nullptr;
}

void KeptContexts::give(EVP_PKEY_CTX* ctx) {
  {
    std::lock_guard lock(mutex_);
    if (count_ < kKept) {
      kept_[count_++] = ctx;
      return;
    }
  }
  EVP_PKEY_CTX_free(ctx);
}

void KeptContexts::clear() {
  std::lock_guard lock(mutex_);
  while (count_ > 0) EVP_PKEY_CTX_free(kept_[--count_]);
}

}  // namespace detail

bool PublicKey::verify(const Bytes& data, const Bytes& signature, Digest digest, bool pss) const {
  if (!key_) return false;
  if (!pss && digest != Digest::None && spec() == KeySpec::p384()) {
    if (auto nettle = detail::p384_ecdsa_verify(key_.get(), data, signature, digest))
      return *nettle;
  }
  auto md = digest_for(key_.get(), digest, pss);
  if (!md.ok()) return false;
  if (!pss && *md != nullptr && spec().kind == KeyKind::EC) {
    // ECDSA signs the digest alone: the digest is made here and checked with a context kept
    // on the key (what EVP_DigestVerify does, without making a context per call).
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hash_len = 0;
    if (!digest_of(data, *md, hash, &hash_len)) {
      ossl::last_error();
      return false;
    }
    EVP_PKEY_CTX* ctx = verify_contexts_.take(key_.get(), EVP_PKEY_verify_init);
    if (ctx == nullptr) {
      ossl::last_error();
      return false;
    }
    const bool good =
        EVP_PKEY_verify(ctx, data_ptr(signature), signature.size(), hash, hash_len) == 1;
    ossl::last_error();  // a failed verification leaves entries in the queue
    verify_contexts_.give(ctx);
    return good;
  }
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, *md, nullptr, key_.get()) != 1) {
    ossl::last_error();
    return false;
  }
  if (pss && !configure_pss(pctx).ok()) return false;
  const bool good = EVP_DigestVerify(ctx.get(), data_ptr(signature), signature.size(),
                                     data_ptr(data), data.size()) == 1;
  ossl::last_error();  // a failed verification leaves entries in the queue
  return good;
}

Result<Bytes> PrivateKey::sign(const Bytes& data, Digest digest, bool pss) const {
  if (!key_) return Error::make("serverInternal", "signing with an empty key");
  auto md = digest_for(key_.get(), digest, pss);
  if (!md.ok()) return md.error();
  if (!pss && *md != nullptr && spec_.kind == KeyKind::EC) {
    // As PublicKey::verify: the digest made here, signed with a context kept on the key.
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hash_len = 0;
    if (!digest_of(data, *md, hash, &hash_len)) return internal("hashing for a signature");
    EVP_PKEY_CTX* ctx = sign_contexts_.take(key_.get(), EVP_PKEY_sign_init);
    if (ctx == nullptr) return internal("initialising signature");
    // A DER ECDSA signature takes at most 139 bytes (P-521); nothing here allocates or
    // throws while the context is out of the pool.
    unsigned char sig[256];
    std::size_t len = sizeof sig;
    const bool signed_ = EVP_PKEY_sign(ctx, sig, &len, hash, hash_len) == 1;
    sign_contexts_.give(ctx);
    if (!signed_) return internal("signing");
    return Bytes(sig, sig + len);
  }
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, *md, nullptr, key_.get()) != 1)
    return internal("initialising signature");
  if (pss) ATTESTLAB_TRY(configure_pss(pctx));
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data_ptr(data), data.size()) != 1)
    return internal("sizing signature");
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data_ptr(data), data.size()) != 1)
    return internal("signing");
  sig.resize(len);
  return sig;
}

}  // namespace attestlab::pki

// Differential: the server's P-384 ECDSA verify through Nettle (core/pki_p384.cpp) against
// OpenSSL's EVP_DigestVerify, for one fixed key, on hostile signatures and messages. Any
// disagreement traps. Input: a digest selector byte (mod 3: SHA-256, SHA-384, SHA-512), a
// signature length byte, that many signature bytes (DER, as certificates and CSRs carry it),
// then the message. The seeds (fixtures/fuzz/p384_verify/) are genuine signatures by the key
// below over a few messages, made with `openssl dgst -sign`; the private half is not kept.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>

#include "core/pki.h"
#include "core/pki_internal.h"

using namespace attestlab;

namespace {

constexpr const char* kPublicKey =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEJr4/iRG3VwM1mbCz95lOycEAVAwkcsE8\n"
    "hZifzjKqwaMDy7eCmGns5WbHY1Apk25Ne+0cXjo1OISHlBjaa/KJKeNKFf4jaLTl\n"
    "8MYwJzqCMB83XeIhzhIzSWUhIBEImoIw\n"
    "-----END PUBLIC KEY-----\n";

bool openssl_verdict(EVP_PKEY* key, pki::Digest digest, const Bytes& data, const Bytes& sig) {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  static const unsigned char kEmpty = 0;
  const bool good = EVP_DigestVerifyInit(ctx.get(), nullptr, pki::detail::evp_digest(digest),
                                         nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx.get(), sig.empty() ? &kEmpty : sig.data(), sig.size(),
                                     data.empty() ? &kEmpty : data.data(), data.size()) == 1;
  ossl::last_error();
  return good;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pki::PublicKey key = pki::PublicKey::from_pem(kPublicKey).value();
  if (size < 2) return 0;
  constexpr pki::Digest kDigests[] = {pki::Digest::SHA256, pki::Digest::SHA384,
                                      pki::Digest::SHA512};
  const pki::Digest digest = kDigests[data[0] % 3];
  const std::size_t sig_size = data[1];
  if (size < 2 + sig_size) return 0;
  const Bytes signature(data + 2, data + 2 + sig_size);
  const Bytes message(data + 2 + sig_size, data + size);
  const auto nettle = pki::detail::p384_ecdsa_verify(key.get(), message, signature, digest);
  if (!nettle) __builtin_trap();  // a named P-384 key: Nettle always decides
  if (*nettle != openssl_verdict(key.get(), digest, message, signature)) __builtin_trap();
  return 0;
}

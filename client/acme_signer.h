// Who signs an ACME JWS. Every JWS the simulator sends goes through JwsSigner, so a
// sign-only keystore (the simulated Secure Enclave holding a device's certificate key)
// can sign exactly like an in-memory account key.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"

namespace attestlab::client {

// A signing key as JWS needs it. Implementations must be safe to call from the thread
// that owns the AcmeClient; PrivateKeySigner is safe from any thread.
class JwsSigner {
 public:
  virtual ~JwsSigner() = default;
  // The public JWK (RFC 7517) of the key: what goes into a "jwk" header.
  virtual Json jwk() const = 0;
  // The JWS "alg" this signer produces (ES256, ES384, ES512, RS256, PS256, EdDSA).
  virtual std::string alg() const = 0;
  // Signs `input` (the JWS signing input, not a digest; the signer hashes it as alg()
  // says). ECDSA signatures come back DER encoded (X9.62), as OpenSSL and Apple's
  // SecKeyCreateSignature produce them; RSA and Ed25519 signatures as they are.
  // sign_jws converts ECDSA DER to JOSE's r||s.
  virtual Result<Bytes> sign(const Bytes& input) const = 0;
  // The RFC 7638 thumbprint of jwk() (key authorizations, RFC 8555 §8.1): by default
  // jwk_thumbprint(jwk()), with its errors.
  virtual Result<std::string> thumbprint() const;
};

// A JwsSigner over an in-memory pki::PrivateKey. Immutable after construction.
class PrivateKeySigner final : public JwsSigner {
 public:
  // alg empty = the key's natural alg (ES256/ES384/ES512 by curve, RS256, EdDSA).
  // A forced alg the key cannot produce (e.g. "ES384" on a P-256 key, "none") makes
  // sign() fail, except the digest-only mismatches that OpenSSL can still sign (which is
  // how a conformance case sends a signature that does not fit its header).
  explicit PrivateKeySigner(pki::PrivateKey key, std::string alg = "");

  Json jwk() const override { return jwk_; }
  std::string alg() const override { return alg_; }
  Result<Bytes> sign(const Bytes& input) const override;
  // A named-curve EC key's is computed once, from the JWK it was built with.
  Result<std::string> thumbprint() const override;

  const pki::PrivateKey& key() const { return key_; }

 private:
  pki::PrivateKey key_;
  std::string alg_;
  Json jwk_;
  std::string thumbprint_;  // set for named-curve EC keys
};

std::shared_ptr<const JwsSigner> make_signer(pki::PrivateKey key, std::string alg = "");

// RFC 7638 thumbprint (base64url SHA-256) of a public JWK; Error("badPublicKey") for a
// JWK that jose::Jwk::parse refuses.
Result<std::string> jwk_thumbprint(const Json& jwk);

// The pieces of a flattened JWS (RFC 7515 §7.2.2) before and after signing.
struct JwsParts {
  std::string protected_b64;
  std::string payload_b64;
  std::string signature_b64;
  Json to_json() const {
    return Json{
        {"protected", protected_b64}, {"payload", payload_b64}, {"signature", signature_b64}};
  }
};

// Signs header (sent as is: the caller sets alg, nonce, url, jwk/kid) over the payload
// bytes ("" = POST-as-GET) with signer. Fails only when signer.sign fails or an ECDSA
// signature cannot be converted.
Result<JwsParts> sign_jws(const Json& header, const std::string& payload, const JwsSigner& signer);

}  // namespace attestlab::client

#include "client/acme_signer.h"

#include "core/jose.h"

namespace attestlab::client {
namespace {

struct AlgParams {
  pki::Digest digest = pki::Digest::SHA256;
  bool pss = false;
  std::size_t ecdsa_coord_len = 0;  // 0 = not ECDSA
};

std::optional<AlgParams> alg_params(const std::string& alg) {
  using pki::Digest;
  if (alg == "ES256") return AlgParams{Digest::SHA256, false, 32};
  if (alg == "ES384") return AlgParams{Digest::SHA384, false, 48};
  if (alg == "ES512") return AlgParams{Digest::SHA512, false, 66};
  if (alg == "RS256") return AlgParams{Digest::SHA256, false, 0};
  if (alg == "RS384") return AlgParams{Digest::SHA384, false, 0};
  if (alg == "RS512") return AlgParams{Digest::SHA512, false, 0};
  if (alg == "PS256") return AlgParams{Digest::SHA256, true, 0};
  if (alg == "PS384") return AlgParams{Digest::SHA384, true, 0};
  if (alg == "PS512") return AlgParams{Digest::SHA512, true, 0};
  if (alg == "EdDSA") return AlgParams{Digest::None, false, 0};
  return std::nullopt;
}

}  // namespace

Result<std::string> JwsSigner::thumbprint() const {
  return jwk_thumbprint(jwk());
}

PrivateKeySigner::PrivateKeySigner(pki::PrivateKey key, std::string alg)
    : key_(std::move(key)), alg_(std::move(alg)) {
  // Every account key a client makes: its JWK and thumbprint straight from the key's point.
  if (auto named = jose::named_ec_jwk(key_)) {
    jwk_ = std::move(named->jwk);
    if (alg_.empty()) alg_ = std::move(named->alg);
    thumbprint_ = std::move(named->thumbprint);
    return;
  }
  const jose::Jwk jwk(key_.public_key());
  if (alg_.empty()) alg_ = jwk.default_alg();
  jwk_ = jwk.to_json();
}

Result<Bytes> PrivateKeySigner::sign(const Bytes& input) const {
  const auto params = alg_params(alg_);
  if (!params) {
    return Error::make("badSignatureAlgorithm", "cannot sign with alg \"" + alg_ + "\"");
  }
  return key_.sign(input, params->digest, params->pss);
}

Result<std::string> PrivateKeySigner::thumbprint() const {
  if (!thumbprint_.empty()) return thumbprint_;
  return JwsSigner::thumbprint();
}

std::shared_ptr<const JwsSigner> make_signer(pki::PrivateKey key, std::string alg) {
  return std::make_shared<PrivateKeySigner>(std::move(key), std::move(alg));
}

Result<std::string> jwk_thumbprint(const Json& jwk) {
  auto parsed = jose::Jwk::parse(jwk);
  if (!parsed.ok()) return parsed.error();
  return parsed->thumbprint();
}

Result<JwsParts> sign_jws(const Json& header, const std::string& payload, const JwsSigner& signer) {
  JwsParts parts;
  parts.protected_b64 = base64url_encode(header.dump());
  parts.payload_b64 = base64url_encode(payload);
  auto signature = signer.sign(to_bytes(parts.protected_b64 + "." + parts.payload_b64));
  if (!signature.ok()) return signature.error();
  const auto params = alg_params(signer.alg());
  if (params && params->ecdsa_coord_len != 0) {
    auto raw = pki::ecdsa_der_to_raw(*signature, params->ecdsa_coord_len);
    if (raw.ok()) {
      signature = std::move(raw.value());
    } else if (signature->size() != 2 * params->ecdsa_coord_len) {
      // A signer that already returns r||s is tolerated; anything else is a bug there.
      return raw.error();
    }
  }
  parts.signature_b64 = base64url_encode(*signature);
  return parts;
}

}  // namespace attestlab::client

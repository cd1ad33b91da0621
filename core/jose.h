// JOSE as ACME uses it: flattened JWS JSON serialization (RFC 7515 §7.2.2), JWK
// (RFC 7517/7518, Ed25519 per RFC 8037) and the RFC 7638 thumbprint.
// Accepted signature algorithms: ES256, ES384, ES512, RS256, PS256, EdDSA (Ed25519).
// "none" and every MAC algorithm are refused for signatures ("badSignatureAlgorithm");
// HS256 exists only for the external account binding MAC (RFC 8555 §7.3.4).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"

namespace attestlab::jose {

// A public JSON Web Key.
class Jwk {
 public:
  Jwk() = default;
  explicit Jwk(pki::PublicKey key);

  // Parses a public JWK. Refuses private members ("d", ...), unknown kty/crv, RSA keys
  // under 2048 bits, EC points off the curve: Error("badPublicKey") with a detail.
  static Result<Jwk> parse(const Json& jwk);

  // Required members only, in lexicographic order (what the thumbprint hashes).
  Json to_json() const;
  // RFC 7638: base64url(SHA-256(canonical JSON of the required members)).
  std::string thumbprint() const;
  const pki::PublicKey& key() const { return key_; }
  // The JWS alg naturally used with this key (ES256/ES384/ES512/RS256/EdDSA).
  std::string default_alg() const;

 private:
  pki::PublicKey key_;
};

// The public JWK of a P-256, P-384 or P-521 private key, read off its public point: what
// Jwk(key.public_key()).to_json() gives, without building the public key (a copy of the
// curve's group) and reading its coordinates back (~27 us on OpenSSL 3.0, per account key a
// client makes), with its JWS alg (ES256/ES384/ES512) and RFC 7638 thumbprint. nullopt for
// any other key.
struct NamedEcJwk {
  Json jwk;
  std::string alg;
  std::string thumbprint;
};
std::optional<NamedEcJwk> named_ec_jwk(const pki::PrivateKey& key);

// A parsed (not yet verified) flattened JWS.
struct Jws {
  std::string protected_b64;  // as received
  std::string payload_b64;    // as received ("" for POST-as-GET)
  std::string signature_b64;
  Json header;                // decoded protected header
  Bytes payload;              // decoded payload
  Bytes signature;

  std::string alg() const;
  std::optional<std::string> kid() const;
  std::optional<Json> jwk() const;
  std::optional<std::string> nonce() const;
  std::optional<std::string> url() const;
  // Payload parsed as JSON; an empty payload (POST-as-GET) yields nullopt.
  Result<std::optional<Json>> payload_json() const;
  std::string signing_input() const { return protected_b64 + "." + payload_b64; }
};

// Parses a flattened JWS JSON object. Refuses: non-object input, the general
// serialization ("signatures"), an unprotected "header" member, missing members, bad
// base64url, a protected header that isn't a JSON object ("malformed").
Result<Jws> parse_flattened(std::string_view body);
Result<Jws> parse_flattened(const Json& body);
// std::string and const char* convert implicitly to both std::string_view and Json; these
// overloads pick the text form so such calls are not ambiguous.
inline Result<Jws> parse_flattened(const std::string& body) {
  return parse_flattened(std::string_view(body));
}
inline Result<Jws> parse_flattened(const char* body) {
  return parse_flattened(std::string_view(body));
}

// Checks that alg is a supported signature algorithm matching the key type and size
// (ES256 ↔ P-256, ES384 ↔ P-384, ES512 ↔ P-521, RS256/PS256 ↔ RSA, EdDSA ↔ Ed25519).
// "none", HS* and anything unknown: Error("badSignatureAlgorithm").
Result<void> check_alg(const std::string& alg, const pki::PublicKey& key);

// Verifies jws.signature over jws.signing_input() with key, after check_alg.
// Error("badSignatureAlgorithm") for alg problems, Error("malformed",
// "JWS signature is invalid") otherwise.
Result<void> verify(const Jws& jws, const pki::PublicKey& key);

// Produces a flattened JWS. `header` gets "alg" added (alg empty = key's default).
// payload == nullopt produces an empty payload (POST-as-GET).
Result<Json> sign(const Json& header, const std::optional<Json>& payload,
                  const pki::PrivateKey& key, std::string alg = "");
// Same with a raw payload string (already serialized).
Result<Json> sign_raw(const Json& header, const std::string& payload,
                      const pki::PrivateKey& key, std::string alg = "");

// HS256 for external account binding.
Json sign_hs256(const Json& header, const std::string& payload, const Bytes& mac_key);
bool verify_hs256(const Jws& jws, const Bytes& mac_key);

// Key authorization = token "." thumbprint (RFC 8555 §8.1).
std::string key_authorization(const std::string& token, const Jwk& account_key);

}  // namespace attestlab::jose

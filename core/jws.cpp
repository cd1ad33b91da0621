// JWS half of core/jose.h: the flattened JSON serialization (RFC 7515 §7.2.2), the
// signature algorithms ACME accepts (RFC 7518 §3, RFC 8037 §3.1) and the HS256 MAC of
// external account binding (RFC 8555 §7.3.4).
#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "core/jose.h"
#include "core/jose_detail.h"
#include "core/json_unique.h"

namespace attestlab::jose {
namespace {

struct SignatureAlg {
  std::string_view name;
  pki::KeyKind kind;
  int ec_bits;  // EC only: the curve the alg is bound to
  pki::Digest digest;
  bool pss;
  std::size_t coord_len;  // EC only: length of r and of s in the JWS signature
};

constexpr std::array<SignatureAlg, 6> kSignatureAlgs = {{
    {"ES256", pki::KeyKind::EC, 256, pki::Digest::SHA256, false, 32},
    {"ES384", pki::KeyKind::EC, 384, pki::Digest::SHA384, false, 48},
    {"ES512", pki::KeyKind::EC, 521, pki::Digest::SHA512, false, 66},
    {"RS256", pki::KeyKind::RSA, 0, pki::Digest::SHA256, false, 0},
    {"PS256", pki::KeyKind::RSA, 0, pki::Digest::SHA256, true, 0},
    {"EdDSA", pki::KeyKind::Ed25519, 0, pki::Digest::None, false, 0},
}};

const SignatureAlg* find_alg(const std::string& name) {
  for (const auto& alg : kSignatureAlgs) {
    if (alg.name == name) return &alg;
  }
  return nullptr;
}

Error malformed(std::string detail) { return Error::make("malformed", std::move(detail)); }
Error bad_alg(std::string detail) {
  return Error::make("badSignatureAlgorithm", std::move(detail));
}

// Checks alg against the key and returns its table entry.
Result<const SignatureAlg*> resolve_alg(const std::string& alg, const pki::PublicKey& key) {
  if (alg == "none") return bad_alg("JWS alg \"none\" is not accepted");
  if (alg.starts_with("HS")) {
    return bad_alg("JWS alg " + detail::quoted(alg) + " is a MAC, not a signature algorithm");
  }
  const SignatureAlg* entry = find_alg(alg);
  if (entry == nullptr) {
    return bad_alg("JWS alg " + detail::quoted(alg) +
                   " is not supported; accepted: ES256, ES384, ES512, RS256, PS256, EdDSA");
  }
  if (!key.valid()) return Error::make("badPublicKey", "no public key to check JWS alg against");
  const pki::KeySpec spec = key.spec();
  const bool fits = spec.kind == entry->kind &&
                    (entry->kind != pki::KeyKind::EC || spec.bits == entry->ec_bits);
  if (!fits) {
    return bad_alg("JWS alg " + detail::quoted(alg) + " does not match the " + spec.name() +
                   " key");
  }
  return entry;
}

// Json::dump throws on strings that are not UTF-8; headers built by callers may hold any
// bytes, so serialization is fallible here.
Result<std::string> dump_json(const Json& value) {
  try {
    return value.dump();
  } catch (const Json::exception&) {
    return malformed("JWS member is not valid UTF-8 JSON");
  }
}

// The header parameters whose type the accessors rely on.
Result<void> check_header_types(const Json& header) {
  if (get_string(header, "alg") == nullptr) {
    return malformed("JWS protected header \"alg\" is missing or not a string");
  }
  for (const char* name : {"kid", "nonce", "url"}) {
    if (header.contains(name) && get_string(header, name) == nullptr) {
      return malformed(std::string("JWS protected header \"") + name + "\" is not a string");
    }
  }
  if (header.contains("jwk") && !header["jwk"].is_object()) {
    return malformed("JWS protected header \"jwk\" is not a JSON object");
  }
  // RFC 7515 §4.1.11: extensions listed in "crit" must be understood; attestlab
  // understands none (this also refuses RFC 7797 unencoded payloads).
  if (header.contains("crit")) {
    return malformed("JWS protected header \"crit\" names extensions attestlab does not support");
  }
  return ok();
}

Bytes input_bytes(const std::string& protected_b64, const std::string& payload_b64) {
  return to_bytes(protected_b64 + "." + payload_b64);
}

}  // namespace

std::string Jws::alg() const {
  const std::string* value = get_string(header, "alg");
  return value == nullptr ? "" : *value;
}

std::optional<std::string> Jws::kid() const {
  const std::string* value = get_string(header, "kid");
  if (value == nullptr) return std::nullopt;
  return *value;
}

std::optional<Json> Jws::jwk() const {
  if (!header.is_object()) return std::nullopt;
  auto it = header.find("jwk");
  if (it == header.end()) return std::nullopt;
  return *it;
}

std::optional<std::string> Jws::nonce() const {
  const std::string* value = get_string(header, "nonce");
  if (value == nullptr) return std::nullopt;
  return *value;
}

std::optional<std::string> Jws::url() const {
  const std::string* value = get_string(header, "url");
  if (value == nullptr) return std::nullopt;
  return *value;
}

Result<std::optional<Json>> Jws::payload_json() const {
  if (payload.empty()) return std::optional<Json>();
  auto parsed = parse_json_unique(to_string(payload));
  if (!parsed) return malformed("JWS payload is not valid JSON: " + parsed.error().detail);
  return std::optional<Json>(std::move(parsed).value());
}

namespace {

// The three members of a flattened JWS, as their JSON string values.
struct FlatMembers {
  std::string_view protected_b64, payload_b64, signature_b64;
};

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// The flattened JWS as ACME clients send it: one JSON object of exactly the members
// "protected", "payload" and "signature", in any order, each a string of base64url
// characters, JSON whitespace between tokens. Read without building a JSON tree (for a
// finalize's body that tree cost more than the rest of parsing). Any other text, however
// valid (escapes, other members, a repeated member), is nullopt and goes to the JSON parser,
// which reads these texts to the same three strings.
std::optional<FlatMembers> scan_plain_flattened(std::string_view text) {
  std::size_t i = 0;
  auto skip_whitespace = [&] {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
      ++i;
  };
  auto take = [&](char c) {
    if (i >= text.size() || text[i] != c) return false;
    ++i;
    return true;
  };
  auto plain_string = [&]() -> std::optional<std::string_view> {
    if (!take('"')) return std::nullopt;
    const std::size_t start = i;
    while (i < text.size() && is_base64url_char(text[i])) ++i;
    if (!take('"')) return std::nullopt;
    return text.substr(start, i - 1 - start);
  };
  FlatMembers members;
  bool seen[3] = {false, false, false};
  skip_whitespace();
  if (!take('{')) return std::nullopt;
  for (int n = 0; n < 3; ++n) {
    if (n > 0 && !take(',')) return std::nullopt;
    skip_whitespace();
    auto key = plain_string();
    if (!key) return std::nullopt;
    skip_whitespace();
    if (!take(':')) return std::nullopt;
    skip_whitespace();
    auto value = plain_string();
    if (!value) return std::nullopt;
    skip_whitespace();
    std::string_view* slot = nullptr;
    int index = 0;
    if (*key == "protected") {
      slot = &members.protected_b64;
    } else if (*key == "payload") {
      slot = &members.payload_b64, index = 1;
    } else if (*key == "signature") {
      slot = &members.signature_b64, index = 2;
    } else {
      return std::nullopt;
    }
    if (seen[index]) return std::nullopt;
    seen[index] = true;
    *slot = *value;
  }
  if (!take('}')) return std::nullopt;
  skip_whitespace();
  if (i != text.size()) return std::nullopt;
  return members;
}

Result<Bytes> decode_text(std::string_view text, const char* name) {
  auto bytes = base64url_decode(text);
  if (!bytes) return malformed(std::string("JWS member \"") + name + "\" is not valid base64url");
  return std::move(bytes).value();
}

// The rest of the checks, once the three members are strings, in the order parse_flattened
// has always made them (so both readings give the same error for the same text).
Result<Jws> from_members(const FlatMembers& members) {
  auto protected_bytes = decode_text(members.protected_b64, "protected");
  if (!protected_bytes) return protected_bytes.error();
  auto payload = decode_text(members.payload_b64, "payload");
  if (!payload) return payload.error();
  auto signature = decode_text(members.signature_b64, "signature");
  if (!signature) return signature.error();
  if (signature->empty()) return malformed("JWS signature is empty");

  auto header = parse_json_unique(to_string(*protected_bytes));
  if (!header) return malformed("JWS protected header: " + header.error().detail);
  if (!header->is_object()) {
    return malformed("JWS protected header is not a JSON object");
  }
  ATTESTLAB_TRY(check_header_types(*header));

  Jws jws;
  jws.protected_b64 = std::string(members.protected_b64);
  jws.payload_b64 = std::string(members.payload_b64);
  jws.signature_b64 = std::string(members.signature_b64);
  jws.header = std::move(header).value();
  jws.payload = std::move(payload).value();
  jws.signature = std::move(signature).value();
  return jws;
}

}  // namespace

Result<Jws> parse_flattened(std::string_view body) {
  if (auto plain = scan_plain_flattened(body)) return from_members(*plain);
  auto parsed = parse_json_unique(body);
  if (!parsed) return malformed("request body is not valid JSON: " + parsed.error().detail);
  return parse_flattened(*parsed);
}

Result<Jws> parse_flattened(const Json& body) {
  if (!body.is_object()) return malformed("JWS is not a JSON object");
  if (body.contains("signatures")) {
    return malformed("the general JWS JSON serialization is not accepted; use the flattened form");
  }
  if (body.contains("header")) return malformed("unprotected JWS header members are not accepted");
  // Each member present and a string before it is decoded, member by member, as always.
  FlatMembers members;
  for (auto [name, slot] :
       {std::pair{"protected", &members.protected_b64}, std::pair{"payload", &members.payload_b64},
        std::pair{"signature", &members.signature_b64}}) {
    const std::string* text = get_string(body, name);
    if (text == nullptr) {
      return malformed(std::string("JWS member \"") + name + "\" is missing or not a string");
    }
    *slot = *text;
  }
  return from_members(members);
}

Result<void> check_alg(const std::string& alg, const pki::PublicKey& key) {
  auto entry = resolve_alg(alg, key);
  if (!entry) return entry.error();
  return ok();
}

Result<void> verify(const Jws& jws, const pki::PublicKey& key) {
  auto resolved = resolve_alg(jws.alg(), key);
  if (!resolved) return resolved.error();
  const SignatureAlg& alg = **resolved;
  const Error invalid = malformed("JWS signature is invalid");
  const Bytes data = input_bytes(jws.protected_b64, jws.payload_b64);

  switch (alg.kind) {
    case pki::KeyKind::EC: {
      // RFC 7518 §3.4: exactly r || s, each the curve's byte length; DER is refused.
      if (jws.signature.size() != 2 * alg.coord_len) return invalid;
      auto der = pki::ecdsa_raw_to_der(jws.signature);
      if (!der || !key.verify(data, *der, alg.digest)) return invalid;
      return ok();
    }
    case pki::KeyKind::RSA: {
      // RFC 8017 §8.2.2: the signature is exactly as long as the modulus.
      auto ne = key.rsa_ne();
      if (!ne || jws.signature.size() != ne->first.size()) return invalid;
      if (!key.verify(data, jws.signature, alg.digest, alg.pss)) return invalid;
      return ok();
    }
    case pki::KeyKind::Ed25519:
      if (jws.signature.size() != 64) return invalid;
      if (!key.verify(data, jws.signature, pki::Digest::None)) return invalid;
      return ok();
  }
  return invalid;
}

Result<Json> sign(const Json& header, const std::optional<Json>& payload,
                  const pki::PrivateKey& key, std::string alg) {
  if (!payload) return sign_raw(header, "", key, std::move(alg));
  auto text = dump_json(*payload);
  if (!text) return text.error();
  return sign_raw(header, *text, key, std::move(alg));
}

Result<Json> sign_raw(const Json& header, const std::string& payload, const pki::PrivateKey& key,
                      std::string alg) {
  if (!header.is_object()) return malformed("JWS header must be a JSON object");
  if (!key.valid()) return Error::make("serverInternal", "no private key to sign the JWS with");
  const pki::PublicKey public_key = key.public_key();
  if (alg.empty()) alg = Jwk(public_key).default_alg();
  auto resolved = resolve_alg(alg, public_key);
  if (!resolved) return resolved.error();
  const SignatureAlg& entry = **resolved;

  Json full_header = header;
  full_header["alg"] = alg;
  auto header_text = dump_json(full_header);
  if (!header_text) return header_text.error();
  const std::string protected_b64 = base64url_encode(*header_text);
  const std::string payload_b64 = base64url_encode(payload);

  auto signature = key.sign(input_bytes(protected_b64, payload_b64), entry.digest, entry.pss);
  if (!signature) return signature.error();
  Bytes jws_signature = std::move(signature).value();
  if (entry.kind == pki::KeyKind::EC) {
    auto raw = pki::ecdsa_der_to_raw(jws_signature, entry.coord_len);
    if (!raw) return raw.error();
    jws_signature = std::move(raw).value();
  }
  return Json{{"protected", protected_b64},
              {"payload", payload_b64},
              {"signature", base64url_encode(jws_signature)}};
}

Json sign_hs256(const Json& header, const std::string& payload, const Bytes& mac_key) {
  Json full_header = header.is_object() ? header : Json::object();
  full_header["alg"] = "HS256";
  // Replacing invalid UTF-8 keeps this total; EAB headers are built by attestlab itself.
  const std::string protected_b64 =
      base64url_encode(full_header.dump(-1, ' ', false, Json::error_handler_t::replace));
  const std::string payload_b64 = base64url_encode(payload);
  const Bytes mac = hmac_sha256(mac_key, protected_b64 + "." + payload_b64);
  return Json{{"protected", protected_b64},
              {"payload", payload_b64},
              {"signature", base64url_encode(mac)}};
}

bool verify_hs256(const Jws& jws, const Bytes& mac_key) {
  if (jws.alg() != "HS256" || mac_key.empty()) return false;
  const Bytes expected = hmac_sha256(mac_key, jws.signing_input());
  return equal_ct(expected, jws.signature);
}

}  // namespace attestlab::jose

// JWK half of core/jose.h: parsing public JWKs (RFC 7517/7518, RFC 8037 for Ed25519),
// their canonical required-members form and the RFC 7638 thumbprint.

#include <array>
#include <bit>
#include <string_view>

#include "core/jose.h"
#include "core/jose_detail.h"
#include "core/pki_internal.h"

namespace attestlab::jose {
namespace {

// RSA moduli below this are refused (RFC 7518 §3.3 requires 2048). Above the upper
// bound a single verification costs enough to make the key a denial-of-service lever.
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;

// Private and symmetric members of every JWK type (RFC 7518 §6.2.2, §6.3.2, §6.4;
// RFC 8037 §2). A public-key slot must never carry them.
constexpr std::array<std::string_view, 8> kPrivateMembers = {"d",  "p",  "q",   "dp",
                                                             "dq", "qi", "oth", "k"};

Error bad_key(std::string detail) { return Error::make("badPublicKey", std::move(detail)); }

// An EC key's required members (RFC 7638 §3.2) from its curve name and coordinates.
Json ec_members(const std::string& crv, const Bytes& x, const Bytes& y) {
  Json out = Json::object();
  out["crv"] = crv;
  out["kty"] = "EC";
  out["x"] = base64url_encode(x);
  out["y"] = base64url_encode(y);
  return out;
}

// The JWS alg of an EC key on the named curve of this size, "" for another size.
std::string ec_alg(int bits) {
  switch (bits) {
    case 256:
      return "ES256";
    case 384:
      return "ES384";
    case 521:
      return "ES512";
    default:
      return "";
  }
}

// RFC 7638: base64url(SHA-256(the required members' compact JSON)); all member values are
// ASCII, so no escaping questions.
std::string canonical_thumbprint(const Json& required_members) {
  return base64url_encode(sha256(required_members.dump()));
}

// Decodes a required base64url member; `what` names it in error details.
Result<Bytes> decode_member(const Json& jwk, const char* name, const std::string& what) {
  const std::string* text = get_string(jwk, name);
  if (text == nullptr) return bad_key(what + " member \"" + name + "\" is missing or not a string");
  auto bytes = base64url_decode(*text);
  if (!bytes) return bad_key(what + " member \"" + name + "\" is not valid base64url");
  return std::move(bytes).value();
}

struct Curve {
  const char* name;
  int bits;
  std::size_t coord_len;
};
constexpr std::array<Curve, 3> kCurves = {{{"P-256", 256, 32}, {"P-384", 384, 48},
                                           {"P-521", 521, 66}}};

Result<Jwk> parse_ec(const Json& jwk) {
  const std::string* crv = get_string(jwk, "crv");
  if (crv == nullptr) return bad_key("EC JWK member \"crv\" is missing or not a string");
  const Curve* curve = nullptr;
  for (const auto& c : kCurves) {
    if (*crv == c.name) curve = &c;
  }
  if (curve == nullptr) return bad_key("unsupported EC curve " + detail::quoted(*crv));
  auto x = decode_member(jwk, "x", "EC JWK");
  if (!x) return x.error();
  auto y = decode_member(jwk, "y", "EC JWK");
  if (!y) return y.error();
  // RFC 7518 §6.2.1.2/§6.2.1.3: the full coordinate length, even with leading zeros.
  if (x->size() != curve->coord_len || y->size() != curve->coord_len) {
    return bad_key("EC JWK coordinates for " + std::string(curve->name) + " must be " +
                   std::to_string(curve->coord_len) + " bytes");
  }
  // from_ec_xy runs OpenSSL's quick public-key check: the point is on the curve (the
  // invalid-curve attack surface) and is not the point at infinity. On P-256/384/521 (prime
  // order, cofactor 1) that puts it in the prime-order subgroup: the full check's extra
  // multiplication by the order proves nothing more and cost about as much as a verify
  // (BM_JwkParse: P-256 59 -> 10 us, P-384 393 -> 7 us without it).
  auto key = pki::PublicKey::from_ec_xy(curve->bits, *x, *y);
  if (!key) return bad_key("EC JWK point is not on the curve");
  return Jwk(std::move(key).value());
}

// Bits of a big-endian unsigned integer without leading zero bytes.
int bit_length(const Bytes& n) {
  if (n.empty()) return 0;
  return static_cast<int>(8 * n.size()) - std::countl_zero(n.front());
}

Result<Jwk> parse_rsa(const Json& jwk) {
  auto n = decode_member(jwk, "n", "RSA JWK");
  if (!n) return n.error();
  auto e = decode_member(jwk, "e", "RSA JWK");
  if (!e) return e.error();
  // RFC 7518 §6.3.1.1/§6.3.1.2: minimum number of octets. A leading zero would also
  // make the thumbprint differ from the client's.
  if (n->empty() || n->front() == 0) return bad_key("RSA JWK \"n\" is empty or has a leading zero");
  if (e->empty() || e->front() == 0) return bad_key("RSA JWK \"e\" is empty or has a leading zero");
  const int bits = bit_length(*n);
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return bad_key("RSA modulus of " + std::to_string(bits) + " bits; " +
                   std::to_string(kMinRsaBits) + " to " + std::to_string(kMaxRsaBits) +
                   " bits are accepted");
  }
  // Even moduli and exponents are never valid RSA keys; e = 1 makes every signature verify.
  if ((n->back() & 1) == 0) return bad_key("RSA modulus is even");
  if ((e->back() & 1) == 0 || (e->size() == 1 && e->front() == 1)) {
    return bad_key("RSA public exponent must be odd and greater than 1");
  }
  if (e->size() > 8) return bad_key("RSA public exponent is too large");
  auto key = pki::PublicKey::from_rsa_ne(*n, *e);
  if (!key) return bad_key("RSA JWK is not a valid key: " + key.error().detail);
  return Jwk(std::move(key).value());
}

Result<Jwk> parse_okp(const Json& jwk) {
  const std::string* crv = get_string(jwk, "crv");
  if (crv == nullptr) return bad_key("OKP JWK member \"crv\" is missing or not a string");
  if (*crv != "Ed25519") return bad_key("unsupported OKP curve " + detail::quoted(*crv));
  auto x = decode_member(jwk, "x", "OKP JWK");
  if (!x) return x.error();
  if (x->size() != 32) return bad_key("Ed25519 JWK \"x\" must be 32 bytes");
  auto key = pki::PublicKey::from_ed25519(*x);
  if (!key) return bad_key("Ed25519 JWK is not a valid key: " + key.error().detail);
  return Jwk(std::move(key).value());
}

}  // namespace

Jwk::Jwk(pki::PublicKey key) : key_(std::move(key)) {}

Result<Jwk> Jwk::parse(const Json& jwk) {
  if (!jwk.is_object()) return bad_key("JWK is not a JSON object");
  for (std::string_view member : kPrivateMembers) {
    if (jwk.contains(member)) {
      return bad_key("JWK carries the private member \"" + std::string(member) + "\"");
    }
  }
  const std::string* kty = get_string(jwk, "kty");
  if (kty == nullptr) return bad_key("JWK member \"kty\" is missing or not a string");
  if (*kty == "EC") return parse_ec(jwk);
  if (*kty == "RSA") return parse_rsa(jwk);
  if (*kty == "OKP") return parse_okp(jwk);
  return bad_key("unsupported JWK key type " + detail::quoted(*kty));
}

Json Jwk::to_json() const {
  // nlohmann's object is an ordered std::map, so members come out sorted (RFC 7638 §3.3).
  Json out = Json::object();
  if (!key_.valid()) return out;
  const pki::KeySpec spec = key_.spec();
  switch (spec.kind) {
    case pki::KeyKind::EC: {
      auto xy = key_.ec_xy();
      if (!xy) return out;
      out = ec_members(spec.name(), xy->first, xy->second);
      break;
    }
    case pki::KeyKind::RSA: {
      auto ne = key_.rsa_ne();
      if (!ne) return out;
      out["e"] = base64url_encode(ne->second);
      out["kty"] = "RSA";
      out["n"] = base64url_encode(ne->first);
      break;
    }
    case pki::KeyKind::Ed25519: {
      auto raw = key_.raw_public();
      if (!raw) return out;
      out["crv"] = "Ed25519";
      out["kty"] = "OKP";
      out["x"] = base64url_encode(*raw);
      break;
    }
  }
  return out;
}

std::string Jwk::thumbprint() const {
  const Json canonical = to_json();
  if (canonical.empty()) return "";
  return canonical_thumbprint(canonical);
}

std::optional<NamedEcJwk> named_ec_jwk(const pki::PrivateKey& key) {
  const auto named = pki::detail::named_ec_point(key.get());
  if (!named) return std::nullopt;
  const auto coord = static_cast<std::ptrdiff_t>((named->bits + 7) / 8);
  const Bytes& point = named->point;  // 0x04 || x || y
  if (point.size() != static_cast<std::size_t>(1 + 2 * coord) || point[0] != 0x04)
    return std::nullopt;
  NamedEcJwk out;
  out.jwk = ec_members("P-" + std::to_string(named->bits),
                       Bytes(point.begin() + 1, point.begin() + 1 + coord),
                       Bytes(point.begin() + 1 + coord, point.end()));
  out.alg = ec_alg(named->bits);
  out.thumbprint = canonical_thumbprint(out.jwk);
  return out;
}

std::string Jwk::default_alg() const {
  if (!key_.valid()) return "";
  const pki::KeySpec spec = key_.spec();
  switch (spec.kind) {
    case pki::KeyKind::EC:
      return ec_alg(spec.bits);
    case pki::KeyKind::RSA:
      return "RS256";
    case pki::KeyKind::Ed25519:
      return "EdDSA";
  }
  return "";
}

std::string key_authorization(const std::string& token, const Jwk& account_key) {
  return token + "." + account_key.thumbprint();
}

}  // namespace attestlab::jose

// Tests for core/jose.h against the published vectors of RFC 7515 (A.1-A.4), RFC 7638
// (§3.1) and RFC 8037 (A.1-A.5), then round trips and every refusal the contract names.
#include "core/jose.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <string>
#include <vector>

#include "core/json_unique.h"

namespace attestlab::jose {
namespace {

// ---- Published vectors -------------------------------------------------------------

// RFC 7515 A.1-A.3 share this payload: {"iss":"joe",\r\n "exp":1300819380,\r\n ...}.
constexpr const char* kRfc7515Payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
    "cnVlfQ";

// RFC 7515 A.1: HS256.
constexpr const char* kA1Key =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
constexpr const char* kA1Protected = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
constexpr const char* kA1Signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

// RFC 7515 A.2: RS256, with the full private key (PKCS#1 v1.5 is deterministic).
constexpr const char* kA2N =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0B"
    "m4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5"
    "z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7"
    "aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
constexpr const char* kA2E = "AQAB";
constexpr const char* kA2D =
    "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2N"
    "XOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M"
    "_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x"
    "_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";
constexpr const char* kA2P =
    "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py"
    "5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc";
constexpr const char* kA2Q =
    "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQ"
    "eZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc";
constexpr const char* kA2Dp =
    "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu"
    "1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0";
constexpr const char* kA2Dq =
    "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0a"
    "jaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU";
constexpr const char* kA2Qi =
    "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY"
    "7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U";
constexpr const char* kA2Protected = "eyJhbGciOiJSUzI1NiJ9";
constexpr const char* kA2Signature =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2F"
    "p5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQB"
    "MHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeY"
    "I2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

// RFC 7515 A.3: ES256.
constexpr const char* kA3X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr const char* kA3Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr const char* kA3D = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
constexpr const char* kA3Compact =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
    "cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// RFC 7515 A.4: ES512 over the payload "Payload".
constexpr const char* kA4X =
    "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk";
constexpr const char* kA4Y =
    "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2";
constexpr const char* kA4Compact =
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA"
    ".AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtA"
    "G8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

// RFC 7638 §3.1: RSA key and its thumbprint.
constexpr const char* kRfc7638N =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW"
    "2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQ"
    "Fh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
constexpr const char* kRfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

// RFC 8037 A.1-A.5: Ed25519 key, thumbprint and JWS over "Example of Ed25519 signing".
constexpr const char* kRfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr const char* kRfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr const char* kRfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
constexpr const char* kRfc8037Payload = "Example of Ed25519 signing";
constexpr const char* kRfc8037Compact =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// ---- Helpers -----------------------------------------------------------------------

Bytes b64u(const std::string& text) {
  auto decoded = base64url_decode(text);
  EXPECT_TRUE(decoded.ok()) << text;
  return decoded.ok() ? *decoded : Bytes{};
}

// The compact serialization "h.p.s" as the equivalent flattened JSON object.
Json compact_to_flattened(const std::string& compact) {
  const auto first = compact.find('.');
  const auto second = compact.find('.', first + 1);
  return Json{{"protected", compact.substr(0, first)},
              {"payload", compact.substr(first + 1, second - first - 1)},
              {"signature", compact.substr(second + 1)}};
}

Json ec_jwk(const std::string& crv, const std::string& x, const std::string& y) {
  return Json{{"kty", "EC"}, {"crv", crv}, {"x", x}, {"y", y}};
}

Jwk parse_ok(const Json& jwk) {
  auto parsed = Jwk::parse(jwk);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().detail);
  return parsed.ok() ? *parsed : Jwk();
}

void expect_error(const Result<void>& result, const std::string& type,
                  const std::string& detail_part = "") {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().type, type) << result.error().detail;
  EXPECT_NE(result.error().detail.find(detail_part), std::string::npos) << result.error().detail;
}

template <class T>
void expect_error(const Result<T>& result, const std::string& type,
                  const std::string& detail_part = "") {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().type, type) << result.error().detail;
  EXPECT_NE(result.error().detail.find(detail_part), std::string::npos) << result.error().detail;
}

Jws parse_jws_ok(const Json& body) {
  auto jws = parse_flattened(body);
  EXPECT_TRUE(jws.ok()) << (jws.ok() ? "" : jws.error().detail);
  return jws.ok() ? *jws : Jws{};
}

pki::PrivateKey generate(pki::KeySpec spec) {
  auto key = pki::PrivateKey::generate(spec);
  EXPECT_TRUE(key.ok()) << spec.name();
  return key.ok() ? *key : pki::PrivateKey();
}

// The RFC 8037 A.1 private key, built straight through OpenSSL from its 32-byte seed.
pki::PrivateKey rfc8037_private_key() {
  const Bytes seed = b64u(kRfc8037D);
  EVP_PKEY* raw =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  EXPECT_NE(raw, nullptr);
  return pki::PrivateKey(ossl::PKey(raw));
}

// The RFC 7515 A.2 RSA private key from its JWK members.
pki::PrivateKey rfc7515_a2_private_key() {
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  std::vector<ossl::BnPtr> numbers;
  const std::pair<const char*, const char*> members[] = {
      {OSSL_PKEY_PARAM_RSA_N, kA2N},          {OSSL_PKEY_PARAM_RSA_E, kA2E},
      {OSSL_PKEY_PARAM_RSA_D, kA2D},          {OSSL_PKEY_PARAM_RSA_FACTOR1, kA2P},
      {OSSL_PKEY_PARAM_RSA_FACTOR2, kA2Q},    {OSSL_PKEY_PARAM_RSA_EXPONENT1, kA2Dp},
      {OSSL_PKEY_PARAM_RSA_EXPONENT2, kA2Dq}, {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, kA2Qi}};
  for (const auto& [name, value] : members) {
    const Bytes bytes = b64u(value);
    numbers.emplace_back(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    EXPECT_EQ(OSSL_PARAM_BLD_push_BN(bld.get(), name, numbers.back().get()), 1);
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld.get());
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params), 1);
  OSSL_PARAM_free(params);
  return pki::PrivateKey(ossl::PKey(raw));
}

// Replaces one member of a flattened JWS, returning the modified copy.
Json with_member(Json body, const std::string& name, const Json& value) {
  body[name] = value;
  return body;
}

// ---- JWK ---------------------------------------------------------------------------

TEST(Rfc7638, ThumbprintOfTheSection31RsaKey) {
  // The RFC's JWK also carries "alg" and "kid"; neither is part of the thumbprint.
  const Jwk jwk = parse_ok(
      Json{{"kty", "RSA"}, {"n", kRfc7638N}, {"e", "AQAB"}, {"alg", "RS256"}, {"kid", "2011-04-29"}});
  EXPECT_EQ(jwk.thumbprint(), kRfc7638Thumbprint);
  EXPECT_EQ(jwk.to_json().dump(),
            std::string(R"({"e":"AQAB","kty":"RSA","n":")") + kRfc7638N + R"("})");
  EXPECT_EQ(jwk.default_alg(), "RS256");
}

TEST(Rfc8037, ThumbprintOfTheA3Ed25519Key) {
  const Jwk jwk = parse_ok(Json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kRfc8037X}});
  EXPECT_EQ(jwk.thumbprint(), kRfc8037Thumbprint);
  EXPECT_EQ(jwk.to_json().dump(),
            std::string(R"({"crv":"Ed25519","kty":"OKP","x":")") + kRfc8037X + R"("})");
  EXPECT_EQ(jwk.default_alg(), "EdDSA");
}

TEST(Jwk, EcRequiredMembersAreCrvKtyXY) {
  const Jwk jwk = parse_ok(
      Json{{"y", kA3Y}, {"x", kA3X}, {"kty", "EC"}, {"crv", "P-256"}, {"use", "sig"}});
  EXPECT_EQ(jwk.to_json().dump(), std::string(R"({"crv":"P-256","kty":"EC","x":")") + kA3X +
                                      R"(","y":")" + kA3Y + R"("})");
  EXPECT_EQ(jwk.default_alg(), "ES256");
  // The thumbprint hashes exactly that canonical text.
  EXPECT_EQ(jwk.thumbprint(), base64url_encode(sha256(jwk.to_json().dump())));
}

TEST(Jwk, RoundTripsEveryKeyKindThroughJson) {
  const std::pair<pki::KeySpec, std::string> cases[] = {
      {pki::KeySpec::p256(), "ES256"},   {pki::KeySpec::p384(), "ES384"},
      {pki::KeySpec::p521(), "ES512"},   {pki::KeySpec::rsa(2048), "RS256"},
      {pki::KeySpec::ed25519(), "EdDSA"}};
  for (const auto& [spec, alg] : cases) {
    SCOPED_TRACE(spec.name());
    const pki::PrivateKey key = generate(spec);
    const Jwk original(key.public_key());
    EXPECT_EQ(original.default_alg(), alg);
    const Jwk reparsed = parse_ok(original.to_json());
    EXPECT_TRUE(reparsed.key().equals(key.public_key()));
    EXPECT_EQ(reparsed.thumbprint(), original.thumbprint());
    EXPECT_EQ(original.thumbprint().size(), 43u);  // base64url of 32 bytes
  }
}

// A private key's JWK read off its point is the public half's JWK, for each named curve
// (P-521's coordinates are 66 bytes); other keys have none.
TEST(Jwk, NamedEcJwkOfAPrivateKeyIsItsPublicHalfsJwk) {
  for (const auto& spec : {pki::KeySpec::p256(), pki::KeySpec::p384(), pki::KeySpec::p521()}) {
    SCOPED_TRACE(spec.name());
    for (int i = 0; i < 4; ++i) {
      const pki::PrivateKey key = generate(spec);
      const Jwk expected(key.public_key());
      const auto named = named_ec_jwk(key);
      ASSERT_TRUE(named.has_value());
      EXPECT_EQ(named->jwk.dump(), expected.to_json().dump());
      EXPECT_EQ(named->alg, expected.default_alg());
      EXPECT_EQ(named->thumbprint, expected.thumbprint());
    }
  }
  EXPECT_FALSE(named_ec_jwk(generate(pki::KeySpec::rsa(2048))).has_value());
  EXPECT_FALSE(named_ec_jwk(generate(pki::KeySpec::ed25519())).has_value());
  EXPECT_FALSE(named_ec_jwk(pki::PrivateKey()).has_value());
}

TEST(Jwk, PrivateMembersAreRefused) {
  Json a3_private = ec_jwk("P-256", kA3X, kA3Y);
  a3_private["d"] = kA3D;
  expect_error(Jwk::parse(a3_private), "badPublicKey", "\"d\"");

  const Json rsa_private{{"kty", "RSA"}, {"n", kA2N}, {"e", kA2E}, {"p", kA2P}};
  expect_error(Jwk::parse(rsa_private), "badPublicKey", "\"p\"");

  const Json okp_private{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kRfc8037X}, {"d", kRfc8037D}};
  expect_error(Jwk::parse(okp_private), "badPublicKey", "\"d\"");

  const Json symmetric{{"kty", "oct"}, {"k", kA1Key}};
  expect_error(Jwk::parse(symmetric), "badPublicKey", "\"k\"");
}

TEST(Jwk, UnknownKeyTypesAndCurvesAreRefused) {
  expect_error(Jwk::parse(Json{{"kty", "oct"}}), "badPublicKey", "oct");
  expect_error(Jwk::parse(Json{{"kty", "DSA"}}), "badPublicKey", "DSA");
  expect_error(Jwk::parse(ec_jwk("P-192", kA3X, kA3Y)), "badPublicKey", "P-192");
  expect_error(Jwk::parse(ec_jwk("secp256k1", kA3X, kA3Y)), "badPublicKey", "secp256k1");
  expect_error(Jwk::parse(Json{{"kty", "OKP"}, {"crv", "X25519"}, {"x", kRfc8037X}}),
               "badPublicKey", "X25519");
  expect_error(Jwk::parse(Json{{"kty", "OKP"}, {"crv", "Ed448"}, {"x", kRfc8037X}}),
               "badPublicKey", "Ed448");
}

TEST(Jwk, MissingOrMistypedMembersAreRefused) {
  expect_error(Jwk::parse(Json::array()), "badPublicKey");
  expect_error(Jwk::parse(Json("EC")), "badPublicKey");
  expect_error(Jwk::parse(Json::object()), "badPublicKey", "kty");
  expect_error(Jwk::parse(Json{{"kty", 3}}), "badPublicKey", "kty");
  expect_error(Jwk::parse(Json{{"kty", "EC"}, {"crv", "P-256"}, {"x", kA3X}}), "badPublicKey",
               "\"y\"");
  expect_error(Jwk::parse(Json{{"kty", "EC"}, {"x", kA3X}, {"y", kA3Y}}), "badPublicKey", "crv");
  expect_error(Jwk::parse(Json{{"kty", "EC"}, {"crv", "P-256"}, {"x", 1}, {"y", kA3Y}}),
               "badPublicKey", "\"x\"");
  expect_error(Jwk::parse(Json{{"kty", "RSA"}, {"n", kA2N}}), "badPublicKey", "\"e\"");
  expect_error(Jwk::parse(Json{{"kty", "OKP"}, {"crv", "Ed25519"}}), "badPublicKey", "\"x\"");
  // Padded base64 is not base64url.
  expect_error(Jwk::parse(ec_jwk("P-256", std::string(kA3X) + "=", kA3Y)), "badPublicKey",
               "base64url");
}

TEST(Jwk, EcPointOffTheCurveIsRefused) {
  Bytes y = b64u(kA3Y);
  y.back() ^= 1;
  expect_error(Jwk::parse(ec_jwk("P-256", kA3X, base64url_encode(y))), "badPublicKey", "curve");
  // (0, 0) is on no NIST curve.
  const std::string zero = base64url_encode(Bytes(32, 0));
  expect_error(Jwk::parse(ec_jwk("P-256", zero, zero)), "badPublicKey");
  // Coordinates past the field prime, on every curve (the quick check is all that runs).
  for (auto [crv, len] : {std::pair{"P-256", 32}, std::pair{"P-384", 48}, std::pair{"P-521", 66}}) {
    const std::string ff = base64url_encode(Bytes(static_cast<std::size_t>(len), 0xff));
    expect_error(Jwk::parse(ec_jwk(crv, ff, ff)), "badPublicKey", "curve");
  }
}

TEST(Jwk, EcCoordinatesMustHaveTheCurveLength) {
  // P-256 coordinates presented as P-384, and coordinates with a byte dropped or added.
  expect_error(Jwk::parse(ec_jwk("P-384", kA3X, kA3Y)), "badPublicKey", "48 bytes");
  Bytes x = b64u(kA3X);
  Bytes y = b64u(kA3Y);
  Bytes short_x(x.begin() + 1, x.end());
  expect_error(Jwk::parse(ec_jwk("P-256", base64url_encode(short_x), kA3Y)), "badPublicKey",
               "32 bytes");
  Bytes long_y = y;
  long_y.insert(long_y.begin(), 0);
  expect_error(Jwk::parse(ec_jwk("P-256", kA3X, base64url_encode(long_y))), "badPublicKey",
               "32 bytes");
  // P-521 coordinates are 66 bytes, leading zeros included (RFC 7518 §6.2.1.2).
  const Jwk p521 = parse_ok(ec_jwk("P-521", kA4X, kA4Y));
  EXPECT_EQ(p521.to_json()["y"], kA4Y);
}

TEST(Jwk, SmallOrBrokenRsaKeysAreRefused) {
  // A 1024-bit modulus (odd, top bit set): refused for its size before anything else.
  Bytes n1024 = random_bytes(128);
  n1024.front() |= 0x80;
  n1024.back() |= 1;
  expect_error(Jwk::parse(Json{{"kty", "RSA"}, {"n", base64url_encode(n1024)}, {"e", "AQAB"}}),
               "badPublicKey", "1024 bits");

  Bytes padded_n = b64u(kA2N);
  padded_n.insert(padded_n.begin(), 0);
  expect_error(
      Jwk::parse(Json{{"kty", "RSA"}, {"n", base64url_encode(padded_n)}, {"e", "AQAB"}}),
      "badPublicKey", "leading zero");
  expect_error(Jwk::parse(Json{{"kty", "RSA"}, {"n", kA2N}, {"e", "AQ"}}), "badPublicKey",
               "exponent");  // e = 1
  expect_error(Jwk::parse(Json{{"kty", "RSA"}, {"n", kA2N}, {"e", "AQAA"}}), "badPublicKey",
               "exponent");  // e even
  // A generated 1024-bit key, if the key generator allows one at all.
  auto small = pki::PrivateKey::generate(pki::KeySpec::rsa(1024));
  if (small.ok()) {
    expect_error(Jwk::parse(Jwk(small->public_key()).to_json()), "badPublicKey", "1024 bits");
  }
}

TEST(Jwk, KeyAuthorizationIsTokenDotThumbprint) {
  const Jwk jwk = parse_ok(Json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kRfc8037X}});
  EXPECT_EQ(key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", jwk),
            std::string("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.") + kRfc8037Thumbprint);
}

// ---- Published JWS vectors ---------------------------------------------------------

TEST(Rfc7515, A3Es256ExampleVerifies) {
  const Jwk jwk = parse_ok(ec_jwk("P-256", kA3X, kA3Y));
  const Jws jws = parse_jws_ok(compact_to_flattened(kA3Compact));
  EXPECT_EQ(jws.alg(), "ES256");
  EXPECT_EQ(jws.signature.size(), 64u);
  EXPECT_TRUE(verify(jws, jwk.key()).ok());

  auto payload = jws.payload_json();
  ASSERT_TRUE(payload.ok());
  ASSERT_TRUE(payload->has_value());
  EXPECT_EQ((**payload)["iss"], "joe");
  EXPECT_EQ((**payload)["exp"], 1300819380);
}

TEST(Rfc7515, A3Es256WithATamperedPayloadFails) {
  const Jwk jwk = parse_ok(ec_jwk("P-256", kA3X, kA3Y));
  Json body = compact_to_flattened(kA3Compact);
  body["payload"] = base64url_encode(std::string(R"({"iss":"mallory"})"));
  expect_error(verify(parse_jws_ok(body), jwk.key()), "malformed", "JWS signature is invalid");
}

TEST(Rfc7515, A3Es256DerOrTruncatedSignaturesAreRefused) {
  const Jwk jwk = parse_ok(ec_jwk("P-256", kA3X, kA3Y));
  const Json body = compact_to_flattened(kA3Compact);
  const Bytes raw = b64u(body["signature"]);
  // The same r and s in DER: valid ECDSA, but not what JWS carries (RFC 7518 §3.4).
  auto der = pki::ecdsa_raw_to_der(raw);
  ASSERT_TRUE(der.ok());
  expect_error(verify(parse_jws_ok(with_member(body, "signature", base64url_encode(*der))),
                      jwk.key()),
               "malformed", "JWS signature is invalid");
  const Bytes truncated(raw.begin(), raw.end() - 1);
  expect_error(verify(parse_jws_ok(with_member(body, "signature", base64url_encode(truncated))),
                      jwk.key()),
               "malformed", "JWS signature is invalid");
}

TEST(Rfc7515, A4Es512ExampleVerifies) {
  const Jwk jwk = parse_ok(ec_jwk("P-521", kA4X, kA4Y));
  const Jws jws = parse_jws_ok(compact_to_flattened(kA4Compact));
  EXPECT_EQ(jws.signature.size(), 132u);
  EXPECT_EQ(to_string(jws.payload), "Payload");
  EXPECT_TRUE(verify(jws, jwk.key()).ok());
  // The P-521 signature checked against the P-256 key is an alg/key mismatch.
  expect_error(verify(jws, parse_ok(ec_jwk("P-256", kA3X, kA3Y)).key()), "badSignatureAlgorithm",
               "ES512");
}

TEST(Rfc7515, A2Rs256ExampleVerifies) {
  const Jwk jwk = parse_ok(Json{{"kty", "RSA"}, {"n", kA2N}, {"e", kA2E}});
  const Json body{{"protected", kA2Protected}, {"payload", kRfc7515Payload},
                  {"signature", kA2Signature}};
  const Jws jws = parse_jws_ok(body);
  EXPECT_TRUE(verify(jws, jwk.key()).ok());
  // Signature one byte short of the modulus length.
  Bytes sig = b64u(kA2Signature);
  sig.pop_back();
  expect_error(verify(parse_jws_ok(with_member(body, "signature", base64url_encode(sig))),
                      jwk.key()),
               "malformed", "JWS signature is invalid");
}

TEST(Rfc7515, A2Rs256SigningReproducesTheExample) {
  // PKCS#1 v1.5 is deterministic and {"alg":"RS256"} serializes to the RFC's header, so
  // signing the RFC's payload with the RFC's key must give the RFC's JWS byte for byte.
  const pki::PrivateKey key = rfc7515_a2_private_key();
  auto signed_jws = sign_raw(Json::object(), to_string(b64u(kRfc7515Payload)), key);
  ASSERT_TRUE(signed_jws.ok()) << signed_jws.error().detail;
  EXPECT_EQ((*signed_jws)["protected"], kA2Protected);
  EXPECT_EQ((*signed_jws)["payload"], kRfc7515Payload);
  EXPECT_EQ((*signed_jws)["signature"], kA2Signature);
}

TEST(Rfc7515, A1Hs256ExampleVerifiesAsAMac) {
  const Json body{{"protected", kA1Protected}, {"payload", kRfc7515Payload},
                  {"signature", kA1Signature}};
  const Jws jws = parse_jws_ok(body);
  EXPECT_TRUE(verify_hs256(jws, b64u(kA1Key)));
  Bytes other_key = b64u(kA1Key);
  other_key[0] ^= 1;
  EXPECT_FALSE(verify_hs256(jws, other_key));
}

TEST(Rfc8037, A5Ed25519ExampleVerifies) {
  const Jwk jwk = parse_ok(Json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kRfc8037X}});
  const Jws jws = parse_jws_ok(compact_to_flattened(kRfc8037Compact));
  EXPECT_EQ(to_string(jws.payload), kRfc8037Payload);
  EXPECT_TRUE(verify(jws, jwk.key()).ok());

  Json tampered = compact_to_flattened(kRfc8037Compact);
  tampered["payload"] = base64url_encode(std::string("Example of Ed25519 signinG"));
  expect_error(verify(parse_jws_ok(tampered), jwk.key()), "malformed", "JWS signature is invalid");
}

TEST(Rfc8037, A4Ed25519SigningReproducesTheExample) {
  // Ed25519 is deterministic: the RFC's key over the RFC's payload gives the RFC's JWS.
  const pki::PrivateKey key = rfc8037_private_key();
  EXPECT_EQ(Jwk(key.public_key()).to_json()["x"], kRfc8037X);
  auto signed_jws = sign_raw(Json::object(), kRfc8037Payload, key);
  ASSERT_TRUE(signed_jws.ok()) << signed_jws.error().detail;
  EXPECT_EQ(signed_jws->value("protected", "") + "." + signed_jws->value("payload", "") + "." +
                signed_jws->value("signature", ""),
            kRfc8037Compact);
}

// ---- Round trips -------------------------------------------------------------------

struct AlgCase {
  std::string alg;
  pki::KeySpec spec;
};

const std::vector<AlgCase>& alg_cases() {
  static const std::vector<AlgCase> cases = {
      {"ES256", pki::KeySpec::p256()},    {"ES384", pki::KeySpec::p384()},
      {"ES512", pki::KeySpec::p521()},    {"RS256", pki::KeySpec::rsa(2048)},
      {"PS256", pki::KeySpec::rsa(2048)}, {"EdDSA", pki::KeySpec::ed25519()}};
  return cases;
}

TEST(JwsRoundTrip, EveryAlgorithmSignsAndVerifies) {
  for (const auto& [alg, spec] : alg_cases()) {
    SCOPED_TRACE(alg);
    const pki::PrivateKey key = generate(spec);
    const Jwk jwk(key.public_key());
    const Json header{{"nonce", "n0nce"}, {"url", "https://ca.example/acme/new-account"},
                      {"jwk", jwk.to_json()}};
    const Json payload{{"termsOfServiceAgreed", true}, {"contact", {"mailto:a@example.com"}}};
    auto signed_jws = sign(header, payload, key, alg);
    ASSERT_TRUE(signed_jws.ok()) << signed_jws.error().detail;

    // Through the wire form, as the server sees it.
    auto jws = parse_flattened(signed_jws->dump());
    ASSERT_TRUE(jws.ok()) << jws.error().detail;
    EXPECT_EQ(jws->alg(), alg);
    EXPECT_EQ(jws->nonce(), "n0nce");
    EXPECT_EQ(jws->url(), "https://ca.example/acme/new-account");
    EXPECT_FALSE(jws->kid().has_value());
    ASSERT_TRUE(jws->jwk().has_value());
    auto embedded = Jwk::parse(*jws->jwk());
    ASSERT_TRUE(embedded.ok());
    EXPECT_TRUE(verify(*jws, embedded->key()).ok());
    EXPECT_TRUE(verify(*jws, key.public_key()).ok());
    auto decoded = jws->payload_json();
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->value_or(Json()), payload);

    // Tampered payload.
    Json tampered = *signed_jws;
    tampered["payload"] = base64url_encode(std::string(R"({"termsOfServiceAgreed":false})"));
    expect_error(verify(parse_jws_ok(tampered), key.public_key()), "malformed",
                 "JWS signature is invalid");
    // Tampered protected header (nonce swapped): the signature covers it too.
    Json swapped_header = header;
    swapped_header["nonce"] = "other";
    swapped_header["alg"] = alg;
    Json reheadered = *signed_jws;
    reheadered["protected"] = base64url_encode(swapped_header.dump());
    expect_error(verify(parse_jws_ok(reheadered), key.public_key()), "malformed",
                 "JWS signature is invalid");
    // Flipped signature bit.
    Bytes sig = b64u((*signed_jws)["signature"]);
    sig[sig.size() / 2] ^= 0x01;
    expect_error(verify(parse_jws_ok(with_member(*signed_jws, "signature", base64url_encode(sig))),
                        key.public_key()),
                 "malformed", "JWS signature is invalid");
    // Another key of the same kind.
    const pki::PrivateKey other = generate(spec);
    expect_error(verify(*jws, other.public_key()), "malformed", "JWS signature is invalid");
  }
}

TEST(JwsRoundTrip, EcSignaturesAreRawRAndS) {
  const std::pair<pki::KeySpec, std::size_t> cases[] = {
      {pki::KeySpec::p256(), 64}, {pki::KeySpec::p384(), 96}, {pki::KeySpec::p521(), 132}};
  for (const auto& [spec, length] : cases) {
    const pki::PrivateKey key = generate(spec);
    auto signed_jws = sign(Json::object(), Json::object(), key);
    ASSERT_TRUE(signed_jws.ok());
    EXPECT_EQ(b64u((*signed_jws)["signature"]).size(), length) << spec.name();
  }
}

TEST(JwsRoundTrip, DefaultAlgFollowsTheKey) {
  for (const auto& [alg, spec] : alg_cases()) {
    if (alg == "PS256") continue;  // RSA defaults to RS256
    const pki::PrivateKey key = generate(spec);
    auto signed_jws = sign(Json{{"kid", "https://ca.example/acct/1"}}, Json::object(), key);
    ASSERT_TRUE(signed_jws.ok());
    const Jws jws = parse_jws_ok(*signed_jws);
    EXPECT_EQ(jws.alg(), alg);
    EXPECT_EQ(jws.kid(), "https://ca.example/acct/1");
    EXPECT_FALSE(jws.jwk().has_value());
  }
}

TEST(JwsRoundTrip, PostAsGetHasAnEmptyPayload) {
  const pki::PrivateKey key = generate(pki::KeySpec::p256());
  auto signed_jws = sign(Json{{"kid", "k"}}, std::nullopt, key);
  ASSERT_TRUE(signed_jws.ok());
  EXPECT_EQ((*signed_jws)["payload"], "");
  const Jws jws = parse_jws_ok(*signed_jws);
  EXPECT_TRUE(jws.payload.empty());
  EXPECT_EQ(jws.signing_input(), jws.protected_b64 + ".");
  auto payload = jws.payload_json();
  ASSERT_TRUE(payload.ok());
  EXPECT_FALSE(payload->has_value());
  EXPECT_TRUE(verify(jws, key.public_key()).ok());

  // "{}" is not POST-as-GET: it decodes to an empty object.
  auto empty_object = sign(Json{{"kid", "k"}}, Json::object(), key);
  ASSERT_TRUE(empty_object.ok());
  auto object_payload = parse_jws_ok(*empty_object).payload_json();
  ASSERT_TRUE(object_payload.ok());
  ASSERT_TRUE(object_payload->has_value());
  EXPECT_EQ(**object_payload, Json::object());
}

TEST(JwsRoundTrip, NonJsonPayloadIsMalformedOnlyWhenAskedForJson) {
  const pki::PrivateKey key = generate(pki::KeySpec::p256());
  auto signed_jws = sign_raw(Json::object(), "not json", key);
  ASSERT_TRUE(signed_jws.ok());
  const Jws jws = parse_jws_ok(*signed_jws);
  EXPECT_TRUE(verify(jws, key.public_key()).ok());
  expect_error(jws.payload_json(), "malformed");
}

// ---- Algorithm policy --------------------------------------------------------------

TEST(CheckAlg, AcceptsEachAlgorithmWithItsKey) {
  for (const auto& [alg, spec] : alg_cases()) {
    EXPECT_TRUE(check_alg(alg, generate(spec).public_key()).ok()) << alg;
  }
}

TEST(CheckAlg, RefusesNoneMacsUnknownAndMismatchedAlgorithms) {
  const pki::PublicKey p256 = generate(pki::KeySpec::p256()).public_key();
  const pki::PublicKey p384 = generate(pki::KeySpec::p384()).public_key();
  const pki::PublicKey rsa = generate(pki::KeySpec::rsa(2048)).public_key();
  const pki::PublicKey ed = generate(pki::KeySpec::ed25519()).public_key();
  const std::pair<std::string, const pki::PublicKey*> refused[] = {
      {"none", &p256},  {"HS256", &p256}, {"HS384", &rsa},  {"HS512", &ed},
      {"RS512", &rsa},  {"PS384", &rsa},  {"ES256K", &p256}, {"Ed25519", &ed},
      {"es256", &p256}, {"", &p256},      {"ES256", &p384}, {"ES384", &p256},
      {"ES512", &p256}, {"RS256", &p256}, {"PS256", &ed},   {"EdDSA", &rsa},
      {"ES256", &ed}};
  for (const auto& [alg, key] : refused) {
    SCOPED_TRACE(alg);
    expect_error(check_alg(alg, *key), "badSignatureAlgorithm", "\"" + alg + "\"");
  }
}

TEST(CheckAlg, AlgNoneJwsIsRefusedByVerify) {
  const pki::PrivateKey key = generate(pki::KeySpec::p256());
  const std::string protected_b64 = base64url_encode(std::string(R"({"alg":"none"})"));
  // An unsecured JWS has an empty signature; give it bytes so only alg can refuse it.
  const Json body{{"protected", protected_b64},
                  {"payload", base64url_encode(std::string("{}"))},
                  {"signature", base64url_encode(Bytes(64, 0))}};
  expect_error(verify(parse_jws_ok(body), key.public_key()), "badSignatureAlgorithm", "none");
}

TEST(CheckAlg, Hs256IsRefusedForSignatures) {
  const pki::PrivateKey key = generate(pki::KeySpec::p256());
  const Json mac_jws = sign_hs256(Json{{"kid", "eab-1"}}, "{}", to_bytes("secret"));
  expect_error(verify(parse_jws_ok(mac_jws), key.public_key()), "badSignatureAlgorithm", "HS256");
  // Nor can a signing key produce one.
  expect_error(sign(Json::object(), Json::object(), key, "HS256"), "badSignatureAlgorithm",
               "HS256");
  expect_error(sign(Json::object(), Json::object(), key, "ES384"), "badSignatureAlgorithm",
               "ES384");
}

TEST(CheckAlg, AlgInDetailIsSanitized) {
  const pki::PublicKey key = generate(pki::KeySpec::p256()).public_key();
  auto result = check_alg(std::string("X\xff\n") + std::string(200, 'A'), key);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().type, "badSignatureAlgorithm");
  EXPECT_LT(result.error().detail.size(), 200u);
  EXPECT_EQ(result.error().detail.find('\xff'), std::string::npos);
  EXPECT_NO_THROW((void)Json(result.error().detail).dump());
}

// ---- External account binding ------------------------------------------------------

TEST(Eab, Hs256RoundTrip) {
  const Bytes mac_key = random_bytes(32);
  const pki::PrivateKey account = generate(pki::KeySpec::p256());
  const std::string account_jwk = Jwk(account.public_key()).to_json().dump();
  const Json eab = sign_hs256(Json{{"kid", "eab-key-1"}, {"url", "https://ca.example/new-acct"}},
                              account_jwk, mac_key);

  const Jws jws = parse_jws_ok(eab);
  EXPECT_EQ(jws.alg(), "HS256");
  EXPECT_EQ(jws.kid(), "eab-key-1");
  EXPECT_EQ(to_string(jws.payload), account_jwk);
  EXPECT_EQ(jws.signature.size(), 32u);
  EXPECT_TRUE(verify_hs256(jws, mac_key));

  Bytes wrong_key = mac_key;
  wrong_key.back() ^= 0x80;
  EXPECT_FALSE(verify_hs256(jws, wrong_key));
  EXPECT_FALSE(verify_hs256(jws, Bytes{}));

  Json tampered = eab;
  tampered["payload"] =
      base64url_encode(Jwk(generate(pki::KeySpec::p256()).public_key()).to_json().dump());
  EXPECT_FALSE(verify_hs256(parse_jws_ok(tampered), mac_key));

  Bytes truncated = jws.signature;
  truncated.pop_back();
  EXPECT_FALSE(verify_hs256(parse_jws_ok(with_member(eab, "signature", base64url_encode(truncated))),
                            mac_key));
}

TEST(Eab, VerifyHs256RequiresTheHs256Alg) {
  // A JWS signed with an asymmetric alg is never accepted as a MAC, whatever its bytes.
  const pki::PrivateKey key = generate(pki::KeySpec::p256());
  auto signed_jws = sign(Json{{"kid", "eab"}}, Json::object(), key);
  ASSERT_TRUE(signed_jws.ok());
  EXPECT_FALSE(verify_hs256(parse_jws_ok(*signed_jws), to_bytes("secret")));
}

// ---- Malformed input ---------------------------------------------------------------

Json valid_body() {
  static const Json body = [] {
    auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
    EXPECT_TRUE(key.ok());
    auto signed_jws = sign(Json{{"nonce", "n"}, {"url", "u"}, {"kid", "k"}}, Json::object(), *key);
    EXPECT_TRUE(signed_jws.ok());
    return signed_jws.ok() ? *signed_jws : Json::object();
  }();
  return body;
}

Json with_header(const Json& header) {
  return with_member(valid_body(), "protected", base64url_encode(header.dump()));
}

TEST(ParseFlattened, AcceptsTheValidBody) { EXPECT_TRUE(parse_flattened(valid_body()).ok()); }

TEST(ParseFlattened, RefusesNonJsonAndNonObjects) {
  expect_error(parse_flattened(std::string_view("")), "malformed");
  expect_error(parse_flattened(std::string_view("{")), "malformed");
  expect_error(parse_flattened(std::string_view("not json")), "malformed");
  expect_error(parse_flattened(valid_body().dump() + "garbage"), "malformed");
  expect_error(parse_flattened(std::string_view("[]")), "malformed", "object");
  expect_error(parse_flattened(std::string_view("\"jws\"")), "malformed", "object");
  expect_error(parse_flattened(std::string_view("null")), "malformed", "object");
  // The compact serialization is not accepted either.
  expect_error(parse_flattened(std::string_view(kA3Compact)), "malformed");
}

TEST(ParseFlattened, RefusesMissingOrMistypedMembers) {
  for (const char* member : {"protected", "payload", "signature"}) {
    SCOPED_TRACE(member);
    Json missing = valid_body();
    missing.erase(member);
    expect_error(parse_flattened(missing), "malformed", member);
    expect_error(parse_flattened(with_member(valid_body(), member, 42)), "malformed", member);
    expect_error(parse_flattened(with_member(valid_body(), member, nullptr)), "malformed", member);
  }
  expect_error(parse_flattened(with_member(valid_body(), "signature", "")), "malformed",
               "signature");
}

TEST(ParseFlattened, RefusesTheGeneralSerializationAndUnprotectedHeaders) {
  const Json flat = valid_body();
  const Json general{{"payload", flat["payload"]},
                     {"signatures", Json::array({Json{{"protected", flat["protected"]},
                                                      {"signature", flat["signature"]}}})}};
  expect_error(parse_flattened(general), "malformed", "general");
  expect_error(parse_flattened(with_member(flat, "signatures", Json::array())), "malformed",
               "general");
  expect_error(parse_flattened(with_member(flat, "header", Json{{"kid", "k"}})), "malformed",
               "unprotected");
}

TEST(ParseFlattened, RefusesBadBase64url) {
  const std::string protected_b64 = valid_body()["protected"];
  expect_error(parse_flattened(with_member(valid_body(), "protected", protected_b64 + "=")),
               "malformed", "base64url");
  expect_error(parse_flattened(with_member(valid_body(), "payload", "e30=")), "malformed",
               "base64url");
  expect_error(parse_flattened(with_member(valid_body(), "payload", "e3 0")), "malformed",
               "base64url");
  expect_error(parse_flattened(with_member(valid_body(), "signature", "ab+/")), "malformed",
               "base64url");
}

TEST(ParseFlattened, RefusesBadProtectedHeaders) {
  expect_error(parse_flattened(with_member(valid_body(), "protected", "")), "malformed");
  expect_error(parse_flattened(with_member(valid_body(), "protected",
                                           base64url_encode(std::string("not json")))),
               "malformed", "protected header");
  expect_error(parse_flattened(with_header(Json::array({1, 2}))), "malformed", "protected header");
  expect_error(parse_flattened(with_header(Json("ES256"))), "malformed", "protected header");
  expect_error(parse_flattened(with_header(Json{{"nonce", "n"}})), "malformed", "alg");
  expect_error(parse_flattened(with_header(Json{{"alg", 256}})), "malformed", "alg");
  expect_error(parse_flattened(with_header(Json{{"alg", "ES256"}, {"kid", 7}})), "malformed",
               "kid");
  expect_error(parse_flattened(with_header(Json{{"alg", "ES256"}, {"nonce", Json::object()}})),
               "malformed", "nonce");
  expect_error(parse_flattened(with_header(Json{{"alg", "ES256"}, {"url", true}})), "malformed",
               "url");
  expect_error(parse_flattened(with_header(Json{{"alg", "ES256"}, {"jwk", "key"}})), "malformed",
               "jwk");
  expect_error(
      parse_flattened(with_header(Json{{"alg", "ES256"}, {"b64", false}, {"crit", {"b64"}}})),
      "malformed", "crit");
}

// parse_flattened(text) reads the plain shape of a flattened JWS without a JSON tree and
// hands every other text to the JSON parser: it must decide as the JSON reading does
// (parse_json_unique, then parse_flattened(Json)) for every text, plain or not.
void expect_same_reading(const std::string& text) {
  SCOPED_TRACE(text);
  auto direct = parse_flattened(std::string_view(text));
  auto tree = parse_json_unique(text);
  if (!tree) {
    ASSERT_FALSE(direct.ok());
    EXPECT_EQ(direct.error().type, "malformed");
    return;
  }
  auto via_json = parse_flattened(*tree);
  ASSERT_EQ(direct.ok(), via_json.ok());
  if (!direct.ok()) {
    EXPECT_EQ(direct.error().type, via_json.error().type);
    return;
  }
  EXPECT_EQ(direct->protected_b64, via_json->protected_b64);
  EXPECT_EQ(direct->payload_b64, via_json->payload_b64);
  EXPECT_EQ(direct->signature_b64, via_json->signature_b64);
  EXPECT_EQ(direct->header, via_json->header);
  EXPECT_EQ(direct->payload, via_json->payload);
  EXPECT_EQ(direct->signature, via_json->signature);
}

TEST(ParseFlattened, ThePlainShapeIsReadAsTheJsonParserReadsIt) {
  const Json body = valid_body();
  const std::string p = body["protected"], l = body["payload"], g = body["signature"];
  auto member = [](const std::string& k, const std::string& v) {
    return "\"" + k + "\":\"" + v + "\"";
  };
  const std::string pm = member("protected", p), lm = member("payload", l),
                    gm = member("signature", g);
  const std::vector<std::string> texts = {
      body.dump(),
      "{" + pm + "," + lm + "," + gm + "}",
      "{" + gm + "," + pm + "," + lm + "}",  // any order
      " \t\r\n{ " + pm + " ,\n" + lm + "\t, " + gm + " }\n ",
      "{\"protected\" : \"" + p + "\" , \"payload\":\"\",\"signature\":\"" + g + "\"}",
      // Valid JSON outside the plain shape: the JSON parser reads it.
      "{\"\\u0070rotected\":\"" + p + "\"," + lm + "," + gm + "}",  // escaped key
      "{" + pm + "," + lm + "," + gm + ",\"header\":{}}",           // a fourth member
      "{" + pm + "," + lm + "}",                                    // one missing
      "{" + pm + "," + pm + "," + lm + "," + gm + "}",              // repeated
      "{" + pm + "," + lm + "," + member("signature", "") + "}",    // empty signature
      "{" + pm + "," + member("payload", "e30=") + "," + gm + "}",  // padding
      "{" + pm + "," + member("payload", "e30") + "," + gm + "}",   // "{}"
      "{" + pm + "," + member("payload", "A") + "," + gm + "}",     // bad length
      "{" + pm + ",\"payload\":null," + gm + "}",
      "{" + pm + ",\"payload\":7," + gm + "}",
      "{" + pm + "," + lm + "," + gm + "}x",
      "{" + pm + "," + lm + "," + gm,
      "{" + pm + "," + lm + "," + gm + ",}",
      "{" + pm + ";" + lm + "," + gm + "}",
      "[" + pm + "]",
      "{}",
      "",
  };
  for (const auto& text : texts) expect_same_reading(text);
  // Every prefix of the plain body, and a byte changed everywhere in it.
  const std::string plain = "{" + pm + "," + lm + "," + gm + "}";
  for (std::size_t i = 0; i <= plain.size(); i += 7) expect_same_reading(plain.substr(0, i));
  for (std::size_t i = 0; i < plain.size(); i += 5) {
    for (char c : {' ', '"', ',', ':', '\\', '=', 'A'}) {
      std::string mutated = plain;
      mutated[i] = c;
      expect_same_reading(mutated);
    }
  }
}

TEST(ParseFlattened, ArbitraryBytesNeverCrash) {
  // Every prefix and a set of single-byte corruptions of a valid body: any result is
  // acceptable as long as parsing returns one.
  const std::string text = valid_body().dump();
  for (std::size_t i = 0; i <= text.size(); ++i) {
    (void)parse_flattened(std::string_view(text).substr(0, i));
  }
  const char replacements[] = {'\0', '"', '{', '}', '\\', '\xff', '.', '='};
  for (std::size_t i = 0; i < text.size(); i += 3) {
    for (char c : replacements) {
      std::string mutated = text;
      mutated[i] = c;
      auto jws = parse_flattened(mutated);
      if (jws.ok()) (void)jws->payload_json();
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace attestlab::jose

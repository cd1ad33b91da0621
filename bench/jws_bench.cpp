// JWS verification as the server does it for every POST (parse the flattened JWS, check
// the algorithm against the account key, convert r||s to DER, verify), beside the raw
// EVP_DigestVerify of the same signing input with the same key: ES256 (P-256, SHA-256)
// and ES384 (P-384, SHA-384). The account key is parsed once, as the server's account
// cache keeps it.
#include <benchmark/benchmark.h>

#include <optional>
#include <string>

#include "bench/jws_fixture.h"
#include "bench/raw_openssl.h"
#include "core/jose.h"
#include "core/json_unique.h"
#include "core/pki.h"

namespace {

using namespace attestlab;

// Parse + verify through core/jose, as server/acme/acme_jws.cpp authenticate() does.
void BM_JwsVerify(benchmark::State& state, pki::KeySpec spec, const char* twin) {
  const bench::SignedPostAsGet fixture = bench::signed_post_as_get(spec);
  const jose::Jwk account_key(fixture.key.public_key());
  auto once = jose::parse_flattened(std::string_view(fixture.body));
  if (!fixture.ok || !once || !jose::verify(*once, account_key.key())) {
    state.SkipWithError("the fixture JWS does not verify");
    return;
  }
  for (auto _ : state) {
    auto jws = jose::parse_flattened(std::string_view(fixture.body));
    auto verified = jws ? jose::verify(*jws, account_key.key()) : Result<void>(jws.error());
    if (!verified) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(verified);
  }
  state.SetLabel(bench::twin_label(twin));
}
BENCHMARK_CAPTURE(BM_JwsVerify, ES256, pki::KeySpec::p256(), "BM_RawDigestVerify/P-256");
BENCHMARK_CAPTURE(BM_JwsVerify, ES384, pki::KeySpec::p384(), "BM_RawDigestVerify/P-384");

// parse_flattened alone (no verify) of a POST-as-GET and of a finalize-sized body (a P-256
// CSR in the payload), the part of authenticate() that is JSON work. "json_tree" reads the
// same text through the JSON parser first (parse_json_unique, then the Json overload): what
// every body cost before the plain shape was read directly.
void BM_JwsParse(benchmark::State& state, bool finalize_sized, bool json_tree) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  auto csr_key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key || !csr_key) {
    state.SkipWithError("keys");
    return;
  }
  std::optional<Json> payload;
  if (finalize_sized) {
    pki::CsrSpec spec;
    spec.sans.ip = {"127.0.0.1"};
    auto csr = pki::build_csr(spec, *csr_key);
    if (!csr) {
      state.SkipWithError("csr");
      return;
    }
    payload = Json{{"csr", base64url_encode(csr->to_der())}};
  }
  Json header{{"nonce", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
              {"url", "https://127.0.0.1:14000/acme/order/abcdefghijklmnop/finalize"},
              {"kid", "https://127.0.0.1:14000/acme/acct/abcdefghijklmnop"}};
  auto jws = jose::sign(header, payload, *key);
  if (!jws) {
    state.SkipWithError("sign");
    return;
  }
  const std::string body = jws->dump();
  for (auto _ : state) {
    Result<jose::Jws> parsed = Error::make("malformed", "");
    if (json_tree) {
      auto tree = parse_json_unique(body);
      if (tree) parsed = jose::parse_flattened(*tree);
    } else {
      parsed = jose::parse_flattened(std::string_view(body));
    }
    if (!parsed) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK_CAPTURE(BM_JwsParse, post_as_get, false, false)->Name("BM_JwsParse/post_as_get");
BENCHMARK_CAPTURE(BM_JwsParse, post_as_get_json_tree, false, true)
    ->Name("BM_JwsParse/post_as_get/json_tree");
BENCHMARK_CAPTURE(BM_JwsParse, finalize, true, false)->Name("BM_JwsParse/finalize");
BENCHMARK_CAPTURE(BM_JwsParse, finalize_json_tree, true, true)
    ->Name("BM_JwsParse/finalize/json_tree");

// A JWK as newAccount reads it from the protected header (and a client reads its own key for
// a thumbprint): members checked, coordinates decoded, the key built and checked.
void BM_JwkParse(benchmark::State& state, pki::KeySpec spec) {
  auto key = pki::PrivateKey::generate(spec);
  const Json jwk = key ? jose::Jwk(key->public_key()).to_json() : Json();
  if (!jose::Jwk::parse(jwk)) {
    state.SkipWithError("the fixture JWK does not parse");
    return;
  }
  for (auto _ : state) {
    auto parsed = jose::Jwk::parse(jwk);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK_CAPTURE(BM_JwkParse, P256, pki::KeySpec::p256())->Name("BM_JwkParse/P-256");
BENCHMARK_CAPTURE(BM_JwkParse, P384, pki::KeySpec::p384())->Name("BM_JwkParse/P-384");

// What a client pays for a new account key's JWK and RFC 7638 thumbprint (client::
// PrivateKeySigner, once per account: the load generator makes one per plain enrollment).
// read_off_point: jose::named_ec_jwk, the key's encoded point cut into x and y, as the
// signer does now; via_public_key: the way it did before, a PublicKey built from the key, its
// coordinates read back, and the thumbprint through Jwk::parse of that JWK.
void BM_AccountKeyJwk(benchmark::State& state, bool read_off_point) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) return state.SkipWithError("key generation failed");
  const std::string expected = jose::Jwk(key->public_key()).thumbprint();
  auto thumbprint_of = [&]() -> std::string {
    if (read_off_point) {
      auto named = jose::named_ec_jwk(*key);
      return named ? named->thumbprint : "";
    }
    const Json jwk = jose::Jwk(key->public_key()).to_json();
    auto parsed = jose::Jwk::parse(jwk);
    return parsed ? parsed->thumbprint() : "";
  };
  if (thumbprint_of() != expected) return state.SkipWithError("the thumbprints differ");
  for (auto _ : state) {
    std::string thumbprint = thumbprint_of();
    benchmark::DoNotOptimize(thumbprint);
  }
}
BENCHMARK_CAPTURE(BM_AccountKeyJwk, read_off_point, true)
    ->Name("BM_AccountKeyJwk/P-256/read_off_point");
BENCHMARK_CAPTURE(BM_AccountKeyJwk, via_public_key, false)
    ->Name("BM_AccountKeyJwk/P-256/via_public_key");

// The crypto floor (bench/jws_fixture.h).
using bench::BM_RawDigestVerify;
BENCHMARK_CAPTURE(BM_RawDigestVerify, P256, pki::KeySpec::p256())->Name("BM_RawDigestVerify/P-256");
BENCHMARK_CAPTURE(BM_RawDigestVerify, P384, pki::KeySpec::p384())->Name("BM_RawDigestVerify/P-384");

}  // namespace

BENCHMARK_MAIN();

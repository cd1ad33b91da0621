// JWS verification as the server does it for every POST (parse the flattened JWS, check
// the algorithm against the account key, convert r||s to DER, verify), beside the raw
// EVP_DigestVerify of the same signing input with the same key: ES256 (P-256, SHA-256)
// and ES384 (P-384, SHA-384). The account key is parsed once, as the server's account
// cache keeps it.
#include <benchmark/benchmark.h>

#include <string>

#include "bench/jws_fixture.h"
#include "bench/raw_openssl.h"
#include "core/jose.h"

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

// The crypto floor (bench/jws_fixture.h).
using bench::BM_RawDigestVerify;
BENCHMARK_CAPTURE(BM_RawDigestVerify, P256, pki::KeySpec::p256())->Name("BM_RawDigestVerify/P-256");
BENCHMARK_CAPTURE(BM_RawDigestVerify, P384, pki::KeySpec::p384())->Name("BM_RawDigestVerify/P-384");

}  // namespace

BENCHMARK_MAIN();

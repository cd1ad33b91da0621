// A signed POST-as-GET as an ACME client sends it (flattened JWS with nonce, url and kid,
// empty payload), and the raw-verify benchmark of its signature: the crypto floor of every
// authenticated request, shared by the binaries that compare against it.
// Benchmark support only.
#pragma once

#include <benchmark/benchmark.h>

#include <ctime>
#include <string>

#include "bench/raw_openssl.h"
#include "core/jose.h"

namespace attestlab::bench {

struct SignedPostAsGet {
  pki::PrivateKey key;
  std::string body;  // the flattened JWS, serialized
  bool ok = false;
};

inline SignedPostAsGet signed_post_as_get(pki::KeySpec spec) {
  SignedPostAsGet out;
  auto key = pki::PrivateKey::generate(spec);
  if (!key) return out;
  out.key = std::move(*key);
  Json header{{"nonce", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
              {"url", "https://127.0.0.1:14000/acme/authz/abcdefghijklmnop"},
              {"kid", "https://127.0.0.1:14000/acme/acct/abcdefghijklmnop"}};
  auto jws = jose::sign(header, std::nullopt, out.key);
  if (!jws) return out;
  out.body = jws->dump();
  out.ok = true;
  return out;
}

// EVP_DigestVerify of a POST-as-GET's signing input and signature (DER), with the key
// decoded and the digest fetched once; with idle_ms > 0 the thread first sleeps that long
// before each verify (not timed).
inline void raw_digest_verify_loop(benchmark::State& state, pki::KeySpec spec, long idle_ms) {
  const SignedPostAsGet fixture = signed_post_as_get(spec);
  auto jws = jose::parse_flattened(std::string_view(fixture.body));
  const FetchedDigest md(digest_name_for(spec));
  if (!fixture.ok || !jws || !md.valid()) {
    state.SkipWithError("fixture");
    return;
  }
  const Bytes data = to_bytes(jws->signing_input());
  auto der = pki::ecdsa_raw_to_der(jws->signature);
  const pki::PublicKey key = fixture.key.public_key();
  if (!der || !raw_digest_verify(key.get(), md.get(), data, *der)) {
    state.SkipWithError("the raw signature does not verify");
    return;
  }
  const timespec idle{0, idle_ms * 1000000L};
  for (auto _ : state) {
    if (idle_ms > 0) {
      state.PauseTiming();
      nanosleep(&idle, nullptr);
      state.ResumeTiming();
    }
    bool good = raw_digest_verify(key.get(), md.get(), data, *der);
    if (!good) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
}

// Register as "BM_RawDigestVerify/<curve>".
inline void BM_RawDigestVerify(benchmark::State& state, pki::KeySpec spec) {
  raw_digest_verify_loop(state, spec, 0);
}

// The same verify after the thread slept for state.range(0) milliseconds: the floor of a
// request that finds the core after an idle gap (BM_ServerHandle/..._after_idle_ms).
inline void BM_RawDigestVerifyAfterIdle(benchmark::State& state, pki::KeySpec spec) {
  raw_digest_verify_loop(state, spec, static_cast<long>(state.range(0)));
}

}  // namespace attestlab::bench

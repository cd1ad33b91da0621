// Apple attestation verification (device-attest-01) on a genuine attestation from the
// mock Apple CA (P-384 root and intermediate, P-384 Secure Enclave key), beside the raw
// P-384 signature verifies it cannot avoid.
//
// The server remembers intermediates it verified to a root (server::VerifiedIntermediates):
// the first attestation through an intermediate is verified through its whole chain (leaf
// signed by the intermediate, intermediate by the root), the next ones only under the
// remembered intermediate. So this file measures the server's verification both ways
// (full_chain: nothing remembered; remembered_intermediate: the server's steady state), the
// chain verification alone, and the leaf-only signature check (what issue 12's
// device-flow floor assumes), each beside its raw twin; and the CBOR decode of the
// attestation object.
#include <benchmark/benchmark.h>
#include <time.h>

#include <string>
#include <vector>

#include "bench/raw_nettle.h"
#include "bench/raw_openssl.h"
#include "core/json.h"
#include "server/attest/apple_attestation.h"
#include "sim/device/apple_ca.h"
#include "sim/device/attestation.h"

namespace {

using namespace attestlab;

// One genuine attestation for `token`, verifiable at `now`.
struct AttestationFixture {
  std::int64_t now = 0;
  std::string token = "Zm9yLWJlbmNobWFya2luZy1vbmx5LXRva2Vu";
  std::string att_obj_b64u;
  Bytes att_obj;
  pki::Certificate root, intermediate, leaf;
  bool ok = false;
};

const AttestationFixture& fixture() {
  static const AttestationFixture made = [] {
    AttestationFixture f;
    f.now = static_cast<std::int64_t>(time(nullptr));
    auto ca = sim::AppleCa::create(f.now - 3600);
    auto device_key = pki::PrivateKey::generate(pki::KeySpec::p384());
    if (!ca || !device_key) return f;
    sim::DeviceFacts facts;
    facts.serial = "C02BENCH0001";
    facts.udid = "00008103-001A2B3C4D5E6F70";
    facts.os_version = "17.4";
    facts.sepos_version = "21.4.123";
    facts.llb_version = "10151.100.3";
    auto chain = ca->issue_attestation(device_key->public_key(), facts,
                                       sim::freshness_code(f.token), f.now - 60);
    if (!chain) return f;
    auto leaf = pki::Certificate::from_der(chain->leaf_der);
    if (!leaf) return f;
    f.att_obj_b64u = sim::apple_attobj_b64u(*chain);
    auto decoded = base64url_decode(f.att_obj_b64u);
    if (!decoded) return f;
    f.att_obj = std::move(*decoded);
    f.root = ca->root();
    f.intermediate = ca->intermediate();
    f.leaf = std::move(*leaf);
    f.ok = true;
    return f;
  }();
  return made;
}

// The server's verification: base64url, CBOR, DER, chain to the root, validity, age,
// freshness, extensions, key.
void BM_AppleAttestationVerify(benchmark::State& state) {
  const AttestationFixture& f = fixture();
  const std::vector<pki::Certificate> roots{f.root};
  auto once = server::verify_apple_attestation(f.att_obj_b64u, roots, f.token, f.now);
  if (!f.ok || !once || once->serial != "C02BENCH0001") {
    state.SkipWithError(once ? "fixture" : once.error().detail.c_str());
    return;
  }
  for (auto _ : state) {
    auto facts = server::verify_apple_attestation(f.att_obj_b64u, roots, f.token, f.now);
    if (!facts) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(facts);
  }
  state.SetLabel(bench::twin_label("BM_RawAttestationSignatures/leaf+intermediate"));
}
BENCHMARK(BM_AppleAttestationVerify)->Name("BM_AppleAttestationVerify/full_chain");

// The server's steady state: the intermediate was verified to the root once before.
void BM_AppleAttestationVerifyRemembered(benchmark::State& state) {
  const AttestationFixture& f = fixture();
  const std::vector<pki::Certificate> roots{f.root};
  server::AppleVerifyOptions options;
  options.intermediates = std::make_shared<server::VerifiedIntermediates>();
  auto once = server::verify_apple_attestation(f.att_obj_b64u, roots, f.token, f.now, options);
  if (!f.ok || !once || once->serial != "C02BENCH0001") {
    state.SkipWithError(once ? "fixture" : once.error().detail.c_str());
    return;
  }
  for (auto _ : state) {
    auto facts = server::verify_apple_attestation(f.att_obj_b64u, roots, f.token, f.now, options);
    if (!facts) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(facts);
  }
  if (options.intermediates->hits() == 0) state.SkipWithError("the intermediate was never reused");
  state.SetLabel(bench::twin_label("BM_RawNettleAttestationSignature/leaf"));
}
BENCHMARK(BM_AppleAttestationVerifyRemembered)
    ->Name("BM_AppleAttestationVerify/remembered_intermediate");

// pki::verify_chain alone (X509_verify_cert: leaf -> intermediate -> root), on parsed
// certificates.
void BM_AttestationChainVerify(benchmark::State& state) {
  const AttestationFixture& f = fixture();
  const std::vector<pki::Certificate> intermediates{f.intermediate}, roots{f.root};
  if (!f.ok || !pki::verify_chain(f.leaf, intermediates, roots, f.now)) {
    state.SkipWithError("the fixture chain does not verify");
    return;
  }
  for (auto _ : state) {
    auto verified = pki::verify_chain(f.leaf, intermediates, roots, f.now);
    if (!verified) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(verified);
  }
  state.SetLabel(bench::twin_label("BM_RawAttestationSignatures/leaf+intermediate"));
}
BENCHMARK(BM_AttestationChainVerify);

// Leaf-only: what remains per request with the intermediate's key cached after one full
// verification — decode the leaf DER and check its signature (core/pki signed_by).
void BM_AttestationLeafOnly(benchmark::State& state) {
  const AttestationFixture& f = fixture();
  const pki::PublicKey intermediate_key = f.intermediate.public_key();
  const Bytes leaf_der = f.leaf.to_der();
  if (!f.ok || !f.leaf.signed_by(intermediate_key)) {
    state.SkipWithError("the fixture leaf does not verify");
    return;
  }
  for (auto _ : state) {
    auto leaf = pki::Certificate::from_der(leaf_der);
    bool good = leaf && leaf->signed_by(intermediate_key);
    if (!good) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
  state.SetLabel(bench::twin_label("BM_RawAttestationSignatures/leaf"));
}
BENCHMARK(BM_AttestationLeafOnly);

// The same with the leaf parsed without OpenSSL's key decoding (Certificate::from_der_lean)
// and checked by pki::verify_issued_by, as the server does under a remembered intermediate.
void BM_AttestationLeafLean(benchmark::State& state) {
  const AttestationFixture& f = fixture();
  const Bytes leaf_der = f.leaf.to_der();
  if (!f.ok || !pki::verify_issued_by(f.leaf, f.intermediate, f.now)) {
    state.SkipWithError("the fixture leaf does not verify");
    return;
  }
  for (auto _ : state) {
    auto leaf = pki::Certificate::from_der_lean(leaf_der);
    bool good = leaf && pki::verify_issued_by(*leaf, f.intermediate, f.now).ok();
    if (!good) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
  state.SetLabel(bench::twin_label("BM_RawNettleAttestationSignature/leaf"));
}
BENCHMARK(BM_AttestationLeafLean);

// OpenSSL's own d2i_X509 of the leaf (key decoded eagerly): the part of leaf-only that
// is decoding rather than signature.
void BM_RawCertificateDecode(benchmark::State& state) {
  const AttestationFixture& f = fixture();
  const Bytes leaf_der = f.leaf.to_der();
  if (!f.ok || !bench::raw_certificate_decodes(leaf_der)) {
    state.SkipWithError("the fixture leaf does not decode");
    return;
  }
  for (auto _ : state) {
    bool good = bench::raw_certificate_decodes(leaf_der);
    if (!good) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
}
BENCHMARK(BM_RawCertificateDecode)->Name("BM_RawCertificateDecode/leaf");

// The floor: EVP_DigestVerify (P-384, SHA-384) of the leaf's TBSCertificate with the
// intermediate's key and, for a full chain, of the intermediate's with the root's.
void BM_RawAttestationSignatures(benchmark::State& state, bool with_intermediate) {
  const AttestationFixture& f = fixture();
  const bench::FetchedDigest md("SHA384");
  const bench::SignedPart leaf = bench::signed_part_of(f.leaf);
  const bench::SignedPart intermediate = bench::signed_part_of(f.intermediate);
  const pki::PublicKey intermediate_key = f.intermediate.public_key();
  const pki::PublicKey root_key = f.root.public_key();
  auto verify = [&] {
    bool good =
        bench::raw_digest_verify(intermediate_key.get(), md.get(), leaf.tbs, leaf.signature);
    if (with_intermediate) {
      good = good && bench::raw_digest_verify(root_key.get(), md.get(), intermediate.tbs,
                                              intermediate.signature);
    }
    return good;
  };
  if (!f.ok || !md.valid() || !verify()) {
    state.SkipWithError("the raw signatures do not verify");
    return;
  }
  for (auto _ : state) {
    bool good = verify();
    if (!good) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
}
BENCHMARK_CAPTURE(BM_RawAttestationSignatures, leaf, false);
BENCHMARK_CAPTURE(BM_RawAttestationSignatures, leaf_intermediate, true)
    ->Name("BM_RawAttestationSignatures/leaf+intermediate");

// The floor of the leaf's check where the server makes it with Nettle (pki::verify_issued_by
// → PublicKey::verify, P-384: core/pki_p384.cpp): SHA-384 of the TBSCertificate and Nettle's
// ecdsa_verify, the intermediate's key and the signature decoded once.
void BM_RawNettleAttestationSignature(benchmark::State& state) {
  const AttestationFixture& f = fixture();
  const bench::FetchedDigest md("SHA384");
  const bench::SignedPart leaf = bench::signed_part_of(f.leaf);
  const bench::NettleP384Verifier verifier(f.intermediate.public_key(), leaf.signature);
  if (!f.ok || !md.valid() || !verifier.verify(md.get(), leaf.tbs)) {
    state.SkipWithError("the leaf's signature does not verify with Nettle");
    return;
  }
  for (auto _ : state) {
    bool good = verifier.verify(md.get(), leaf.tbs);
    if (!good) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
}
BENCHMARK(BM_RawNettleAttestationSignature)->Name("BM_RawNettleAttestationSignature/leaf");

// CBOR decode of the attestation object (core/json, nlohmann's CBOR reader).
void BM_CborDecodeAttObj(benchmark::State& state) {
  const AttestationFixture& f = fixture();
  auto once = parse_cbor(f.att_obj);
  auto x5c_size = [](const Json& object) -> std::size_t {
    if (!object.is_object() || !object.contains("attStmt")) return 0;
    const Json& statement = object["attStmt"];
    if (!statement.is_object() || !statement.contains("x5c")) return 0;
    return statement["x5c"].is_array() ? statement["x5c"].size() : 0;
  };
  const std::string* fmt = once ? get_string(*once, "fmt") : nullptr;
  if (!f.ok || fmt == nullptr || *fmt != "apple" || x5c_size(*once) != 2) {
    state.SkipWithError("the fixture attObj does not decode");
    return;
  }
  for (auto _ : state) {
    auto decoded = parse_cbor(f.att_obj);
    if (!decoded) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.att_obj.size()));
}
BENCHMARK(BM_CborDecodeAttObj);

}  // namespace

BENCHMARK_MAIN();

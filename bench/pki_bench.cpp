// The finalize step's CPU: the CSR (parse and self-signature through core/pki, and the
// server's whole finalize-CSR policy) beside the raw X509_REQ_verify, for P-256 and P-384
// CSR keys, with OpenSSL's own d2i_X509_REQ alone to show what decoding costs; and certificate
// issuance by the server's issuing CA beside the raw EVP_DigestSign (P-256, SHA-256, the
// intermediate's key) of a TBSCertificate of the same size as the one issued. Also key
// generation, and the random bytes of ids and serials, each beside its raw twin; and a
// client's parse of the chain it downloads.
#include <benchmark/benchmark.h>
#include <openssl/rand.h>
#include <time.h>

#include <memory>
#include <optional>
#include <string>

#include "bench/raw_nettle.h"
#include "bench/raw_openssl.h"
#include "bench/temp_store.h"
#include "client/pem_chain.h"
#include "server/acme/acme_csr.h"
#include "server/acme/issuing_ca.h"
#include "server/config.h"

namespace {

using namespace attestlab;

// A finalize CSR for 127.0.0.1 (what an http-01 enrollment of the ip identifier sends).
struct CsrFixture {
  pki::PrivateKey key;
  Bytes der;
  bool ok = false;
};

CsrFixture csr_fixture(pki::KeySpec spec) {
  CsrFixture f;
  auto key = pki::PrivateKey::generate(spec);
  if (!key) return f;
  f.key = std::move(*key);
  pki::CsrSpec csr_spec;
  csr_spec.sans.ip = {"127.0.0.1"};
  auto csr = pki::build_csr(csr_spec, f.key);
  if (!csr) return f;
  f.der = csr->to_der();
  f.ok = !f.der.empty();
  return f;
}

// The raw twin: OpenSSL's X509_REQ_verify; for P-384, which the server checks with Nettle,
// Nettle's verify (BM_RawCsrVerify/P-384 stays beside it as OpenSSL's figure).
std::string raw_csr_twin(pki::KeySpec spec) {
  if (spec == pki::KeySpec::p384()) return bench::twin_label("BM_RawNettleCsrVerify/P-384");
  return bench::twin_label("BM_RawCsrVerify/" + spec.name());
}

// core/pki: DER decode and self-signature check.
void BM_CsrParseVerify(benchmark::State& state, pki::KeySpec spec) {
  const CsrFixture f = csr_fixture(spec);
  auto once = pki::Csr::from_der(f.der);
  if (!f.ok || !once || !once->verify_signature()) {
    state.SkipWithError("the fixture CSR does not verify");
    return;
  }
  for (auto _ : state) {
    auto csr = pki::Csr::from_der(f.der);
    bool good = csr && csr->verify_signature();
    if (!good) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
  state.SetLabel(raw_csr_twin(spec));
}
BENCHMARK_CAPTURE(BM_CsrParseVerify, P256, pki::KeySpec::p256())->Name("BM_CsrParseVerify/P-256");
BENCHMARK_CAPTURE(BM_CsrParseVerify, P384, pki::KeySpec::p384())->Name("BM_CsrParseVerify/P-384");

// The server's finalize policy (server/acme/acme_csr.h): parse, signature, key policy,
// not the account key, SANs against the order's identifiers.
void BM_FinalizeCsrCheck(benchmark::State& state, pki::KeySpec spec) {
  const CsrFixture f = csr_fixture(spec);
  auto account_key = pki::PrivateKey::generate(pki::KeySpec::p256());
  server::CsrRequirements requirements;
  requirements.identifiers = {{"ip", "127.0.0.1"}};
  if (account_key) requirements.account_key = account_key->public_key();
  auto once = server::check_finalize_csr(f.der, requirements);
  if (!f.ok || !account_key || !once) {
    state.SkipWithError(once ? "fixture" : once.error().detail.c_str());
    return;
  }
  for (auto _ : state) {
    auto csr = server::check_finalize_csr(f.der, requirements);
    if (!csr) {
      state.SkipWithError("check failed");
      break;
    }
    benchmark::DoNotOptimize(csr);
  }
  state.SetLabel(raw_csr_twin(spec));
}
BENCHMARK_CAPTURE(BM_FinalizeCsrCheck, P256, pki::KeySpec::p256())
    ->Name("BM_FinalizeCsrCheck/P-256");
BENCHMARK_CAPTURE(BM_FinalizeCsrCheck, P384, pki::KeySpec::p384())
    ->Name("BM_FinalizeCsrCheck/P-384");

// The floor: X509_REQ_verify on a parsed CSR with its key extracted once.
void BM_RawCsrVerify(benchmark::State& state, pki::KeySpec spec) {
  const CsrFixture f = csr_fixture(spec);
  auto csr = pki::Csr::from_der(f.der);
  EVP_PKEY* key = csr ? csr->key() : nullptr;
  if (!f.ok || key == nullptr || !bench::raw_csr_verify(csr->get(), key)) {
    state.SkipWithError("the raw CSR signature does not verify");
    return;
  }
  for (auto _ : state) {
    bool good = bench::raw_csr_verify(csr->get(), key);
    if (!good) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
}
BENCHMARK_CAPTURE(BM_RawCsrVerify, P256, pki::KeySpec::p256())->Name("BM_RawCsrVerify/P-256");
BENCHMARK_CAPTURE(BM_RawCsrVerify, P384, pki::KeySpec::p384())->Name("BM_RawCsrVerify/P-384");

// The same check with Nettle's P-384 arithmetic: the CertificationRequestInfo's SHA-384 and
// ecdsa_verify, the key and signature decoded once.
void BM_RawNettleCsrVerify(benchmark::State& state) {
  const CsrFixture f = csr_fixture(pki::KeySpec::p384());
  auto csr = pki::Csr::from_der(f.der);
  bench::FetchedDigest sha384("SHA384");
  if (!f.ok || !csr) {
    state.SkipWithError("fixture");
    return;
  }
  const bench::SignedPart part = bench::signed_part_of(*csr);
  const bench::NettleP384Verifier verifier(csr->public_key(), part.signature);
  if (!verifier.verify(sha384.get(), part.tbs)) {
    state.SkipWithError("the raw CSR signature does not verify with Nettle");
    return;
  }
  for (auto _ : state) {
    bool good = verifier.verify(sha384.get(), part.tbs);
    if (!good) {
      state.SkipWithError("verify failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
}
BENCHMARK(BM_RawNettleCsrVerify)->Name("BM_RawNettleCsrVerify/P-384");

// How much of parsing is OpenSSL's own DER decoding (key included).
void BM_RawCsrDecode(benchmark::State& state, pki::KeySpec spec) {
  const CsrFixture f = csr_fixture(spec);
  if (!f.ok || !bench::raw_csr_decodes(f.der)) {
    state.SkipWithError("the fixture CSR does not decode");
    return;
  }
  for (auto _ : state) {
    bool good = bench::raw_csr_decodes(f.der);
    if (!good) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(good);
  }
}
BENCHMARK_CAPTURE(BM_RawCsrDecode, P256, pki::KeySpec::p256())->Name("BM_RawCsrDecode/P-256");
BENCHMARK_CAPTURE(BM_RawCsrDecode, P384, pki::KeySpec::p384())->Name("BM_RawCsrDecode/P-384");

// The server's issuing CA in a temporary directory, and a leaf request as finalize builds
// it for a 127.0.0.1 order.
struct IssuanceFixture {
  bench::TempDir dir;
  std::unique_ptr<server::IssuingCa> ca;
  pki::PrivateKey intermediate_key;  // read back from the CA's files for the raw twin
  CsrFixture csr_source = csr_fixture(pki::KeySpec::p256());
  pki::Csr csr;
  server::LeafRequest request;
  bool ok = false;

  IssuanceFixture() {
    const auto now = static_cast<std::int64_t>(time(nullptr));
    if (dir.path().empty() || !csr_source.ok) return;
    auto loaded = server::IssuingCa::load_or_create(dir.path(), now);
    if (!loaded) return;
    auto key_pem = pki::read_file(dir.path() + "/intermediate.key");
    if (!key_pem) return;
    auto key = pki::PrivateKey::from_pem(*key_pem);
    auto parsed = pki::Csr::from_der(csr_source.der);
    if (!key || !parsed) return;
    ca = std::move(*loaded);
    intermediate_key = std::move(*key);
    csr = std::move(*parsed);
    request.csr = &csr;
    request.sans.ip = {"127.0.0.1"};
    request.not_before = now - 3600;
    request.not_after = now + server::ServerConfig().cert_validity;
    request.extended_key_usages = server::ServerConfig().cert_ekus;
    ok = true;
  }
};

// A certificate the fixture's CA issued, parsed, when it verifies and names the requested
// address.
std::optional<pki::Certificate> issued_correctly(const IssuanceFixture& f,
                                                 const Result<pki::IssuedCertificate>& issued) {
  if (!issued) return std::nullopt;
  auto certificate = pki::Certificate::from_der(issued->der);
  if (!certificate || !certificate->signed_by(f.ca->intermediate().public_key()) ||
      certificate->subject_alt_names().ip != std::vector<std::string>{"127.0.0.1"})
    return std::nullopt;
  return std::move(*certificate);
}

// IssuingCa::issue: build the TBSCertificate (serial, validity, names, copied SPKI,
// extensions) and sign it with the intermediate.
void BM_CertificateIssue(benchmark::State& state) {
  IssuanceFixture f;
  if (!f.ok || !issued_correctly(f, f.ca->issue(f.request))) {
    state.SkipWithError("the fixture CA does not issue a correct certificate");
    return;
  }
  for (auto _ : state) {
    auto certificate = f.ca->issue(f.request);
    if (!certificate) {
      state.SkipWithError("issue failed");
      break;
    }
    benchmark::DoNotOptimize(certificate);
  }
  state.SetLabel(bench::twin_label("BM_RawDigestSign/P-256"));
}
BENCHMARK(BM_CertificateIssue);

// What a client does with a downloaded chain (RFC 8555 §7.4.2; the load generator once
// per enrollment): parse_pem_certificate_chain of the issued leaf and its intermediate, as
// `attestlab serve` sends them. Beside it, one certificate's DER parsed by d2i_X509 with
// OpenSSL 3.0's decoding of its key (Certificate::from_der) and without it (from_der_lean).
// The fixture CA's leaf, or why there is none.
Result<pki::Certificate> fixture_leaf(const IssuanceFixture& f) {
  if (!f.ok) return Error::make("serverInternal", "the issuance fixture did not build");
  auto leaf = issued_correctly(f, f.ca->issue(f.request));
  if (!leaf) {
    return Error::make("serverInternal", "the fixture CA does not issue a correct certificate");
  }
  return std::move(*leaf);
}

void BM_PemChainParse(benchmark::State& state) {
  IssuanceFixture f;
  auto leaf = fixture_leaf(f);
  if (!leaf) {
    state.SkipWithError(leaf.error().detail.c_str());
    return;
  }
  const std::string chain = leaf->to_pem() + f.ca->intermediate().to_pem();
  for (auto _ : state) {
    auto parsed = client::parse_pem_certificate_chain(chain);
    if (!parsed || parsed->size() != 2) {
      state.SkipWithError("the chain does not parse");
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_PemChainParse);

void BM_CertificateParse(benchmark::State& state, bool lean) {
  IssuanceFixture f;
  auto leaf = fixture_leaf(f);
  if (!leaf) {
    state.SkipWithError(leaf.error().detail.c_str());
    return;
  }
  const Bytes der = leaf->to_der();
  for (auto _ : state) {
    auto parsed = lean ? pki::Certificate::from_der_lean(der) : pki::Certificate::from_der(der);
    if (!parsed) {
      state.SkipWithError("the certificate does not parse");
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK_CAPTURE(BM_CertificateParse, full, false)->Name("BM_CertificateParse/from_der");
BENCHMARK_CAPTURE(BM_CertificateParse, lean, true)->Name("BM_CertificateParse/from_der_lean");

// The floor: one EVP_DigestSign (P-256, SHA-256) over the TBSCertificate of a certificate
// the CA issued, with the key decoded and the digest fetched once.
void BM_RawDigestSign(benchmark::State& state) {
  IssuanceFixture f;
  const bench::FetchedDigest md("SHA256");
  if (!f.ok || !md.valid()) {
    state.SkipWithError("fixture");
    return;
  }
  auto sample = issued_correctly(f, f.ca->issue(f.request));
  if (!sample) {
    state.SkipWithError("issue failed");
    return;
  }
  const Bytes tbs = bench::signed_part_of(*sample).tbs;
  const pki::PublicKey check_key = f.intermediate_key.public_key();
  const Bytes once = bench::raw_digest_sign(f.intermediate_key.get(), md.get(), tbs);
  if (once.empty() || !bench::raw_digest_verify(check_key.get(), md.get(), tbs, once)) {
    state.SkipWithError("the raw signature does not verify");
    return;
  }
  for (auto _ : state) {
    Bytes signature = bench::raw_digest_sign(f.intermediate_key.get(), md.get(), tbs);
    if (signature.empty()) {
      state.SkipWithError("sign failed");
      break;
    }
    benchmark::DoNotOptimize(signature);
  }
  state.counters["tbs_bytes"] = static_cast<double>(tbs.size());
}
BENCHMARK(BM_RawDigestSign)->Name("BM_RawDigestSign/P-256");

// A new EC key pair (a load generator makes two per plain enrollment, a simulated device one
// per enrollment), beside its twin, OpenSSL's own call naming the curve.
void BM_KeyGenerate(benchmark::State& state, pki::KeySpec spec) {
  for (auto _ : state) {
    auto key = pki::PrivateKey::generate(spec);
    if (!key) {
      state.SkipWithError("generate failed");
      break;
    }
    benchmark::DoNotOptimize(key);
  }
  state.SetLabel(bench::twin_label("BM_RawKeyGenerate/" + spec.name()));
}
BENCHMARK_CAPTURE(BM_KeyGenerate, P256, pki::KeySpec::p256())->Name("BM_KeyGenerate/P-256");
BENCHMARK_CAPTURE(BM_KeyGenerate, P384, pki::KeySpec::p384())->Name("BM_KeyGenerate/P-384");

void BM_RawKeyGenerate(benchmark::State& state, pki::KeySpec spec) {
  const std::string curve = spec.name();
  for (auto _ : state) {
    EVP_PKEY* key = EVP_EC_gen(curve.c_str());
    if (key == nullptr) {
      state.SkipWithError("EVP_EC_gen failed");
      break;
    }
    EVP_PKEY_free(key);
  }
}
BENCHMARK_CAPTURE(BM_RawKeyGenerate, P256, pki::KeySpec::p256())->Name("BM_RawKeyGenerate/P-256");
BENCHMARK_CAPTURE(BM_RawKeyGenerate, P384, pki::KeySpec::p384())->Name("BM_RawKeyGenerate/P-384");

// 15 random bytes, what a sortable id or a serial draws (several per request): through
// core's random_bytes (a per-thread pool filled 512 bytes per RAND_bytes call) beside
// RAND_bytes called for each draw, as random_bytes did before the pool.
void BM_RandomBytes(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(random_bytes(15));
  state.SetLabel(bench::twin_label("BM_RawRandBytes/15"));
}
BENCHMARK(BM_RandomBytes)->Name("BM_RandomBytes/15");

void BM_RawRandBytes(benchmark::State& state) {
  unsigned char out[15];
  for (auto _ : state) {
    if (RAND_bytes(out, sizeof out) != 1) {
      state.SkipWithError("RAND_bytes failed");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RawRandBytes)->Name("BM_RawRandBytes/15");

}  // namespace

BENCHMARK_MAIN();

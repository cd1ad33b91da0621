#include "bench/load/crypto_floor.h"

#include <algorithm>
#include <ctime>
#include <functional>

#include "bench/raw_nettle.h"
#include "bench/raw_openssl.h"
#include "core/pki.h"

namespace attestlab::load {
namespace {

Error failed(const std::string& what) {
  return Error::make("serverInternal", "crypto floor: " + what);
}

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// CPU microseconds of one op: the best of three batches of `iterations`. ok stays true only
// when every call succeeded (a verify that fails would time the wrong thing).
double time_op(int iterations, bool& ok, const std::function<bool()>& op) {
  double best = 0;
  for (int batch = 0; batch < 3; ++batch) {
    const double t0 = thread_cpu_us();
    for (int i = 0; i < iterations; ++i) ok = op() && ok;
    const double per_op = (thread_cpu_us() - t0) / iterations;
    best = batch == 0 ? per_op : std::min(best, per_op);
  }
  return best;
}

// A leaf-sized certificate signed by issuer_key (self-signed: only its TBSCertificate and
// signature are used, and their sizes are a leaf's).
Result<pki::Certificate> leaf_issued_by(const pki::PrivateKey& issuer_key) {
  pki::CertificateSpec spec;
  spec.subject = {{"CN", "crypto floor leaf"}};
  spec.sans.dns = {"floor.load.example"};
  spec.not_before = 1700000000;
  spec.not_after = 1700000000 + 86400;
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.1"};
  return pki::issue_certificate(spec, issuer_key.public_key(), nullptr, issuer_key);
}

Result<pki::Csr> csr_of(const pki::PrivateKey& key) {
  pki::CsrSpec spec;
  spec.subject = {{"CN", "floor.load.example"}};
  spec.sans.dns = {"floor.load.example"};
  return pki::build_csr(spec, key);
}

}  // namespace

double CryptoFloor::per_enrollment_ms() const {
  const CryptoTimings& t = timings;
  const CryptoCounts& c = counts;
  return (c.es256_verifies * t.es256_verify_us + c.csr_p256_verifies * t.csr_p256_verify_us +
          c.issue_signs * t.issue_sign_us + c.p384_leaf_verifies * t.p384_leaf_verify_us +
          c.csr_p384_verifies * t.csr_p384_verify_us) /
         1000.0;
}

Json CryptoFloor::to_json() const {
  return Json{{"per_enrollment_ms", per_enrollment_ms()},
              {"timings_us",
               {{"es256_verify", timings.es256_verify_us},
                {"csr_p256_verify", timings.csr_p256_verify_us},
                {"issue_sign", timings.issue_sign_us},
                {"p384_leaf_verify", timings.p384_leaf_verify_us},
                {"csr_p384_verify", timings.csr_p384_verify_us},
                {"iterations", timings.iterations}}},
              {"counts",
               {{"es256_verify", counts.es256_verifies},
                {"csr_p256_verify", counts.csr_p256_verifies},
                {"issue_sign", counts.issue_signs},
                {"p384_leaf_verify", counts.p384_leaf_verifies},
                {"csr_p384_verify", counts.csr_p384_verifies}}}};
}

Result<CryptoFloor> CryptoFloor::from_json(const Json& j) {
  const auto malformed = [](const std::string& why) {
    return Error::make("malformed", "load result: cpu.floor: " + why);
  };
  if (!j.is_object() || !j.contains("timings_us") || !j["timings_us"].is_object() ||
      !j.contains("counts") || !j["counts"].is_object())
    return malformed("needs \"timings_us\" and \"counts\" objects");
  CryptoFloor f;
  const Json& t = j["timings_us"];
  const Json& c = j["counts"];
  const std::pair<double*, const char*> times[] = {
      {&f.timings.es256_verify_us, "es256_verify"},
      {&f.timings.csr_p256_verify_us, "csr_p256_verify"},
      {&f.timings.issue_sign_us, "issue_sign"},
      {&f.timings.p384_leaf_verify_us, "p384_leaf_verify"},
      {&f.timings.csr_p384_verify_us, "csr_p384_verify"}};
  for (const auto& [field, key] : times) {
    if (!t.contains(key) || !t[key].is_number() || t[key].get<double>() < 0)
      return malformed(std::string("timings_us.") + key + " must be a non-negative number");
    *field = t[key].get<double>();
  }
  f.timings.iterations = t.value("iterations", 0);
  const std::pair<int*, const char*> numbers[] = {
      {&f.counts.es256_verifies, "es256_verify"},
      {&f.counts.csr_p256_verifies, "csr_p256_verify"},
      {&f.counts.issue_signs, "issue_sign"},
      {&f.counts.p384_leaf_verifies, "p384_leaf_verify"},
      {&f.counts.csr_p384_verifies, "csr_p384_verify"}};
  for (const auto& [field, key] : numbers) {
    if (!c.contains(key) || !c[key].is_number_integer() || c[key].get<std::int64_t>() < 0 ||
        c[key].get<std::int64_t>() > 1000)
      return malformed(std::string("counts.") + key + " must be a small non-negative integer");
    *field = c[key].get<int>();
  }
  return f;
}

std::optional<CryptoCounts> crypto_counts_for(const std::string& flow, bool pooled_accounts) {
  CryptoCounts c;
  c.issue_signs = 1;
  if (flow == "plain") {
    c.es256_verifies = pooled_accounts ? 5 : 6;
    c.csr_p256_verifies = 1;
  } else if (flow == "renewal") {
    c.es256_verifies = 4;
    c.csr_p256_verifies = 1;
  } else if (flow == "device" || flow == "mix") {
    c.es256_verifies = 6;
    c.p384_leaf_verifies = 1;
    c.csr_p384_verifies = 1;
  } else {
    return std::nullopt;
  }
  return c;
}

Result<CryptoTimings> measure_crypto_timings(int iterations) {
  iterations = std::clamp(iterations, 1, 100000);
  auto p256 = pki::PrivateKey::generate(pki::KeySpec::p256());
  auto p384 = pki::PrivateKey::generate(pki::KeySpec::p384());
  if (!p256 || !p384) return failed("cannot make keys");
  bench::FetchedDigest sha256("SHA256");
  bench::FetchedDigest sha384("SHA384");
  if (!sha256.valid() || !sha384.valid()) return failed("cannot fetch SHA-256/SHA-384");

  // A JWS signing input of a typical ACME POST (protected header + payload, base64url).
  const Bytes jws_input(420, 'e');
  const Bytes jws_signature = bench::raw_digest_sign(p256->get(), sha256.get(), jws_input);
  auto p256_leaf = leaf_issued_by(*p256);
  auto p384_leaf = leaf_issued_by(*p384);
  auto p256_csr = csr_of(*p256);
  auto p384_csr = csr_of(*p384);
  if (jws_signature.empty() || !p256_leaf || !p384_leaf || !p256_csr || !p384_csr)
    return failed("cannot make the signed inputs");
  const bench::SignedPart tbs256 = bench::signed_part_of(*p256_leaf);
  const bench::SignedPart tbs384 = bench::signed_part_of(*p384_leaf);
  const pki::PublicKey p256_public = p256->public_key();
  const pki::PublicKey p384_public = p384->public_key();
  EVP_PKEY* p256_csr_key = p256_csr->key();
  EVP_PKEY* p384_csr_key = p384_csr->key();
  if (p256_csr_key == nullptr || p384_csr_key == nullptr) return failed("CSR without a key");

  CryptoTimings t;
  t.iterations = iterations;
  bool ok = true;
  t.es256_verify_us = time_op(iterations, ok, [&] {
    return bench::raw_digest_verify(p256_public.get(), sha256.get(), jws_input, jws_signature);
  });
  t.csr_p256_verify_us =
      time_op(iterations, ok, [&] { return bench::raw_csr_verify(p256_csr->get(), p256_csr_key); });
  t.issue_sign_us = time_op(iterations, ok, [&] {
    return !bench::raw_digest_sign(p256->get(), sha256.get(), tbs256.tbs).empty();
  });
  t.p384_leaf_verify_us = time_op(iterations, ok, [&] {
    return bench::raw_digest_verify(p384_public.get(), sha384.get(), tbs384.tbs, tbs384.signature);
  });
  t.csr_p384_verify_us =
      time_op(iterations, ok, [&] { return bench::raw_csr_verify(p384_csr->get(), p384_csr_key); });
  // The server checks P-384 signatures with Nettle (core/pki_p384.cpp), cheaper than OpenSSL
  // 3.0 here: each P-384 floor is the lower of the two.
  const bench::NettleP384Verifier nettle_leaf(p384_public, tbs384.signature);
  const bench::SignedPart csr384 = bench::signed_part_of(*p384_csr);
  const bench::NettleP384Verifier nettle_csr(p384_csr->public_key(), csr384.signature);
  if (!nettle_leaf.valid() || !nettle_csr.valid()) return failed("cannot decode for Nettle");
  t.p384_leaf_verify_us = std::min(t.p384_leaf_verify_us, time_op(iterations, ok, [&] {
                                     return nettle_leaf.verify(sha384.get(), tbs384.tbs);
                                   }));
  t.csr_p384_verify_us = std::min(t.csr_p384_verify_us, time_op(iterations, ok, [&] {
                                    return nettle_csr.verify(sha384.get(), csr384.tbs);
                                  }));
  if (!ok) return failed("an operation failed while timed");
  return t;
}

}  // namespace attestlab::load

// Chain verification against an explicit set of trust anchors.
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "core/pki_internal.h"

namespace attestlab::pki {

// Only `roots` are trusted; partial chains (ending at an intermediate) are refused because
// X509_V_FLAG_PARTIAL_CHAIN stays off unless the caller asks for Anchors::AsGiven. Unknown
// *critical* extensions still fail as RFC 5280 requires; Apple's attestation OIDs are
// non-critical and pass.
Result<void> verify_chain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                          const std::vector<Certificate>& roots, std::int64_t at,
                          Anchors anchors) {
  if (!leaf.valid()) return Error::make("unauthorized", "no leaf certificate");
  if (roots.empty()) return Error::make("unauthorized", "no trust anchors configured");
  // OpenSSL verifies with the keys it decoded itself: certificates parsed without that
  // (Certificate::from_der_lean) are parsed again.
  const auto lean = [](const Certificate& c) { return c.lean(); };
  if (leaf.lean() || std::any_of(intermediates.begin(), intermediates.end(), lean) ||
      std::any_of(roots.begin(), roots.end(), lean)) {
    const auto full = [](const Certificate& c) {
      if (!c.lean()) return c;
      auto parsed = Certificate::from_der(c.to_der());
      return parsed.ok() ? std::move(*parsed) : Certificate();
    };
    std::vector<Certificate> full_intermediates, full_roots;
    for (const auto& c : intermediates) full_intermediates.push_back(full(c));
    for (const auto& c : roots) full_roots.push_back(full(c));
    return verify_chain(full(leaf), full_intermediates, full_roots, at, anchors);
  }

  ossl::StorePtr store(X509_STORE_new());
  if (!store) return Error::make("serverInternal", "allocating X509_STORE");
  for (const auto& root : roots) {
    if (!root.valid() || X509_STORE_add_cert(store.get(), root.get()) != 1)
      return Error::make("serverInternal", "adding trust anchor: " + ossl::last_error());
  }

  // The stack borrows the certificates; the Certificates keep them alive.
  auto free_stack = [](STACK_OF(X509) * s) { sk_X509_free(s); };
  std::unique_ptr<STACK_OF(X509), decltype(free_stack)> untrusted(sk_X509_new_null(), free_stack);
  if (!untrusted) return Error::make("serverInternal", "allocating certificate stack");
  for (const auto& cert : intermediates) {
    if (!cert.valid()) continue;
    if (sk_X509_push(untrusted.get(), cert.get()) <= 0)
      return Error::make("serverInternal", "building certificate stack");
  }

  ossl::StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1)
    return Error::make("serverInternal", "initialising verification: " + ossl::last_error());
  if (anchors == Anchors::AsGiven)
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_PARTIAL_CHAIN);
  if (at != 0)
    X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at));  // sets USE_CHECK_TIME

  if (X509_verify_cert(ctx.get()) == 1) return ok();
  const int err = X509_STORE_CTX_get_error(ctx.get());
  std::string reason = err != X509_V_OK ? X509_verify_cert_error_string(err) : ossl::last_error();
  ossl::last_error();
  return Error::make("unauthorized", reason);
}

namespace {

Error verify_error(int code) {
  return Error::make("unauthorized", X509_verify_cert_error_string(code));
}

bool has_extension(X509* cert, int nid) {
  return X509_get_ext_by_NID(cert, nid, -1) >= 0;
}

// The key is an EC key on a named curve (OpenSSL's chain check refuses explicit parameters).
bool named_curve_key(X509* cert) {
  X509_ALGOR* alg = nullptr;
  if (X509_PUBKEY_get0_param(nullptr, nullptr, nullptr, &alg, X509_get_X509_PUBKEY(cert)) != 1 ||
      alg == nullptr) {
    return false;
  }
  const ASN1_OBJECT* algorithm = nullptr;
  int param_type = V_ASN1_UNDEF;
  X509_ALGOR_get0(&algorithm, &param_type, nullptr, alg);
  return OBJ_obj2nid(algorithm) == NID_X9_62_id_ecPublicKey && param_type == V_ASN1_OBJECT;
}

// What this function decides the way OpenSSL's chain check does; anything else is left to it.
bool decidable_here(const Certificate& leaf, const Certificate& issuer) {
  if (issuer.lean() || !leaf.public_key().valid() || !issuer.public_key().valid()) return false;
  X509* l = leaf.get();
  X509* i = issuer.get();
  constexpr std::uint32_t kOwn = EXFLAG_INVALID | EXFLAG_PROXY | EXFLAG_INVALID_POLICY | EXFLAG_SI;
  if ((X509_get_extension_flags(l) & kOwn) != 0) return false;
  if ((X509_get_extension_flags(i) & (EXFLAG_INVALID | EXFLAG_PROXY | EXFLAG_INVALID_POLICY)) != 0)
    return false;
  for (int nid : {NID_name_constraints, NID_policy_constraints, NID_policy_mappings,
                  NID_inhibit_any_policy, NID_sbgp_ipAddrBlock, NID_sbgp_autonomousSysNum}) {
    if (has_extension(i, nid) || has_extension(l, nid)) return false;
  }
  return named_curve_key(l) && named_curve_key(i);
}

// X509_cmp_time's reading of the validity at `at`, as OpenSSL's chain check reports it.
Result<void> check_time(X509* cert, std::int64_t at) {
  std::time_t t = static_cast<std::time_t>(at);
  const int before = X509_cmp_time(X509_get0_notBefore(cert), &t);
  if (before == 0) return verify_error(X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD);
  if (before > 0) return verify_error(X509_V_ERR_CERT_NOT_YET_VALID);
  const int after = X509_cmp_time(X509_get0_notAfter(cert), &t);
  if (after == 0) return verify_error(X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD);
  if (after < 0) return verify_error(X509_V_ERR_CERT_HAS_EXPIRED);
  return ok();
}

// The leaf's ECDSA signature over its TBSCertificate, read from the DER; nullopt when the
// signature is not ECDSA with SHA-2 and without parameters (left to OpenSSL).
std::optional<bool> ecdsa_signature_holds(const Certificate& leaf, const PublicKey& issuer_key) {
  const X509_ALGOR* outer = nullptr;
  X509_get0_signature(nullptr, &outer, leaf.get());
  const auto digest = detail::ecdsa_sha2_digest(X509_get_signature_nid(leaf.get()), outer);
  if (!digest) return std::nullopt;
  // X509_verify refuses a certificate whose two signature algorithms differ.
  if (X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(leaf.get())) != 0) return false;
  return detail::signature_over_tbs_holds(leaf.to_der(), *digest, issuer_key);
}

}  // namespace

Result<void> verify_issued_by(const Certificate& leaf, const Certificate& issuer, std::int64_t at) {
  if (!leaf.valid()) return Error::make("unauthorized", "no leaf certificate");
  if (!issuer.valid()) return Error::make("unauthorized", "no trust anchors configured");
  if (!decidable_here(leaf, issuer)) return verify_chain(leaf, {}, {issuer}, at, Anchors::AsGiven);
  if (at == 0) at = static_cast<std::int64_t>(std::time(nullptr));

  // Building the chain: the issuer's subject, key identifier and signature algorithm. Its key
  // usage is X509_check_issued's last check, and OpenSSL's chain check reports it only when
  // it comes to the signature.
  const int issued = X509_check_issued(issuer.get(), leaf.get());
  ossl::last_error();
  if (issued != X509_V_OK && issued != X509_V_ERR_KEYUSAGE_NO_CERTSIGN)
    return verify_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  // The chain's extensions, leaf first.
  if ((X509_get_extension_flags(leaf.get()) & EXFLAG_CRITICAL) != 0)
    return verify_error(X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION);
  if ((X509_get_extension_flags(issuer.get()) & EXFLAG_CRITICAL) != 0)
    return verify_error(X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION);
  if (X509_check_ca(issuer.get()) == 0) return verify_error(X509_V_ERR_INVALID_CA);
  // Signatures and times, from the anchor down.
  ATTESTLAB_TRY(check_time(issuer.get(), at));
  if (issued != X509_V_OK) return verify_error(issued);
  auto holds = ecdsa_signature_holds(leaf, issuer.public_key());
  if (!holds) return verify_chain(leaf, {}, {issuer}, at, Anchors::AsGiven);
  if (!*holds) return verify_error(X509_V_ERR_CERT_SIGNATURE_FAILURE);
  return check_time(leaf.get(), at);
}

}  // namespace attestlab::pki

// Chain verification against an explicit set of trust anchors.
#include <openssl/x509_vfy.h>

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

}  // namespace attestlab::pki

// The RFC 8555 flows of the load generator, for DNS identifiers validated with http-01 or
// dns-01 through the harness's responder / fake DNS:
//
//   plain    directory, nonce, [account], order, challenge, validation, finalize,
//            download. A new account (fresh P-256 key) per enrollment, or, with a pool,
//            one of `accounts` accounts made before the clock starts. Every enrollment
//            orders a name of its own.
//   renewal  the storm after a mass expiry: `accounts` accounts, each with one name that
//            got a certificate before the clock started, re-order that name. Authorizations
//            the target reuses are not validated again. With `ari` (RFC 9773) each renewal
//            first asks renewalInfo for the account's current certificate and orders with
//            "replaces" naming it; renewals of one account then run one at a time (a
//            certificate is replaced once).
//
// The certificate key and CSR (P-256) are made inside the enrollment.
#pragma once

#include <memory>
#include <string>

#include "bench/load/acme_steps.h"
#include "bench/load/flow.h"
#include "core/result.h"

namespace attestlab::load {

struct PlainFlowOptions {
  bool renewal = false;
  bool ari = false;  // renewal only
  // plain: 0 = a new account per enrollment, else a pool of this many. renewal: the
  // number of accounts (each with its name); at least 1.
  int accounts = 0;
  // Threads that make the pool (and prime renewal names) before the clock starts.
  int setup_threads = 4;
};

// Makes the accounts (and, for renewal, the first certificates) the flow needs; errors
// name what the target refused. target must outlive the flow.
Result<std::unique_ptr<Flow>> make_plain_flow(const FlowTarget& target,
                                              const PlainFlowOptions& options);

}  // namespace attestlab::load

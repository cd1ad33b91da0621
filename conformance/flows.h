// The RFC 8555 flows cases build on: answering http-01 / dns-01, getting an order to
// "ready", issuing a certificate. Each helper ends the case with an error verdict when a
// step the case does not test fails (CaseAbort), so a case reads as its requirement.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "conformance/context.h"
#include "core/pki.h"
#include "sim/acme_client.h"
#include "sim/acme_types.h"

namespace attestlab::conformance {

// The challenge type the harness uses for ordinary validation: http-01 when the target
// has it, else dns-01 (capability "validation" guarantees one of them).
std::string validation_type(const CaseContext& ctx);

// Serves the right answer for one challenge (http-01: key authorization on the
// responder; dns-01: TXT record) without telling the server.
void provision_challenge(CaseContext& ctx, const sim::AcmeClient& c,
                         const sim::Authorization& authz, const sim::Challenge& challenge);
// Serves a deliberately wrong answer (a key authorization for another account key).
void provision_wrong_answer(CaseContext& ctx, const sim::Authorization& authz,
                            const sim::Challenge& challenge);

// Provisions, responds and polls the authorization until it leaves "pending". Returns
// the final authorization (whatever its status).
sim::Authorization validate_authz(CaseContext& ctx, sim::AcmeClient& c,
                                  const std::string& authz_url, const std::string& type = "");

// newOrder for identifiers (one fresh DNS name when empty).
sim::Order create_order(CaseContext& ctx, sim::AcmeClient& c,
                        std::vector<sim::Identifier> identifiers = {});
// create_order + validate every authorization + poll until the order is "ready".
sim::Order ready_order(CaseContext& ctx, sim::AcmeClient& c,
                       std::vector<sim::Identifier> identifiers = {});

// A CSR naming the identifiers (dns → dNSName, ip → iPAddress), CN = first DNS name.
pki::Csr csr_for(const std::vector<sim::Identifier>& identifiers, const pki::PrivateKey& key);

struct Issued {
  sim::Order order;             // "valid", with certificate
  pki::PrivateKey key;          // the certificate key
  sim::CertificateChain chain;  // as downloaded
  pki::Certificate leaf;
};
// ready_order + finalize with a fresh P-256 key + poll + download.
Issued issue_certificate(CaseContext& ctx, sim::AcmeClient& c,
                         std::vector<sim::Identifier> identifiers = {});

// Polls the order until its status is not "pending"/"processing" (aborting on errors and
// when the case deadline passes). Waits Retry-After (capped at timing.max_retry_after) or
// timing.poll_interval between polls, in real time.
sim::Order settle_order(CaseContext& ctx, sim::AcmeClient& c, const std::string& order_url);
// Same for an authorization, until its status is not "pending".
sim::Authorization settle_authz(CaseContext& ctx, sim::AcmeClient& c, const std::string& authz_url);

// POST-as-GET of any resource, badNonce retries included; aborts on transport errors.
http::Response fetch(sim::AcmeClient& c, const std::string& url);
// The JSON object a successful fetch returned; aborts (error) otherwise.
Json fetch_json(sim::AcmeClient& c, const std::string& url, const std::string& what);

sim::Identifier dns_id(const std::string& name);

}  // namespace attestlab::conformance

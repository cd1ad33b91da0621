// The RFC 8555 flows cases build on: answering http-01 / dns-01, getting an order to
// "ready", issuing a certificate. Each helper ends the case with an error verdict when a
// step the case does not test fails (CaseAbort), so a case reads as its requirement.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_client.h"
#include "client/acme_types.h"
#include "conformance/context.h"
#include "core/pki.h"

namespace attestlab::conformance {

// The challenge type the harness uses for ordinary validation: http-01 when the target
// has it, else dns-01 (capability "validation" guarantees one of them).
std::string validation_type(const CaseContext& ctx);

// Serves the right answer for one challenge (http-01: key authorization on the
// responder; dns-01: TXT record) without telling the server.
void provision_challenge(CaseContext& ctx, const client::AcmeClient& c,
                         const client::Authorization& authz, const client::Challenge& challenge);
// Serves a deliberately wrong answer (a key authorization for another account key).
void provision_wrong_answer(CaseContext& ctx, const client::Authorization& authz,
                            const client::Challenge& challenge);

// Provisions, responds and polls the authorization until it leaves "pending". Returns
// the final authorization (whatever its status).
client::Authorization validate_authz(CaseContext& ctx, client::AcmeClient& c,
                                     const std::string& authz_url, const std::string& type = "");

// The server's order lists at least one identifier and one authorization (RFC 8555
// §7.1.3: both are required, and a newOrder names at least one identifier); otherwise
// ends the case with an error, so no case indexes an empty list a server sent. Returns
// order.
const client::Order& need_listed(const client::Order& order);

// newOrder for identifiers (one fresh DNS name when empty); need_listed on the answer.
client::Order create_order(CaseContext& ctx, client::AcmeClient& c,
                           std::vector<client::Identifier> identifiers = {});
// create_order + validate every authorization + poll until the order is "ready" (and
// need_listed on that).
client::Order ready_order(CaseContext& ctx, client::AcmeClient& c,
                          std::vector<client::Identifier> identifiers = {});

// A CSR naming the identifiers (dns → dNSName, ip → iPAddress), CN = first DNS name.
pki::Csr csr_for(const std::vector<client::Identifier>& identifiers, const pki::PrivateKey& key);

struct Finalized {
  client::Order order;  // "valid", with certificate
  pki::PrivateKey key;  // the certificate key
};
// ready_order + finalize with a fresh P-256 key + poll until "valid" with a certificate URL
// (the certificate is not downloaded).
Finalized finalized_order(CaseContext& ctx, client::AcmeClient& c,
                          std::vector<client::Identifier> identifiers = {});

struct Issued {
  client::Order order;             // "valid", with certificate
  pki::PrivateKey key;             // the certificate key
  client::CertificateChain chain;  // as downloaded
  pki::Certificate leaf;
};
// finalized_order + download (the client refuses a chain that is not strict PEM, RFC 8555
// §9.1: the case then ends in error; rfc8555-9.1-certificate-strict-pem judges it).
Issued issue_certificate(CaseContext& ctx, client::AcmeClient& c,
                         std::vector<client::Identifier> identifiers = {});

// Polls the order until its status is not "pending"/"processing" (aborting on errors and
// when the case deadline passes). Waits Retry-After (capped at timing.max_retry_after) or
// timing.poll_interval between polls, in real time.
client::Order settle_order(CaseContext& ctx, client::AcmeClient& c, const std::string& order_url);
// Same for an authorization, until its status is not "pending".
client::Authorization settle_authz(CaseContext& ctx, client::AcmeClient& c,
                                   const std::string& authz_url);

// POST-as-GET of any resource, badNonce retries included; aborts on transport errors.
http::Response fetch(client::AcmeClient& c, const std::string& url);
// The JSON object a successful fetch returned; aborts (error) otherwise.
Json fetch_json(client::AcmeClient& c, const std::string& url, const std::string& what);
// The URL of the order a newOrder response created: its one Location field resolved
// against the directory's newOrder URL (client::location_url); aborts (error) otherwise.
std::string new_order_location(client::AcmeClient& c, const http::Response& r);

client::Identifier dns_id(const std::string& name);

}  // namespace attestlab::conformance

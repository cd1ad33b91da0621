// The ACME steps the load flows share (RFC 8555 §7.1–§7.4), each timed as its Step on the
// EnrollmentContext, and the target they run against.
//
// Errors: what client::AcmeClient returns (the server's problem type and status, or its
// own "connection" / "timeout" / "unexpectedResponse"); Error(kErrorInterrupted) when the
// run stopped while a step waited.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/load/flow.h"
#include "client/acme_client.h"
#include "client/fake_dns.h"
#include "client/http01_responder.h"
#include "core/bytes.h"
#include "core/result.h"
#include "sim/device/apple_ca.h"

namespace attestlab::load {

// Everything a flow needs to reach and satisfy the target. The pointed-to services are
// not owned and outlive the run.
struct FlowTarget {
  std::vector<std::string> urls;                      // directory URLs of one service (round-robin)
  client::AcmeClientOptions client;                   // TLS trust, HTTP timeout, badNonce retries
  std::string challenge;                              // plain/renewal: "http-01" | "dns-01"
  client::Http01Responder* http01 = nullptr;          // http-01: where the target fetches answers
  std::optional<client::DnsTxtClient> dns;            // dns-01: the fake DNS's management API
  std::string dns_suffix = "load.example";            // identifiers are labels under it
  std::optional<client::ExternalAccountBinding> eab;  // for every new account
  std::shared_ptr<const sim::AppleCa> apple_ca;       // device and mix flows
  std::string run_id;  // makes identifiers unique to this run (and shard)

  // Polling (authorization, order): a pause of poll_interval between polls; a
  // Retry-After the target sends is waited for only up to poll_interval unless
  // honor_retry_after. A poll gives up after poll_timeout.
  std::chrono::milliseconds poll_interval{50};
  bool honor_retry_after = false;
  std::chrono::milliseconds poll_timeout{30000};
};

// The pause before the next poll after c's last response: poll_interval, or (when
// t.honor_retry_after) the target's Retry-After if longer; never past deadline (so
// 0 once it has passed), whatever date the target named.
std::chrono::milliseconds poll_pause(const client::AcmeClient& c, const FlowTarget& t,
                                     std::chrono::steady_clock::time_point deadline);

// One worker's clients: one AcmeClient per target URL, recording into the worker's log.
class TargetClients {
 public:
  TargetClients(const FlowTarget& target, client::WireLog* log);
  // The client for enrollment k (URL k mod n).
  client::AcmeClient& for_enrollment(std::uint64_t k);
  std::size_t url_index(std::uint64_t k) const { return k % clients_.size(); }
  ClientCounters counters() const;
  std::uint64_t& polls() { return polls_; }

 private:
  std::vector<std::unique_ptr<client::AcmeClient>> clients_;
  std::uint64_t polls_ = 0;
};

// The outcome of a step that failed with e (Interrupted for kErrorInterrupted).
EnrollmentOutcome step_failed(EnrollmentContext& ctx, const Error& e);

// Step Directory (GET the directory, as a fresh client does) and step Nonce (HEAD
// newNonce with an empty nonce cache).
Result<client::Directory> directory_and_nonce(client::AcmeClient& c, EnrollmentContext& ctx);

// Polls until the authorization / order leaves the given waiting statuses.
Result<client::Authorization> wait_authz(client::AcmeClient& c, const std::string& url,
                                         const FlowTarget& t, EnrollmentContext& ctx,
                                         std::uint64_t& polls);
Result<client::Order> wait_order(client::AcmeClient& c, const std::string& url,
                                 const std::vector<std::string>& waiting, const FlowTarget& t,
                                 EnrollmentContext& ctx, std::uint64_t& polls);

// Step Validation after the challenge was answered with `answered`: done when that response
// is already decided (one valid challenge makes the authorization valid, RFC 8555 §7.1.6;
// as lego treats it), else poll the authorization until decided. An outcome other than
// valid is an error carrying the challenge's problem.
Result<void> await_validation(client::AcmeClient& c, const client::Challenge& answered,
                              const std::string& authz_url, const FlowTarget& t,
                              EnrollmentContext& ctx, std::uint64_t& polls);

// Steps Challenge and Validation for one authorization of a DNS identifier: nothing when
// it is already valid (reused); else publish the http-01 / dns-01 answer, POST the
// challenge, poll until decided, withdraw the answer. A challenge that ends invalid is an
// error carrying the challenge's problem.
Result<void> validate_dns_authz(client::AcmeClient& c, const std::string& authz_url,
                                const FlowTarget& t, EnrollmentContext& ctx, std::uint64_t& polls);

// Steps Finalize (finalize; on orderNotReady wait until ready and finalize again; poll
// until valid) and Download. Returns the PEM chain.
Result<std::string> finalize_and_download(client::AcmeClient& c, const client::Order& order,
                                          const Bytes& csr_der, const FlowTarget& t,
                                          EnrollmentContext& ctx, std::uint64_t& polls);

// An Error for a challenge or order that ended in a state other than the one hoped for:
// its problem document when it has one, else unexpectedResponse naming the state.
Error state_error(const std::string& what, const std::string& status,
                  const std::optional<Json>& problem);

}  // namespace attestlab::load

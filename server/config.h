// Everything `attestlab serve` can be told. Defaults are the embedded, single-process
// set-up. Filled by cli/serve_cmd.cpp, consumed by AcmeServer and the validators.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace attestlab::server {

// Quotas per hour (0 = off); see server/acme/rate_limits.h. The defaults stop a runaway
// client, not `attestlab load` on one machine.
struct RateLimits {
  int new_orders_per_account_per_hour = 100000;
  int new_orders_per_identifier_per_hour = 10000;  // device identifiers
  int new_accounts_per_ip_per_hour = 10000;
  int failed_validations_per_account_per_hour = 10000;
  // Authorizations of one account still pending at once (in the store, so it holds across
  // processes); a newOrder that would exceed it is refused until some are settled.
  int pending_authorizations_per_account = 10000;
};

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 14000;  // 0 = any free port
  std::string data_dir = "./attestlab-data";
  std::string tls_cert_file;          // empty: self-signed, written to DATA_DIR/tls/cert.pem
  std::string tls_key_file;
  std::string store_spec;             // empty: sqlite:DATA_DIR/attestlab.db
  int io_threads = 2;
  // Open connections in all, and per client address (so one client cannot fill the server).
  int max_connections = 1024;
  int max_connections_per_ip = 256;
  // A connection that waited longer than this in the listen queue is refused at accept
  // with a reset (http::ServerOptions::max_accept_wait; 0 = never).
  std::chrono::milliseconds max_accept_wait{1000};
  // Connections owing an answer at which new connections are refused at accept with a
  // reset (http::ServerOptions::max_busy_connections; 0 = no bound).
  int max_busy_connections = 0;
  int validation_threads = 4;
  // Challenge validations waiting for a worker; beyond this, answers are rateLimited.
  int validation_queue_limit = 10000;

  // Validation of http-01 / dns-01.
  std::string dns_server;             // HOST:PORT resolver; empty = system resolver
  std::uint16_t http01_port = 80;     // port the http-01 validator connects to
  // Networks (CIDR) http-01 validation never connects to; empty = none, so loopback
  // tests work. Production: deny loopback, link-local and the operator's internal nets.
  std::vector<std::string> validation_deny;

  // Accounts.
  bool eab_required = false;
  std::string eab_keys_file;          // JSON {"kid": "base64url HMAC key", ...}
  std::string terms_of_service = "https://attestlab.invalid/terms";

  // Lifetimes (seconds) and issuance.
  std::int64_t order_lifetime = 24 * 3600;
  std::int64_t authz_lifetime = 24 * 3600;
  std::int64_t nonce_lifetime = 3600;
  std::int64_t cert_validity = 90 * 24 * 3600;
  // A newOrder "notBefore" more than this far before or after now is refused (malformed):
  // no back- or forward-dating certificates by years.
  std::int64_t not_before_window = 24 * 3600;
  std::vector<std::string> cert_ekus = {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"};
  int retry_after_seconds = 1;
  // An http-01 / dns-01 challenge response waits up to this long for its validation (which
  // runs on a worker; the I/O thread does not wait) and answers with the outcome when it
  // came in time, else with "processing" as before: a client then need not poll (lego, for
  // one, stops at a "valid" challenge response). 0: answer "processing" at once.
  std::chrono::milliseconds challenge_answer_wait{100};
  // Every this often, memory the allocator keeps free beyond 1 MiB is given back to the
  // system (server/acme/heap_trim.h): resident memory then follows live memory rather than
  // the busiest moment so far. 0: never.
  std::chrono::milliseconds heap_trim_interval{10000};
  // Orders per page of an account's orders list (RFC 8555 §7.1.2.1, Link rel="next").
  int orders_page_size = 100;
  // OIDs (permanent-identifier assigner, hardware-module hw-type) the operator vouches for:
  // only these are copied from an order into a leaf's SANs. Empty: none (a client-chosen
  // assigner is dropped, a hardware-module is named by its serial in the CN only).
  std::vector<std::string> vouched_device_oids;

  // Device attestation (device-attest-01).
  std::string attestation_roots_file;  // PEM bundle; empty = fixtures' Apple root
  std::string inventory_file;          // JSON array; empty = no inventory check
  std::string policy_file;             // JSON; empty = defaults ("limits" member: quotas)
  RateLimits limits;                   // overridden by the policy file's "limits"
  std::string decision_log_file;       // JSON lines; empty = DATA_DIR/decisions.jsonl
};

}  // namespace attestlab::server

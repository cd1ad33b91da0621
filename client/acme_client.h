// The ACME client (RFC 8555) the whole harness uses: the simulated device, the scenario
// engine, the conformance suite (which also sends deliberately broken requests through
// post_raw) and the load generator. It talks to any ACME server over the wire and never
// knows whose it is.
//
// Threads: one AcmeClient is used from one thread at a time (it owns one http::Client
// and a nonce cache). Many clients may share one WireLog. Construction does no I/O and
// allocates little; the HTTP connection is made on first use. Copying is deleted.
//
// Errors (Result<...>.error()):
//   - the server answered with a problem document: Error.type = the ACME short name
//     ("badNonce", "malformed", "accountDoesNotExist", ...; non-ACME problem types are
//     kept whole), detail = its detail, status = the HTTP status. last_problem() has the
//     whole document (subproblems, identifier), last_response() the whole response.
//   - the server broke the protocol (error status without a problem document, JSON that
//     does not parse, a missing or repeated Location, a chain that is not strict PEM, ...):
//     kErrorUnexpectedResponse, status set. A relative Location (or Link) is resolved
//     against the request URL (client/url_reference.h).
//   - transport: Error("connection", ...) from http::Client, status 0.
//   - caller misuse (no account yet, no directory URL): kErrorClientUsage.
//   - a poll deadline passed: kErrorTimeout.
//
// Nonces (RFC 8555 §6.5, §7.2): every response's Replay-Nonce is cached and consumed by
// the next signed request; newNonce is fetched (HEAD) only when the cache is empty. A
// badNonce answer is retried with the nonce from that error response, up to
// AcmeClientOptions::bad_nonce_retries times; every attempt is a separate WireLog entry
// (note "retry i/n after badNonce") and counted in stats().bad_nonce_retries.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_signer.h"
#include "client/acme_types.h"
#include "client/wire_log.h"
#include "core/bytes.h"
#include "core/http.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"

namespace attestlab::client {

struct AcmeClientOptions {
  std::string trust_ca_pem_file;  // PEM bundle trusted for the server's TLS; empty = system
  bool verify_tls = true;
  std::chrono::milliseconds timeout{10000};  // one HTTP exchange (connect included)
  // How often a badNonce answer is retried (RFC 8555 §6.5 says a client should retry;
  // servers such as Pebble reject a share of valid nonces on purpose). 0 disables.
  int bad_nonce_retries = 3;
  // Poll pacing when the server sends no Retry-After; a Retry-After is honored as given,
  // bounded only by the poll deadline.
  std::chrono::milliseconds poll_interval{250};
  // Default deadline of poll_authz/poll_order.
  std::chrono::milliseconds poll_timeout{60000};
  // How the client waits between polls. Empty = std::this_thread::sleep_for. Scenarios
  // running in virtual time may plug in their own. Returns the time it really waited
  // (or advanced a virtual clock), which may be less than asked (a hook that caps long
  // Retry-After waits): the poll deadline counts what it returns, not what was asked.
  std::function<std::chrono::milliseconds(std::chrono::milliseconds)> sleep;
  std::string user_agent = "attestlab-sim/0.1";
  std::string log_label;  // copied into every WireExchange this client records
  // Test-only transport override: connect here instead of the URL's host/port.
  std::string connect_host;
  std::uint16_t connect_port = 0;
};

struct AcmeClientStats {
  std::uint64_t requests = 0;           // HTTP exchanges attempted (all methods, all retries)
  std::uint64_t bad_nonce_retries = 0;  // signed requests re-sent after badNonce
  std::uint64_t nonce_fetches = 0;      // newNonce requests (cache was empty)
  std::uint64_t polls = 0;              // POST-as-GET requests made by poll_*
};

struct ExternalAccountBinding {  // RFC 8555 §7.3.4
  std::string kid;               // key identifier the CA issued
  Bytes mac_key;                 // the MAC key (decoded; CAs usually hand it out base64url)
};

struct NewAccountRequest {
  std::vector<std::string> contact;  // e.g. "mailto:admin@example.com"; empty = omitted
  std::optional<bool> terms_of_service_agreed = true;  // nullopt = member omitted
  bool only_return_existing = false;
  std::optional<ExternalAccountBinding> eab;
};

struct NewOrderRequest {
  std::vector<Identifier> identifiers;
  std::optional<std::string> not_before;  // RFC 3339
  std::optional<std::string> not_after;
  std::optional<std::string> profile;   // draft-ietf-acme-profiles
  std::optional<std::string> replaces;  // RFC 9773 §5: ari::cert_id of the predecessor
};

// Knobs for post_raw: each one breaks (or bends) exactly one thing about the request.
struct RawPostOptions {
  // Sign with this key instead of the account key. With a signer set, the header
  // carries "jwk" (not "kid") unless use_kid is set.
  std::shared_ptr<const JwsSigner> signer;
  bool use_kid = false;                      // with signer: still send the account URL as "kid"
  bool use_jwk_instead_of_kid = false;       // account key, but identified by "jwk"
  bool include_jwk_and_kid = false;          // both members (RFC 8555 §6.2 forbids)
  bool omit_nonce = false;                   // no "nonce" member
  bool reuse_nonce = false;                  // the nonce of the previous signed request
  std::optional<std::string> nonce;          // this nonce verbatim
  std::optional<std::string> header_url;     // "url" member differs from the request URL
  std::optional<std::string> alg;            // "alg" member (signature still by the signer,
                                             // or empty when alg is "none")
  std::optional<std::string> content_type;   // instead of application/jose+json
  bool corrupt_signature = false;            // flip one bit of the signature
  std::optional<std::string> signature_b64;  // replace the signature entirely
  std::optional<std::string> raw_body;       // send this body verbatim; no JWS at all
  http::Headers extra_headers;
};

class AcmeClient {
 public:
  // log (optional, not owned) must outlive the client or be reset with set_wire_log.
  explicit AcmeClient(std::string directory_url, AcmeClientOptions options = {},
                      WireLog* log = nullptr);
  ~AcmeClient();
  AcmeClient(const AcmeClient&) = delete;
  AcmeClient& operator=(const AcmeClient&) = delete;
  AcmeClient(AcmeClient&&) noexcept;
  AcmeClient& operator=(AcmeClient&&) noexcept;

  const std::string& directory_url() const { return directory_url_; }
  void set_wire_log(WireLog* log) { log_ = log; }
  // 0 disables badNonce retries for every call (post_raw never retries anyway).
  void set_bad_nonce_retries(int n) { options_.bad_nonce_retries = n; }

  // --- directory and nonces -------------------------------------------------------------

  // GET the directory once and cache it; refresh = fetch again.
  Result<Directory> directory(bool refresh = false);
  // Uses a directory fetched elsewhere (load generator: thousands of clients, one GET).
  void set_directory(Directory dir) { directory_ = std::move(dir); }
  // HEAD newNonce and return its Replay-Nonce. The nonce is NOT cached: it belongs to
  // the caller (e.g. to send it twice through post_raw). A value that is not one field
  // of 1*base64url is refused (kErrorUnexpectedResponse); head() shows it raw.
  Result<std::string> new_nonce();
  // The cached nonce the next signed request would use, if any.
  const std::optional<std::string>& cached_nonce() const { return nonce_; }
  void drop_cached_nonce() { nonce_.reset(); }

  // --- accounts ---------------------------------------------------------------------------

  // POST newAccount signed with key ("jwk" header). On success the client uses key and
  // the returned account URL for every later request. With only_return_existing and no
  // account: Error("accountDoesNotExist").
  Result<Account> new_account(const pki::PrivateKey& key, const NewAccountRequest& req = {});
  Result<Account> new_account(std::shared_ptr<const JwsSigner> key,
                              const NewAccountRequest& req = {});
  // Adopts a known account without a request (key + its account URL).
  void use_account(std::shared_ptr<const JwsSigner> key, std::string account_url);
  const std::string& account_url() const { return account_url_; }
  const std::shared_ptr<const JwsSigner>& account_key() const { return account_key_; }
  // RFC 7638 thumbprint of the account key; "" without one.
  const std::string& account_thumbprint() const { return account_thumbprint_; }

  // POST-as-GET the account (RFC 8555 §6.3, §7.3). An empty update ({}), which older
  // drafts advised, is refused by Pebble ("Use POST-as-GET to retrieve account data").
  Result<Account> get_account();
  Result<Account> update_account(const std::vector<std::string>& contact);
  Result<Account> deactivate_account();
  // RFC 8555 §7.3.5: the inner JWS is signed by new_key, the outer by the current key.
  // On success the client switches to new_key.
  Result<void> key_change(std::shared_ptr<const JwsSigner> new_key);
  Result<void> key_change(const pki::PrivateKey& new_key);

  // --- orders, authorizations, challenges ---------------------------------------------------

  Result<Order> new_order(const NewOrderRequest& req);
  Result<Order> new_order(const std::vector<Identifier>& identifiers);
  Result<Order> get_order(const std::string& url);  // POST-as-GET
  Result<Authorization> get_authz(const std::string& url);
  Result<Challenge> get_challenge(const std::string& url);
  // payload: {} for http-01/dns-01, {"attObj": "..."} for device-attest-01.
  Result<Challenge> respond_challenge(const std::string& url, const Json& payload = Json::object());
  // POST-as-GET until status is not "pending" (authz) / not "pending" or "processing"
  // (order), sleeping Retry-After (or poll_interval) in between. timeout 0 = the
  // options' poll_timeout; the time AcmeClientOptions::sleep reports it slept counts
  // (or real time, when larger), so the deadline is virtual when the sleep hook is. The
  // final state may be invalid: check .status. A deadline passing gives kErrorTimeout
  // naming the last status.
  Result<Authorization> poll_authz(const std::string& url, std::chrono::milliseconds timeout = {});
  Result<Order> poll_order(const std::string& url, std::chrono::milliseconds timeout = {});
  // POST order.finalize with {"csr": base64url(csr_der)}; the result keeps order.url.
  Result<Order> finalize(const Order& order, const Bytes& csr_der);
  // POST-as-GET the certificate URL, Accept: application/pem-certificate-chain. A body
  // that is not strictly that media type (parse_pem_certificate_chain, client/pem_chain.h:
  // explanatory text, a broken or truncated block) is kErrorUnexpectedResponse naming what
  // was wrong, whatever the Content-Type said.
  Result<CertificateChain> download_certificate(const std::string& url);
  Result<Authorization> deactivate_authz(const std::string& url);

  // ACME Renewal Information (RFC 9773 §4): unauthenticated GET of the directory's
  // renewalInfo URL + "/" + the certificate's identifier. kErrorClientUsage when the
  // directory has no renewalInfo; a problem answer is an Error as everywhere else.
  Result<RenewalInfo> renewal_info(const pki::Certificate& certificate);
  Result<RenewalInfo> renewal_info(const std::string& cert_id);

  // Revocation (RFC 8555 §7.6). reason: RFC 5280 CRLReason code; nullopt = omitted.
  // Signed by the account key ("kid"):
  Result<void> revoke(const Bytes& cert_der, std::optional<int> reason = std::nullopt);
  // Signed by the certificate's own key ("jwk"), e.g. a Secure-Enclave signer:
  Result<void> revoke_with_cert_key(const Bytes& cert_der, std::optional<int> reason,
                                    const JwsSigner& cert_key);

  // Key authorization helpers for the current account key (RFC 8555 §8.1, §8.4).
  std::string key_authorization(const std::string& token) const;
  std::string dns01_txt_value(const std::string& token) const;

  // --- low level ------------------------------------------------------------------------------

  // Signed POST with the account key ("kid"), badNonce retries included; returns the
  // response whatever its status (Error only for transport or signing). payload nullopt
  // = POST-as-GET.
  Result<http::Response> post(const std::string& url, const std::optional<Json>& payload);
  // One POST built as the options say, never retried. The response's Replay-Nonce is
  // still cached. Error only for transport or signing failures (or no key to sign with).
  Result<http::Response> post_raw(const std::string& url,
                                  const Json& protected_overrides = Json::object(),
                                  const std::string& payload = "",
                                  const RawPostOptions& options = {});
  // Plain GET / HEAD (no JWS), recorded in the WireLog; Replay-Nonce cached (when valid).
  // Every request refuses, without sending it, a plain http:// URL when the directory URL
  // is https (a server-supplied downgrade): kErrorUnexpectedResponse.
  Result<http::Response> get(const std::string& url);
  Result<http::Response> head(const std::string& url);

  // The last HTTP response received (any call), and its problem document if it was one.
  const std::optional<http::Response>& last_response() const { return last_response_; }
  const std::optional<Json>& last_problem() const { return last_problem_; }
  const AcmeClientStats& stats() const { return stats_; }

 private:
  enum class KeyId { Kid, Jwk };
  Result<http::Response> exchange(const std::string& method, const std::string& url,
                                  http::Headers headers, const std::string& body,
                                  const std::string& note);
  Result<std::string> take_nonce();
  std::optional<Error> downgrade_error(const std::string& url) const;
  Result<http::Response> signed_post(const std::string& url, const std::string& payload,
                                     const JwsSigner& signer, KeyId key_id,
                                     const http::Headers& extra = {});
  Result<Json> expect_json(const Result<http::Response>& response, int ok_status_min = 200,
                           int ok_status_max = 299);
  Result<void> need_account() const;
  void set_account(std::shared_ptr<const JwsSigner> key, std::string url);
  std::chrono::milliseconds sleep_for(std::chrono::milliseconds d);
  std::chrono::milliseconds retry_delay(const http::Response& r) const;
  // What poll_authz and poll_order share: `get` the url until `done` says the status moved.
  template <class T>
  Result<T> poll(Result<T> (AcmeClient::*get)(const std::string&), const std::string& url,
                 std::chrono::milliseconds timeout, bool (*done)(const T&), const char* what);
  http::Client& http();

  std::string directory_url_;
  AcmeClientOptions options_;
  WireLog* log_ = nullptr;
  std::unique_ptr<http::Client> http_;  // created on first request
  std::optional<Directory> directory_;
  std::optional<std::string> nonce_;
  std::string last_sent_nonce_;
  std::shared_ptr<const JwsSigner> account_key_;
  std::string account_url_;
  std::string account_thumbprint_;
  std::optional<http::Response> last_response_;
  std::optional<Json> last_problem_;
  AcmeClientStats stats_;
};

}  // namespace attestlab::client

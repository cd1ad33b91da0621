// Internals of AcmeServer shared by the acme_*.cpp handlers: the server context, URL
// layout, request authentication and the resource views. Not part of the public API
// (acme_server.h is).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/http.h"
#include "core/jose.h"
#include "server/acme/issuing_ca.h"
#include "server/acme/log.h"
#include "server/acme/metrics.h"
#include "server/acme/nonce.h"
#include "server/acme/rate_limits.h"
#include "server/acme/validation.h"
#include "server/attest/device_attest.h"
#include "server/config.h"
#include "server/store/model.h"
#include "server/store/store.h"

namespace attestlab::server {

// Every URL the server hands out, computed once from the configured host and the bound
// port (never from a request's Host header, RFC 8555 §6.4).
struct AcmeUrls {
  std::string base;  // https://HOST:PORT
  std::string directory, new_nonce, new_account, new_order, revoke_cert, key_change;
  std::string renewal_info;  // RFC 9773 §3; a certificate's is renewal_info + "/" + CertID
  std::string account_prefix, order_prefix, authz_prefix, challenge_prefix, cert_prefix;
  std::string index_link;  // <directory>;rel="index"

  static AcmeUrls make(const std::string& host, std::uint16_t port);
  std::string account(const std::string& id) const { return account_prefix + id; }
  std::string account_orders(const std::string& id) const {
    return account_prefix + id + "/orders";
  }
  std::string order(const std::string& id) const { return order_prefix + id; }
  std::string finalize(const std::string& id) const { return order_prefix + id + "/finalize"; }
  std::string authz(const std::string& id) const { return authz_prefix + id; }
  std::string challenge(const std::string& id) const { return challenge_prefix + id; }
  std::string certificate(const std::string& id) const { return cert_prefix + id; }
};

// Accounts by id with their parsed keys, so that the common request neither reads and
// decodes the account row nor parses its JWK (EC point validation). An entry younger than
// kFreshness is served from memory; an older one is reloaded from the store, keeping the
// parsed key when the thumbprint did not change. This process's own account writes
// (remember) take effect at once; writes by another process sharing the store (key
// change, deactivation) are seen after at most kFreshness. Thread-safe.
class AccountCache {
 public:
  static constexpr std::chrono::milliseconds kFreshness{1000};

  struct Entry {
    Account account;
    std::shared_ptr<const jose::Jwk> key;
  };
  // nullopt when the store has no such account.
  Result<std::optional<Entry>> lookup(Store& store, const std::string& id);
  // Records an account this process just wrote, with its parsed key.
  void remember(const Account& account, std::shared_ptr<const jose::Jwk> key);

 private:
  struct Slot {
    Entry entry;
    std::chrono::steady_clock::time_point loaded;
  };
  static constexpr std::size_t kMaxEntries = 100000;
  std::shared_mutex mutex_;
  std::unordered_map<std::string, Slot> slots_;
};

// Challenges this process has queued for validation, so that concurrent POSTs to one
// challenge start one validation. Thread-safe.
class InFlightChallenges {
 public:
  bool begin(const std::string& challenge_id);  // false if already in flight
  void end(const std::string& challenge_id);

 private:
  std::mutex mutex_;
  std::unordered_set<std::string> ids_;
};

struct AcmeContext {
  ServerConfig config;
  std::shared_ptr<Clock> clock;
  std::unique_ptr<Store> store;
  std::unique_ptr<IssuingCa> ca;
  std::unique_ptr<DeviceAttestValidator> device_validator;
  std::unique_ptr<NonceService> nonces;
  Metrics metrics;
  Logger logger;
  AccountCache accounts;
  InFlightChallenges in_flight;
  RateLimiter limiter;
  std::unique_ptr<ValidationPool> pool;
  ValidationOptions validation_options;
  AcmeUrls urls;
  std::string directory_body;             // precomputed GET /acme/directory
  std::map<std::string, Bytes> eab_keys;  // --eab-keys: kid -> HMAC key
  // Serialises the check-then-bind of EAB key ids within this process.
  std::mutex eab_bind_mutex;

  std::int64_t now() const { return clock->now(); }
};

// What the router learns while a handler runs, for logs and metrics.
struct RequestInfo {
  Route route = Route::NotFound;
  std::string account_id;
};

// Which key a JWS must name (RFC 8555 §6.2): jwk for newAccount, either for revokeCert,
// kid everywhere else.
enum class KeyMode { Jwk, Kid, Either };

struct SignedRequest {
  jose::Jws jws;
  std::string url;                       // the checked "url" header
  std::optional<Account> account;        // set in kid mode
  std::shared_ptr<const jose::Jwk> key;  // the key the signature verified with
  std::optional<Json> payload;           // nullopt: POST-as-GET (empty payload)
};

// Authenticates a POST (RFC 8555 §6.2–6.5): Content-Type, flattened JWS, protected
// header members, url equality, algorithm, key (jwk or account by kid), signature, then
// the nonce (consumed only when everything else verified), then the account's status.
// The payload must be empty or a JSON object. Errors are ready to render as problems.
Result<SignedRequest> authenticate(AcmeContext& ctx, const http::Request& request, KeyMode mode,
                                   RequestInfo& info);

// An empty payload is required (POST-as-GET resources): Error("malformed") otherwise.
Result<void> require_post_as_get(const SignedRequest& request);

// The account (kid) must own the resource: Error("unauthorized") otherwise.
Result<void> require_owner(const SignedRequest& request, const std::string& owner_account_id);

// Resource views (RFC 8555 §7.1.2–7.1.4).
Json account_json(const AcmeContext& ctx, const Account& account);
Json order_json(const AcmeContext& ctx, const Order& order);
Json authz_json(const AcmeContext& ctx, const Authorization& authz);
Json challenge_json(const AcmeContext& ctx, const Challenge& challenge);

// JSON response with status and Content-Type application/json.
http::Response json_response(int status, const Json& body);

// Status on read (RFC 8555 §7.1.6), computed from the stored object and the clock, and
// persisted (compare-and-set, best effort) when it moved.
std::string effective_authz_status(const Authorization& authz, std::int64_t now);
struct OrderStatus {
  std::string status;
  Json error;  // set when the order becomes invalid
};
OrderStatus compute_order_status(const Order& order, const std::vector<Authorization>& authzs,
                                 std::int64_t now);
Result<Authorization> refresh_authz(AcmeContext& ctx, Authorization authz);
// The order with the status its authorizations and expiry give it now, without storing it
// (an order a crash left "processing" is settled and stored, as refresh_order does). With
// `authzs`, the authorizations read for it are left there (in the order's order; none when
// the status did not depend on them), for a caller that needs them too.
Result<Order> effective_order(AcmeContext& ctx, Order order,
                              std::vector<Authorization>* authzs = nullptr);
Result<Order> refresh_order(AcmeContext& ctx, Order order);
// A finalize stores its certificate and its order's "valid" in one transaction, so a crash
// leaves the order as it was. Servers before that claimed the order ("processing") first;
// an order such a server left processing kFinalizeInterruptedAfter seconds after its claim
// lost its process mid-issuance: it is marked invalid with a problem document (on read, and
// for all such orders at start-up by settle_interrupted_finalizations, which returns how
// many). A store shared with such a server still holds them.
inline constexpr std::int64_t kFinalizeInterruptedAfter = 60;
Result<Order> settle_interrupted_finalization(AcmeContext& ctx, Order order);
Result<int> settle_interrupted_finalizations(AcmeContext& ctx);

// Authorization ids are "<order id>.<index>", so a validator finds the order of an
// authorization without another index in the store.
std::string order_id_of_authz(const std::string& authz_id);

// Route handlers. Each returns the response or an Error to render as a problem; the
// router adds Replay-Nonce and Link: rel="index" to every POST response.
Result<http::Response> handle_new_account(AcmeContext& ctx, const http::Request& request,
                                          RequestInfo& info);
Result<http::Response> handle_account(AcmeContext& ctx, const http::Request& request,
                                      const std::string& id, RequestInfo& info);
Result<http::Response> handle_account_orders(AcmeContext& ctx, const http::Request& request,
                                             const std::string& id, RequestInfo& info);
Result<http::Response> handle_key_change(AcmeContext& ctx, const http::Request& request,
                                         RequestInfo& info);
Result<http::Response> handle_new_order(AcmeContext& ctx, const http::Request& request,
                                        RequestInfo& info);
Result<http::Response> handle_order(AcmeContext& ctx, const http::Request& request,
                                    const std::string& id, RequestInfo& info);
Result<http::Response> handle_finalize(AcmeContext& ctx, const http::Request& request,
                                       const std::string& id, RequestInfo& info);
Result<http::Response> handle_authz(AcmeContext& ctx, const http::Request& request,
                                    const std::string& id, RequestInfo& info);
Result<http::Response> handle_challenge(AcmeContext& ctx, const http::Request& request,
                                        const std::string& id, RequestInfo& info);
Result<http::Response> handle_certificate(AcmeContext& ctx, const http::Request& request,
                                          const std::string& id, RequestInfo& info);
Result<http::Response> handle_revoke(AcmeContext& ctx, const http::Request& request,
                                     RequestInfo& info);
// GET renewalInfo/<CertID> (RFC 9773 §4), unauthenticated; the router adds no nonce.
Result<http::Response> handle_renewal_info(AcmeContext& ctx, const http::Request& request,
                                           const std::string& id, RequestInfo& info);

}  // namespace attestlab::server

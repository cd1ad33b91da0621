// The ACME resources (RFC 8555 §7.1) as the client sees them, parsed leniently from a
// server's JSON: unknown members are ignored, every object keeps its raw JSON, and a
// member of the wrong type reads as absent. Only what a client cannot work without is
// required (see each from_json). Value types; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::client {

// Error types this client produces itself (not ACME problem types), so callers can tell
// "the server said X" from "the client could not get an answer it understands".
//
// The server broke the protocol: an error status without a problem document, a body
// that is not the JSON expected, a missing Location header, ...
inline constexpr const char* kErrorUnexpectedResponse = "unexpectedResponse";
// The caller misused the client, e.g. an account call before there is an account.
inline constexpr const char* kErrorClientUsage = "clientUsage";
// A poll deadline passed.
inline constexpr const char* kErrorTimeout = "timeout";
// Transport failures keep http::Client's Error("connection", ...).

inline constexpr const char* kAcmeErrorPrefix = "urn:ietf:params:acme:error:";

// {"type": "dns", "value": "example.com"}; also permanent-identifier, hardware-module, ip.
struct Identifier {
  std::string type;
  std::string value;
  Json to_json() const { return Json{{"type", type}, {"value", value}}; }
  static std::optional<Identifier> from_json(const Json& j);
  bool operator==(const Identifier&) const = default;
};

struct Directory {
  std::string new_nonce, new_account, new_order, revoke_cert, key_change;
  std::string new_authz;     // optional in RFC 8555; empty when absent
  std::string renewal_info;  // RFC 9773 §3; empty when the server does not offer ARI
  std::optional<std::string> terms_of_service;
  std::optional<std::string> website;
  std::vector<std::string> caa_identities;
  bool external_account_required = false;
  Json profiles = Json::object();  // meta.profiles (draft-ietf-acme-profiles), may be empty
  Json raw;
  // Requires newNonce, newAccount and newOrder: otherwise kErrorUnexpectedResponse.
  static Result<Directory> from_json(const Json& j);
};

struct Account {
  std::string url;       // from the Location header: the "kid" for later requests
  bool created = false;  // 201 (new) vs 200 (the key already had an account)
  std::string status;    // valid | deactivated | revoked
  std::vector<std::string> contact;
  std::optional<std::string> orders;
  Json raw;
  static Result<Account> from_json(const Json& j, std::string url);  // requires status
};

struct Challenge {
  std::string type;
  std::string url;
  std::string status;  // pending | processing | valid | invalid
  std::string token;   // empty for types without one
  std::optional<std::string> validated;
  std::optional<Json> error;  // problem document
  Json raw;
  static Result<Challenge> from_json(const Json& j);  // requires type, url, status
};

struct Authorization {
  std::string url;
  std::string status;  // pending | valid | invalid | deactivated | expired | revoked
  Identifier identifier;
  std::vector<Challenge> challenges;
  bool wildcard = false;
  std::optional<std::string> expires;
  Json raw;
  // The first challenge of that type, or nullptr.
  const Challenge* find(const std::string& type) const;
  static Result<Authorization> from_json(const Json& j, std::string url);  // requires status
};

struct Order {
  std::string url;     // Location of newOrder, or the URL it was fetched from
  std::string status;  // pending | ready | processing | valid | invalid
  std::vector<Identifier> identifiers;
  std::vector<std::string> authorizations;
  std::string finalize;
  std::optional<std::string> certificate;
  std::optional<std::string> expires, not_before, not_after;
  std::optional<Json> error;            // problem document
  std::optional<std::string> profile;   // draft-ietf-acme-profiles §4
  std::optional<std::string> replaces;  // RFC 9773 §5
  Json raw;
  static Result<Order> from_json(const Json& j, std::string url);  // requires status
};

// A RenewalInfo object (RFC 9773 §4.2) with the response's Retry-After.
struct RenewalInfo {
  std::int64_t start = 0;  // suggestedWindow, seconds since the epoch
  std::int64_t end = 0;
  std::optional<std::string> explanation_url;
  std::optional<std::int64_t> retry_after;  // seconds; nullopt when absent or unparseable
  Json raw;
  // Requires suggestedWindow with RFC 3339 start and end, end later than start (§4.2: a
  // client treats anything else as no answer): otherwise kErrorUnexpectedResponse.
  static Result<RenewalInfo> from_json(const Json& j);
};

// A downloaded certificate chain (RFC 8555 §7.4.2).
struct CertificateChain {
  std::string pem;                      // as served: leaf first
  std::vector<Bytes> der;               // each certificate's DER, leaf first, never empty
  std::vector<std::string> alternates;  // Link rel="alternate" URLs (other chains)
  std::optional<std::string> up;        // Link rel="up" URL (issuer), if given
};

// Key authorization (RFC 8555 §8.1): token "." thumbprint.
std::string key_authorization(const std::string& token, const std::string& jwk_thumbprint);
// dns-01 TXT record value (RFC 8555 §8.4): base64url(SHA-256(key authorization)).
std::string dns01_txt_value(const std::string& key_authorization);
// dns-01 record name for a domain: "_acme-challenge." domain (a "*." prefix dropped).
std::string dns01_record_name(const std::string& domain);
// http-01 path (RFC 8555 §8.3): "/.well-known/acme-challenge/" token.
std::string http01_path(const std::string& token);

// A problem document (RFC 7807 / RFC 8555 §6.7) as an Error: type shortened to the ACME
// short name when under kAcmeErrorPrefix (else kept whole), detail, status = HTTP status.
Error problem_to_error(const Json& problem, int http_status);

// Parses an HTTP Link header value (RFC 8288) into (url, rel) pairs; several values may
// come in one header, separated by commas.
std::vector<std::pair<std::string, std::string>> parse_link_header(const std::string& value);

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date. Returns seconds from
// `now` (never negative), nullopt when unparseable.
std::optional<std::int64_t> parse_retry_after(const std::string& value, std::int64_t now);

}  // namespace attestlab::client

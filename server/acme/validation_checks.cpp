// The network side of http-01 and dns-01. Runs on validation workers only.
#include <arpa/inet.h>

#include <chrono>

#include "core/bytes.h"
#include "core/dns.h"
#include "core/http.h"
#include "server/acme/validation.h"

namespace attestlab::server {

namespace {

bool is_ipv6_literal(const std::string& text) {
  in6_addr addr{};
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

bool is_ipv4_literal(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

// The address the validator connects to: the identifier itself for ip identifiers,
// else the first IPv4 answer (then IPv6) of the configured resolver.
Result<std::string> resolve(const Identifier& identifier, const ValidationOptions& options) {
  if (identifier.type == "ip") return identifier.value;
  dns::ResolverOptions resolver{options.dns_server, std::chrono::milliseconds(options.timeout_ms)};
  auto addresses = dns::query_addresses(identifier.value, resolver);
  if (!addresses) {
    return Error::make("dns", "DNS problem: looking up A/AAAA for " + identifier.value + ": " +
                                  addresses.error().detail);
  }
  for (const auto& a : *addresses) {
    if (is_ipv4_literal(a)) return a;
  }
  for (const auto& a : *addresses) {
    if (is_ipv6_literal(a)) return a;
  }
  return Error::make("dns", "DNS problem: no valid A or AAAA records for " + identifier.value);
}

std::string trim_trailing_whitespace(std::string s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

Result<void> check_http01(const Identifier& identifier, const std::string& token,
                          const std::string& key_authorization, const ValidationOptions& options) {
  auto address = resolve(identifier, options);
  if (!address) return address.error();

  // The URL names the identifier (it becomes the Host header); the connection goes to
  // the resolved address and the configured port, as a validator behind DNS would.
  std::string host =
      is_ipv6_literal(identifier.value) ? "[" + identifier.value + "]" : identifier.value;
  std::string url = "http://" + host + "/.well-known/acme-challenge/" + token;
  http::ClientOptions client_options;
  client_options.timeout = std::chrono::milliseconds(options.timeout_ms);
  client_options.connect_host = *address;
  client_options.connect_port = options.http01_port;
  http::Client client(client_options);
  auto response = client.get(url);
  if (!response) {
    return Error::make("connection", "Fetching " + url + " (connecting to " + *address + " port " +
                                         std::to_string(options.http01_port) +
                                         "): " + response.error().detail);
  }
  if (response->status != 200) {
    return Error::make("unauthorized", "Invalid response from " + url + ": HTTP " +
                                           std::to_string(response->status));
  }
  if (trim_trailing_whitespace(response->body) != key_authorization) {
    return Error::make("incorrectResponse", "The key authorization served at " + url +
                                                " does not match the expected value");
  }
  return ok();
}

Result<void> check_dns01(const Identifier& identifier, const std::string& key_authorization,
                         const ValidationOptions& options) {
  std::string name = "_acme-challenge." + identifier.value;
  dns::ResolverOptions resolver{options.dns_server, std::chrono::milliseconds(options.timeout_ms)};
  auto records = dns::query_txt(name, resolver);
  if (!records) {
    return Error::make("dns",
                       "DNS problem: looking up TXT for " + name + ": " + records.error().detail);
  }
  if (records->empty()) return Error::make("unauthorized", "No TXT record found at " + name);
  std::string expected = base64url_encode(sha256(key_authorization));
  for (const auto& record : *records) {
    if (record == expected) return ok();
  }
  return Error::make("incorrectResponse", "Incorrect TXT record found at " + name + " (" +
                                              std::to_string(records->size()) +
                                              " records, none matching)");
}

}  // namespace attestlab::server

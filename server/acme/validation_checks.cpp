// The network side of http-01 and dns-01. Runs on validation workers only.
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <optional>

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

// Address bytes (4 or 16) of an IP literal; IPv4-mapped IPv6 counts as its IPv4 address.
std::optional<Bytes> address_bytes(const std::string& ip) {
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v4);
    return Bytes(p, p + 4);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return std::nullopt;
  Bytes b(v6.s6_addr, v6.s6_addr + 16);
  static const std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, b.begin())) return Bytes(b.begin() + 12, b.end());
  return b;
}

struct Network {
  Bytes address;
  std::size_t prefix = 0;
};

std::optional<Network> parse_cidr(const std::string& cidr) {
  const auto slash = cidr.find('/');
  auto address = address_bytes(cidr.substr(0, slash));
  if (!address) return std::nullopt;
  Network net{std::move(*address), 0};
  net.prefix = net.address.size() * 8;
  if (slash != std::string::npos) {
    const std::string bits = cidr.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 ||
        bits.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    const std::size_t n = std::stoul(bits);
    if (n > net.prefix) return std::nullopt;
    net.prefix = n;
  }
  return net;
}

}  // namespace

bool valid_cidr(const std::string& cidr) {
  return parse_cidr(cidr).has_value();
}

bool ip_in_cidr(const std::string& ip, const std::string& cidr) {
  auto net = parse_cidr(cidr);
  auto address = address_bytes(ip);
  if (!net || !address || address->size() != net->address.size()) return false;
  for (std::size_t bit = 0; bit < net->prefix; ++bit) {
    const std::uint8_t mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
    if (((*address)[bit / 8] & mask) != (net->address[bit / 8] & mask)) return false;
  }
  return true;
}

namespace {

// The denied network containing `ip`, if any.
std::optional<std::string> denied_network(const std::string& ip,
                                          const std::vector<std::string>& cidrs) {
  for (const auto& cidr : cidrs) {
    if (ip_in_cidr(ip, cidr)) return cidr;
  }
  return std::nullopt;
}

}  // namespace

Result<void> check_http01(const Identifier& identifier, const std::string& token,
                          const std::string& key_authorization, const ValidationOptions& options) {
  auto address = resolve(identifier, options);
  if (!address) return address.error();
  if (auto network = denied_network(*address, options.deny_cidrs)) {
    return Error::make("rejectedIdentifier", "validation will not connect to " + *address +
                                                 ": the operator denies " + *network);
  }

  // The URL names the identifier (it becomes the Host header); the connection goes to
  // the resolved address and the configured port, as a validator behind DNS would.
  std::string host =
      is_ipv6_literal(identifier.value) ? "[" + identifier.value + "]" : identifier.value;
  std::string url = "http://" + host + "/.well-known/acme-challenge/" + token;
  http::ClientOptions client_options;
  client_options.timeout = std::chrono::milliseconds(options.timeout_ms);
  client_options.connect_host = *address;
  client_options.connect_port = options.http01_port;
  client_options.max_response_body = options.http01_max_body;
  client_options.keep_alive = false;
  // One client per worker thread, its options set per fetch: the io_context and its reactor
  // are built once per thread, not per validation (~20 us of the worker's CPU each,
  // bench/http_bench.cpp); every fetch still has a connection of its own, closed after it.
  thread_local http::Client client;
  client.set_options(std::move(client_options));
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

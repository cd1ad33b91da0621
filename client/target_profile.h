// A target profile: which ACME server, how to trust it, what it supports, and where the
// harness plays the parts the server needs from the outside world (the JSON documented in
// conformance/TARGETS.md). `attestlab conform` skips cases needing a capability the
// profile does not give; `attestlab load` takes the same profiles.
// Value types (but for the shared http01_responder); parsing never throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/http01_responder.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::client {

struct EabKey {
  std::string kid;
  std::string hmac_key_b64u;  // base64url, as CAs hand it out
};

struct EabCredentials {
  std::string kid;
  std::string hmac_key_b64u;
  bool required = false;  // the target refuses newAccount without a binding
  // More credentials for targets that bind a key id to one account only: each EAB case
  // then gets a key of its own (see TARGETS.md).
  std::vector<EabKey> more_keys;

  // Credential number i (0 = kid/hmac_key), cycling through those available.
  EabKey key(std::size_t i) const;
};

struct DeviceSetup {
  std::string attestation_ca_dir;        // mock Apple CA (`attestlab ca init`) the target trusts
  std::string identity_source = "none";  // "inventory-file" | "none"
  std::string inventory_file;            // with "inventory-file": written before cases run
};

struct Timing {
  std::chrono::milliseconds case_timeout{30000};
  // Pause between polls when the target sends no Retry-After.
  std::chrono::milliseconds poll_interval{200};
  // A Retry-After longer than this is shortened to it (a harness against a local target
  // need not wait whole seconds); the header itself is still checked by the cases.
  std::chrono::milliseconds max_retry_after{1000};
  std::chrono::milliseconds http_timeout{10000};
};

struct TargetProfile {
  std::string name;
  std::string directory_url;
  std::string trust_ca;  // PEM file; empty = system trust store
  std::optional<EabCredentials> eab;
  std::vector<std::string> identifiers = {
      "dns"};                           // dns | ip | permanent-identifier | hardware-module
  std::vector<std::string> challenges;  // http-01 | dns-01 | device-attest-01
  std::vector<std::string> capabilities;
  DeviceSetup device;
  std::string http01_listen;                   // "127.0.0.1:PORT": the harness's http-01 responder
  // Not part of the JSON: a responder already listening on http01_listen, started by whoever
  // chose the port (port 0, then told the target the port it got), so that nothing binds the
  // port a second time and no other process can take it in between. A harness uses it
  // instead of starting its own; copies of the profile share it.
  std::shared_ptr<Http01Responder> http01_responder;
  std::string dns01_management;                // pebble-challtestsrv management URL
  std::string dns_suffix = "conform.example";  // identifiers are random labels under it
  Timing timing;

  // Every capability this profile provides, after checking that what each needs is
  // configured (see TARGETS.md: "http-01" needs http01.listen, ...).
  std::set<std::string> effective_capabilities() const;
  // Why `capability` is unavailable (for the skip reason); nullopt when it is available.
  std::optional<std::string> missing(const std::string& capability) const;
  bool has(const std::string& capability) const { return !missing(capability).has_value(); }
};

// Parses a profile document. Errors: Error("malformed", "field \"<path>\": <why>"), e.g.
// field "http01.listen": expected "HOST:PORT". Unknown members are errors (members whose
// name starts with "_" are comments). Relative paths are resolved against base_dir.
Result<TargetProfile> parse_target_profile(const Json& doc, const std::string& base_dir = "");
// Reads and parses a file; errors are prefixed with the path.
Result<TargetProfile> load_target_profile(const std::string& path);
// `--target URL`: only RFC 8555 basics (dns identifiers, key change); no challenge can be
// answered, so cases needing validation are skipped.
TargetProfile basic_target(const std::string& directory_url, const std::string& trust_ca = "");

// "HOST:PORT" or "[IPv6]:PORT" → (host, port) by core/host_port.h, and the port must not
// be 0; nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& text);

}  // namespace attestlab::client

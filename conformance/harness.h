// The services one target run shares between its cases: the http-01 responder the
// target connects to, the fake DNS the target resolves dns-01 records through, the mock
// Apple attestation CA the target trusts, the simulated devices (and the inventory file
// listing them), and one ready-made account.
//
// Thread-safety: every method may be called from any case thread concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/acme_client.h"
#include "client/acme_signer.h"
#include "client/fake_dns.h"
#include "client/http01_responder.h"
#include "conformance/case.h"
#include "conformance/target.h"
#include "core/http.h"
#include "core/json.h"
#include "core/result.h"
#include "sim/device/apple_ca.h"
#include "sim/device/device.h"

namespace attestlab::conformance {

// The http-01 responder and the fake DNS's management API live in client/ (the load
// generator shares them).
using client::DnsTxtClient;
using client::Http01Responder;

// The AcmeClient options a target needs: TLS trust, HTTP timeout, poll pacing (a
// Retry-After is honoured up to timing.max_retry_after).
client::AcmeClientOptions client_options(const TargetProfile& target);
// The profile's EAB credentials as the client takes them; nullopt without credentials.
std::optional<client::ExternalAccountBinding> eab_binding(const TargetProfile& target);

// Simulated device identities: derived from the case id, so every run (and the
// inventory written before the target starts) agrees on them.
std::vector<sim::DeviceIdentity> device_identities(const Case& c);
// The inventory listing every device slot of every case that has an inventory status,
// sorted by case id: [{"serial","udid","status","platform"}].
Json inventory_json(const CaseList& cases);
Result<void> write_inventory(const std::string& path, const CaseList& cases);

class Harness {
 public:
  // Starts the http-01 responder (when the profile has http01.listen and no
  // http01_responder already listening there, which it then uses), loads the mock
  // Apple CA (device.attestation_ca_dir) and writes the inventory file (identity source
  // "inventory-file") listing the devices of all_cases. Errors name what failed.
  static Result<std::unique_ptr<Harness>> create(TargetProfile target, const CaseList& all_cases);
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  const TargetProfile& target() const { return target_; }
  // nullptr when the profile has no http01.listen.
  Http01Responder* http01() { return http01_.get(); }
  // nullptr when the profile has no dns01 management URL.
  const DnsTxtClient* dns() const { return dns_ ? &*dns_ : nullptr; }
  // nullptr when the profile has no device.attestation_ca_dir.
  const sim::AppleCa* apple_ca() const { return apple_ca_ ? &*apple_ca_ : nullptr; }

  // One account created on first use and shared by cases that only need "an account"
  // (key, account URL). Errors are remembered: a target that cannot create accounts
  // fails every case that asks, with the same reason.
  Result<std::pair<std::shared_ptr<const client::JwsSigner>, std::string>> shared_account();

 private:
  explicit Harness(TargetProfile target) : target_(std::move(target)) {}

  TargetProfile target_;
  std::shared_ptr<Http01Responder> http01_;
  std::optional<DnsTxtClient> dns_;
  std::optional<sim::AppleCa> apple_ca_;
  std::mutex account_mu_;
  std::optional<Result<std::pair<std::shared_ptr<const client::JwsSigner>, std::string>>> account_;
};

}  // namespace attestlab::conformance

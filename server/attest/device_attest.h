// device-attest-01 (draft-ietf-acme-device-attest-10 §5) for the ACME server: verifies
// an attestation object against the configured roots, the challenge token, the order's
// identifier, the inventory and the posture policy. Formats: "apple" (PROTOCOL.md §3).
//
// Contract with the ACME core (acme_*.cpp):
//  - validate() is called on a validation worker (never on a request thread) with the
//    JSON payload the client POSTed to the challenge. It returns the evidence to store in
//    Challenge::evidence, or an Error whose type is "badAttestationStatement" (or
//    "rejectedIdentifier" for inventory refusals, "malformed" for a payload without
//    attObj) and whose detail says which rule failed.
//  - Evidence JSON always has "spki" (base64url DER SubjectPublicKeyInfo of the attested
//    key, which the CSR key must equal at finalize), "device_id" (the attested identifier
//    the order was matched to), and the attested facts ("serial", "udid", "os_version",
//    "sepos_version", "llb_version", ... where present).
//  - supersedes_previous_certificates() says whether a device certificate, once issued,
//    revokes the device's earlier ones (one-active-certificate-per-device policy). The ACME
//    core then has the store revoke them, found under every identifier the device attested
//    (add_attested_device_ids() of the order's device-attest-01 evidence), in the
//    transaction that stores the new certificate (Store::put_certificate_superseding).
//  - Every validate() ends in exactly one decision (outcome "accept" or "reject" and the
//    id of the rule that decided, see device_attest_rules()), written as one JSON line to
//    the decision log and reported to the decision hook, e.g. for /metrics counters.
// Thread-safe (set_decision_hook excepted, see there).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "server/config.h"
#include "server/store/model.h"

namespace attestlab::server {

class DeviceAttestValidator {
 public:
  // Reads roots, inventory and policy from the config's files. Bad files → Error with
  // the file name and the problem.
  static Result<std::unique_ptr<DeviceAttestValidator>> create(const ServerConfig& config,
                                                               std::shared_ptr<Clock> clock);
  virtual ~DeviceAttestValidator() = default;

  virtual Result<Json> validate(const Authorization& authz, const Challenge& challenge,
                                const Account& account, const Json& payload) = 0;

  // Default: no; certificates of one device coexist.
  virtual bool supersedes_previous_certificates() const { return false; }

  // Called once per decision with outcome "accept" | "reject" and the rule id ("ok" for an
  // accept). Called on the validating thread; the hook must be thread-safe itself. Set it
  // before the first validate(): setting it is not synchronised with running validations.
  using DecisionHook = std::function<void(const std::string& outcome, const std::string& rule)>;
  void set_decision_hook(DecisionHook hook) { decision_hook_ = std::move(hook); }

 protected:
  DecisionHook decision_hook_;
};

// The identifiers a device's certificates may be stored under: `device_id` (the one the
// order was matched to) and the serial and UDID that `evidence` (a valid device-attest-01
// challenge's) attested, since the device may have enrolled before under the other one.
// Appended to `ids` in that order; empty and repeated values are skipped.
void add_attested_device_ids(const std::string& device_id, const Json& evidence,
                             std::vector<std::string>& ids);

// Every rule id a decision can name (stable; metrics may pre-register one counter each).
const std::vector<std::string>& device_attest_rules();

// Syntax of the draft's identifier values (§3.1, §4.1): permanent-identifier is
// device-part ["/" assigner-OID] with a non-empty device part without "/"; hardware-module
// is serial "/" hw-type-OID. Error("malformed", detail) otherwise; identifier types other
// than these two give Error("unsupportedIdentifier").
// Values longer than kMaxDeviceIdentifierBytes give Error("rejectedIdentifier").
constexpr std::size_t kMaxDeviceIdentifierBytes = 255;
Result<void> check_device_identifier_syntax(const Identifier& id);

}  // namespace attestlab::server

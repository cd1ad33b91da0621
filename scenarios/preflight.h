// Before scenarios run against a foreign target: can it do device attestation at all?
// Every scenario enrolls simulated Apple devices with a permanent-identifier order answered
// by device-attest-01; a server without them (Pebble, a plain RFC 8555 CA) would fail every
// scenario for one missing feature. The probe finds that once, so the run skips them all
// with the reason (as conform skips cases whose capability is missing).
#pragma once

#include <optional>
#include <string>

#include "scenarios/target.h"

namespace attestlab::scenarios {

// What the probe found missing, e.g. "the target refused a permanent-identifier order
// (urn:ietf:params:acme:error:unsupportedIdentifier: ...)" or "the target's authorization
// for a permanent-identifier offers no device-attest-01 challenge (offers: http-01)";
// nullopt when both are there. Err when the target could not be asked (transport error,
// no account): that is an error of the run, never a skip.
Result<std::optional<std::string>> missing_device_attestation(const Target& target);

// For scenarios that require "ari": why the target cannot renew through ACME Renewal
// Information (its directory has no renewalInfo, RFC 9773 §3), nullopt when it can. Err
// when the directory could not be read.
Result<std::optional<std::string>> missing_ari(const Target& target);

}  // namespace attestlab::scenarios

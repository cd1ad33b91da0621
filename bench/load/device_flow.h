// The device flows of the load generator: simulated Apple devices enrolling with
// device-attest-01 (draft-ietf-acme-device-attest, Apple format) against a target that
// trusts the mock Apple attestation CA (`attestlab ca export`).
//
//   device  directory, nonce, account (a new one per device, as a device does), order
//           {"permanent-identifier": serial}, challenge (fetch the authorization, POST
//           {"attObj"}), attest, validation, finalize, download.
//   mix     the device flow where a share of the enrollments (k chosen evenly) has one
//           sim::ClientFaults knob on, taken in turn from a list. Those run through
//           sim::enroll (the real device client with the fault applied), are kept out of
//           the figures and counted apart as refused or accepted; only a target that
//           does not answer them counts as the target's error.
//
// Before the clock starts, a pool of devices is made: identity and attested facts
// (sim::FleetGenerator iPhones), the Secure-Enclave-like certificate key (P-384) and the
// CSR, so client crypto does not dominate. The attestation leaf cannot be pre-made: its
// freshness is SHA-256 of the challenge token, so the mock CA signs it during the
// enrollment, timed as Step::Attest (the generator's side). Enrollment k uses device
// k mod pool size.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench/load/acme_steps.h"
#include "bench/load/flow.h"
#include "core/result.h"

namespace attestlab::load {

struct DeviceFlowOptions {
  std::size_t devices = 100;  // pool size
  std::uint64_t seed = 1;     // device identities (with the run id, unique per run)
  // mix: share of enrollments with a fault (0 = the device flow), and the knobs.
  double fault_share = 0;
  std::vector<std::string> faults;
  int setup_threads = 2;
};

// The ClientFaults knobs a correct target must refuse, used by mix by default.
const std::vector<std::string>& default_mix_faults();
// Whether enrollment k of a mix with this share is a fault enrollment, and which
// ordinal among the fault enrollments it is.
bool is_fault_enrollment(std::uint64_t k, double share, std::uint64_t* ordinal = nullptr);

// Error("malformed") for an unknown fault name or a share outside [0, 1]; errors of the
// pool set-up otherwise. target.apple_ca must be set.
Result<std::unique_ptr<Flow>> make_device_flow(const FlowTarget& target,
                                               const DeviceFlowOptions& options);

}  // namespace attestlab::load

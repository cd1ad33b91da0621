// What a step observed, and the comparison with what it expected. A mismatch names the
// expectation member that was violated, so a failing run says exactly which promise the
// target broke ("error: expected badCSR, observed certificate issued").
// Value types; pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "scenarios/scenario.h"

namespace attestlab::scenarios {

struct Observation {
  bool issued = false;
  std::optional<Error> error;    // the refusal (ACME short name or a device-side type)
  std::string failed_step;       // device enrollment step that failed
  std::string challenge_status;  // last seen device-attest-01 status ("" = never seen)
  std::string mdm_verdict;       // MDM judgement ("" = none)
  std::string command_status;    // MDM command status ("" = none)
  std::optional<bool> revoked;
  std::optional<bool> key_usable;
  std::int64_t network_requests = 0;
  // acme_renew: whether it went through ARI (renewalInfo answered, "replaces" taken), and
  // the window the server suggested for the certificate it replaced (Unix seconds).
  std::optional<bool> ari_renewal;
  std::optional<std::pair<std::int64_t, std::int64_t>> renewal_window;
  std::vector<std::string> notes;  // context for the report (identifier ordered, faults...)

  // One line: "certificate issued" or "refused: badCSR (HTTP 400) at finalize: detail".
  std::string describe() const;
};

// Every violated member of `expected`, each as "member: expected X, observed Y".
std::vector<std::string> mismatches(const Expectation& expected, const Observation& observed);

}  // namespace attestlab::scenarios

// The conformance case model: what one case is (its requirement, with spec, section and
// level), what it needs from a target (capabilities, simulated devices) and what it
// concludes (a Verdict). Cases are plain values built once by the registry
// (conformance/registry.h) and run by the runner (conformance/runner.h), possibly on
// several threads at once: a case's run function must keep no state outside its
// CaseContext.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "reports/run_result.h"
#include "sim/device/device.h"

namespace attestlab::conformance {

class CaseContext;

// How binding the requirement is. Policy = an operator policy the target declares it
// enforces (capabilities "posture-policy", "inventory", ...): judged like MUST.
enum class Level { Must, Should, May, Policy };
const char* to_string(Level level);  // "MUST" | "SHOULD" | "MAY" | "policy"

// Profile names (also accepted by --only/--skip).
inline constexpr const char* kProfileRfc8555 = "rfc8555";
inline constexpr const char* kProfileDeviceAttest = "device-attest";
inline constexpr const char* kProfileApple = "apple";
inline constexpr const char* kProfileMdaPolicy = "apple-mda-policy";
inline constexpr const char* kProfileRfc9773 = "rfc9773";             // ACME Renewal Information
inline constexpr const char* kProfileAcmeProfiles = "acme-profiles";  // certificate profiles
const std::vector<std::string>& all_profiles();

inline constexpr const char* kSpecRfc8555 = "RFC 8555";
inline constexpr const char* kSpecRfc8738 = "RFC 8738";
inline constexpr const char* kSpecDeviceAttest = "draft-ietf-acme-device-attest-10";
inline constexpr const char* kSpecAppleFormat = "Apple MDA attestation format";
inline constexpr const char* kSpecMdaPolicy = "attestlab MDA policy";
inline constexpr const char* kSpecRfc9773 = "RFC 9773";
inline constexpr const char* kSpecAcmeProfiles = "draft-ietf-acme-profiles-01";

// What a case concluded. expected/observed are filled for failures (and for SHOULD
// failures the runner turns into passes with a note).
struct Verdict {
  reports::Outcome outcome = reports::Outcome::Pass;
  std::string reason;
  std::string expected;
  std::string observed;

  bool passed() const { return outcome == reports::Outcome::Pass; }

  static Verdict pass(std::string note = "");
  static Verdict fail(std::string expected, std::string observed, std::string reason = "");
  static Verdict skip(std::string reason);
  static Verdict error(std::string reason);
};

// Thrown by CaseContext helpers (and by cases, through abort_case) when a case cannot go
// on: a precondition the case does not test failed (error), or a check failed in the
// middle of a flow (fail). The runner catches it; it never leaves this module.
struct CaseAbort {
  Verdict verdict;
};
[[noreturn]] void abort_case(Verdict verdict);

// One simulated device a case uses. The runner derives its identity from the case id
// (stable across runs) and, for targets whose identity source is an inventory file,
// lists it there with inventory_status ("" = deliberately not listed).
struct DeviceSlot {
  sim::DeviceKind kind = sim::DeviceKind::IPhone;
  std::string inventory_status = "active";
  std::string os_version;  // empty = the generator's (always above Apple's MDA floors)
};

inline DeviceSlot device_slot(sim::DeviceKind kind = sim::DeviceKind::IPhone,
                              std::string inventory_status = "active",
                              std::string os_version = "") {
  return DeviceSlot{kind, std::move(inventory_status), std::move(os_version)};
}

struct Case {
  std::string id;       // "rfc8555-6.5-nonce-reuse": profile/spec key, section, name
  std::string title;    // short human title
  std::string spec;     // kSpec*
  std::string section;  // "6.5"
  Level level = Level::Must;
  std::string profile;      // kProfile*
  std::string requirement;  // one sentence
  // Capabilities the target must declare (see conformance/TARGETS.md); otherwise the
  // case is skipped with a reason naming the first one missing.
  std::vector<std::string> capabilities;
  // Ids of the cases that check this case's premise (a working key change, authorization
  // deactivation, an orders list). When one of them runs in the same run and does not
  // pass, this case is skipped with "see <id>": it never passes or fails on a premise that
  // is absent. The runner starts a case only after its dependencies have finished.
  std::vector<std::string> depends_on;
  std::vector<DeviceSlot> devices;
  std::function<Verdict(CaseContext&)> run;
};

using CaseList = std::vector<Case>;

}  // namespace attestlab::conformance

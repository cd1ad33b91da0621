// The MDM steps of a scenario: the device checks in with the scenario's MDM emulator
// (sim/mdm/mdm_server.h) through its agent (sim/mdm/mdm_agent.h), the MDM sends InstallProfile or
// DeviceInformation, the agent runs one polling session, and the step observes what the
// device reported and what the MDM concluded.
#include "core/bytes.h"
#include "scenarios/world.h"
#include "sim/mdm/mdm_messages.h"
#include "sim/mdm/profile.h"

namespace attestlab::scenarios {

namespace {

// Error types the MDM steps report for things that are not ACME refusals.
constexpr const char* kErrorMdmCheckIn = "mdmCheckInFailed";  // enroll() failed
constexpr const char* kErrorMdmSession = kErrorMdmSessionFailed;
constexpr const char* kErrorCommand = "commandError";  // device answered Error

const sim::ExecutedCommand* find_executed(const std::vector<sim::ExecutedCommand>& history,
                                          const std::string& uuid) {
  for (const auto& c : history)
    if (c.command_uuid == uuid) return &c;
  return nullptr;
}

// Queues a command and lets the device run one polling session. The executed command (as
// the agent saw it) is returned through `executed`.
Result<void> deliver(World& world, DeviceRuntime& d, const Result<std::string>& queued,
                     sim::ExecutedCommand& executed) {
  if (!queued)
    return Error::make(kErrorMdmSession,
                       "the MDM could not queue the command: " + queued.error().detail);
  auto session = d.agent->run_until_idle();
  if (!session) {
    return Error::make(kErrorMdmSession, "the device's polling session failed: " +
                                             session.error().type + ": " + session.error().detail);
  }
  const auto history = d.agent->history();
  const sim::ExecutedCommand* found = find_executed(history, *queued);
  if (found == nullptr) {
    return Error::make(kErrorMdmSession,
                       "the device never received command " + *queued + " (the MDM " +
                           (world.mdm() ? "did not deliver it" : "is gone") + ")");
  }
  executed = *found;
  return ok();
}

}  // namespace

Observation mdm_enroll(World& world, DeviceRuntime& d) {
  (void)world;
  Observation o;
  auto enrolled = d.agent->enroll();
  if (!enrolled) {
    Error e = enrolled.error();
    if (e.type.empty()) e.type = kErrorMdmCheckIn;
    o.error = e;
    return o;
  }
  o.notes.push_back("checked in as " + d.agent->device_id());
  return o;
}

Observation install_profile(World& world, DeviceRuntime& d, const PayloadOptions& options) {
  Observation o;
  sim::AcmeProfileOptions profile;
  profile.acme = world.payload_for(d, options);
  profile.identifier = "com.attestlab.scenario.profile." + d.payload_uuid;
  const std::string xml = sim::profile_to_xml(sim::make_acme_profile(profile));
  sim::ExecutedCommand executed;
  auto delivered = deliver(world, d, world.mdm()->install_profile(d.mdm_id(), xml), executed);
  if (!delivered) {
    o.error = delivered.error();
    return o;
  }
  o.command_status = executed.status;
  if (!executed.acme.empty()) {
    const sim::EnrollmentResult& r = executed.acme.front();
    observe_enrollment(o, r);
    remember_certificate(d, r);
  } else if (executed.status != sim::mdm::kStatusAcknowledged) {
    o.error = Error::make(kErrorCommand, sim::mdm::describe_error_chain(executed.error_chain));
  }
  return o;
}

Observation device_information(World& world, DeviceRuntime& d, const std::string& nonce_mode) {
  Observation o;
  MdmPort& mdm = *world.mdm();
  const std::string id = d.mdm_id();
  if (nonce_mode == "repeat" && !d.last_nonce) {
    o.error = Error::make(kErrorMdmSession,
                          "nonce \"repeat\" needs an earlier device_information with a nonce");
    return o;
  }
  Result<std::string> queued = mdm.device_information(
      id, nonce_mode == "fresh", nonce_mode == "repeat" ? d.last_nonce : std::optional<Bytes>());
  sim::ExecutedCommand executed;
  auto delivered = deliver(world, d, queued, executed);
  if (!delivered) {
    o.error = delivered.error();
    return o;
  }
  o.command_status = executed.status;
  auto looked_up = mdm.device(id, *queued);
  if (!looked_up) {
    o.error = looked_up.error();
    return o;
  }
  if (!*looked_up) {
    o.error = Error::make(kErrorMdmSession, "the MDM no longer knows device " + id);
    return o;
  }
  const MdmDeviceView& record = **looked_up;
  if (record.command_nonce) d.last_nonce = record.command_nonce;

  // The verdict on THIS answer: the MDM keeps an earlier verdict when a request fails, so
  // a failed request is reported as "unknown" (with the kept verdict as a note).
  if (executed.status != sim::mdm::kStatusAcknowledged) {
    o.mdm_verdict = sim::to_string(sim::AttestationVerdict::Unknown);
    o.error = Error::make(kErrorCommand, sim::mdm::describe_error_chain(executed.error_chain));
    o.notes.push_back("the MDM keeps its earlier verdict " + record.verdict);
  } else {
    o.mdm_verdict = record.verdict;
  }
  if (executed.attestation && executed.attestation->from_cache) {
    o.notes.push_back("the device answered with its cached attestation (Apple's 7-day throttle)");
  }
  for (const auto& reason : record.reasons) o.notes.push_back("MDM: " + reason);
  return o;
}

}  // namespace attestlab::scenarios

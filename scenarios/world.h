// The simulated world of one running scenario (engine internals): its virtual clock,
// Apple's attestation servers, the devices with their keychains and attestation
// services, and what the harness remembers about each device's certificates.
//
// Not synchronized: a World belongs to the thread running its scenario; fleet steps make
// their own per-device state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_client.h"
#include "client/wire_log.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/pki.h"
#include "scenarios/observation.h"
#include "scenarios/plan.h"
#include "scenarios/target.h"
#include "sim/device/acme_payload.h"
#include "sim/device/attestation_service.h"
#include "sim/device/device.h"
#include "sim/device/device_acme.h"
#include "sim/device/device_keychain.h"
#include "sim/mdm/mdm_agent.h"
#include "scenarios/mdm_port.h"
#include "sim/mdm/mdm_server.h"

namespace attestlab::scenarios {

// A certificate a device obtained, with what the harness needs to revoke or probe it
// later (the account that ordered it and where its key lives).
struct IssuedCertificate {
  pki::Certificate certificate;
  std::string chain_pem;
  sim::KeyHandle key;
  bool hardware_bound = false;
  std::shared_ptr<const client::JwsSigner> account_key;
  std::string account_url;
};

// One device of the scenario. Its Device, AttestationService and DeviceKeychain live in
// its MDM agent (which owns them even when the scenario never talks to the MDM); reach
// them through with_device().
struct DeviceRuntime {
  PlannedDevice plan;
  bool user_enrollment = false;
  client::WireLog log;  // the device's ACME exchanges; steps slice it by marks
  std::unique_ptr<sim::MdmAgent> agent;
  std::string payload_uuid;  // the device's ACMECertificate payload (stable in a scenario)
  std::vector<IssuedCertificate> certificates;  // issue order
  std::optional<Bytes> last_nonce;              // the last DeviceAttestationNonce the MDM sent it

  // Runs fn with exclusive access to the device state.
  void with_device(
      const std::function<void(sim::Device&, sim::AttestationService&, sim::DeviceKeychain&)>& fn);
  // nullptr when the device has none of that kind (no previous certificate, ...).
  const IssuedCertificate* certificate(bool previous) const;
  // The id the MDM knows it by (UDID, or EnrollmentID under User Enrollment).
  std::string mdm_id() const;
};

// Whether the scenario has an MDM or fleet step (and so needs an MDM).
bool uses_mdm(const Scenario& sc);

class World {
 public:
  // Starts the scenario's MDM server when the scenario has an MDM or fleet step.
  World(const ScenarioPlan& plan, const Target& target, ClockedTarget* clocked);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  const ScenarioPlan& plan() const { return plan_; }
  const Target& target() const { return target_; }
  ClockedTarget* clocked() { return clocked_; }
  const std::shared_ptr<VirtualClock>& clock() const { return clock_; }
  const std::shared_ptr<sim::AppleAttestationServers>& apple() const { return apple_; }

  // nullptr for an unknown id (the parser has checked references).
  DeviceRuntime* device(const std::string& id);
  // Makes a device (a named one at construction, fleet devices on demand).
  std::unique_ptr<DeviceRuntime> make_device(const PlannedDevice& planned, const DeviceSpec* spec);

  // The scenario's MDM (its own emulator, or the running one of Target::mdm); nullptr when
  // the scenario has no MDM step or it failed to start or answer (mdm_error() says why).
  MdmPort* mdm() { return mdm_.get(); }
  const std::string& mdm_error() const { return mdm_error_; }

  // AcmeClient options for this target (TLS trust, timeouts, capped poll sleep).
  client::AcmeClientOptions client_options(const std::string& label) const;
  // The ACMECertificate payload an MDM would send `d` for this target, with the step's
  // options applied.
  sim::AcmePayload payload_for(const DeviceRuntime& d, const PayloadOptions& options);
  // The identifier a client_identifier option names for `d` (see PayloadOptions).
  std::string client_identifier(const DeviceRuntime& d, const std::optional<std::string>& option);

 private:
  const ScenarioPlan& plan_;
  const Target& target_;
  ClockedTarget* clocked_;
  std::shared_ptr<VirtualClock> clock_;
  std::shared_ptr<sim::AppleAttestationServers> apple_;
  std::string temp_dir_;  // the MDM emulator's TLS certificate for device agents
  std::unique_ptr<MdmPort> mdm_;
  std::string mdm_error_;
  std::map<std::string, std::unique_ptr<DeviceRuntime>> devices_;
};

// A JwsSigner over a key held in a device's Secure Enclave or software keystore: signs
// inside the store, so the private key never leaves it (revocation with the certificate
// key).
std::shared_ptr<const client::JwsSigner> keystore_signer(const sim::Device& device,
                                                         sim::KeyHandle key, bool hardware_bound);

// What the step observed plus its wire log, or why it could not be carried out.
struct StepRun {
  Observation observation;
  Json wire_log = Json::array();
  std::optional<std::string> harness_error;  // set = outcome error
};

// Runs one step (not fleet, which the engine handles) in `world`.
StepRun run_step(World& world, const Step& step, std::size_t max_wire_exchanges);

// Enrolls `d` directly over ACME with the step's payload options and faults; records an
// issued certificate in d.certificates.
Observation acme_enroll(World& world, DeviceRuntime& d, const Step& step);

// The MDM steps (mdm_steps.cpp): mdm_enroll, install_profile, device_information.
// kErrorMdmSessionFailed: the harness's own MDM side failed (queueing, polling session);
// the step errors instead of being judged.
inline constexpr const char* kErrorMdmSessionFailed = "mdmSessionFailed";

// The hijack step (hijack.cpp). kErrorHijackSetup: the attacker could not even try (no
// account, the victim stopped early); the step errors.
inline constexpr const char* kErrorHijackSetup = "hijackSetupFailed";
Observation hijack(World& world, DeviceRuntime& victim, DeviceRuntime& attacker, const Step& step);
Observation mdm_enroll(World& world, DeviceRuntime& d);
Observation install_profile(World& world, DeviceRuntime& d, const PayloadOptions& payload);
Observation device_information(World& world, DeviceRuntime& d, const std::string& nonce_mode);

// Records the certificate of a successful enrollment in d.certificates.
void remember_certificate(DeviceRuntime& d, const sim::EnrollmentResult& r);
// Fills an observation from an enrollment result.
void observe_enrollment(Observation& o, const sim::EnrollmentResult& r);

// Exchanges [from, from + max) of a log, with a note when more were cut.
Json sliced_wire_log(const client::WireLog& log, std::size_t from, std::size_t max);

}  // namespace attestlab::scenarios

// A scenario: a scripted story of simulated Apple devices, an MDM and an attacker, run
// against any ACME device-attest server (scenarios/FORMAT.md documents the JSON). This
// header is the parsed model and its parser; the engine (scenarios/engine.h) runs it.
//
// Parsing is strict: unknown members are errors (members starting with "_" are
// comments), and every error is Error("malformed", "FILE: JSON.PATH: why"), e.g.
// "scenarios/library/x.json: steps[2].expect.error: must be a string or a non-empty array
// of strings". Value types; parsing never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "sim/device/client_faults.h"
#include "sim/device/device.h"

namespace attestlab::scenarios {

// What the target must offer for a scenario to run; a target lacking one skips it.
inline constexpr const char* kRequiresServerClock = "server-clock";  // engine can move server time
inline constexpr const char* kRequiresInventory =
    "inventory";                                          // target checks the written inventory
inline constexpr const char* kRequiresPolicy = "policy";  // target applies the assumed policy
inline constexpr const char* kRequiresAri = "ari";  // directory offers renewalInfo (RFC 9773)
const std::vector<std::string>& requirement_names();

// How the target's inventory lists a device (the inventory the harness writes).
enum class InventoryMembership {
  Active,        // listed, status "active"
  Retired,       // listed, status "retired"
  Unknown,       // not listed
  PairMismatch,  // its serial is listed with another device's UDID
};
const char* to_string(InventoryMembership m);  // active | retired | unknown | pair-mismatch

enum class EnrollmentType { Device, User };  // User = User Enrollment (BYOD)

// Software/model fields a scenario may set; serial and UDID are always generated so
// that runs never collide in a target's inventory or certificate store.
struct IdentityOverrides {
  std::optional<std::string> model, product_name, os_version, build_version, sepos_version,
      llb_version;
};

// Posture members a scenario sets; the rest keep their value (the healthy default for a
// new device, the current truth for update_device).
struct PostureOverrides {
  std::optional<bool> sip_enabled;
  std::optional<sim::SecureBootLevel> secure_boot;
  std::optional<bool> third_party_kexts_allowed;
  std::optional<bool> jailbroken;

  void apply_to(sim::Posture& posture) const;
};

// Set members of `update` replace those of `claims`.
void merge_claims(sim::ClaimOverrides& claims, const sim::ClaimOverrides& update);

struct DeviceSpec {
  std::string id;  // [a-z0-9_-]+, unique in the scenario
  sim::DeviceKind kind = sim::DeviceKind::IPhone;
  IdentityOverrides identity;
  PostureOverrides posture;    // the truth (what Apple attests)
  sim::ClaimOverrides claims;  // what the device says about itself (lies)
  InventoryMembership inventory = InventoryMembership::Active;
  EnrollmentType enrollment = EnrollmentType::Device;
};

// Changes to the ACMECertificate payload an MDM would send for attestation
// (sim::AcmePayload::for_attestation: EC 384, HardwareBound, Attest).
struct PayloadOptions {
  std::optional<std::string> key_type;  // "RSA" | "ECSECPrimeRandom"
  std::optional<std::int64_t> key_size;
  std::optional<bool> hardware_bound;
  std::optional<bool> attest;
  std::optional<bool> key_is_extractable;
  // Whose identifier the payload's ClientIdentifier is: "serial" (default; the
  // enrollment ID under User Enrollment), "udid", "serial:DEVICE", "udid:DEVICE" (another
  // scenario device's), or "literal:TEXT".
  std::optional<std::string> client_identifier;
};

enum class StepType {
  MdmEnroll,          // device checks in with the MDM (Authenticate, TokenUpdate)
  InstallProfile,     // MDM sends InstallProfile with an ACMECertificate payload; device enrols
  DeviceInformation,  // MDM asks for DevicePropertiesAttestation and judges the answer
  AcmeEnroll,         // device runs the ACME enrollment of a payload directly
  AcmeRenew,          // device renews its installed certificate (same key; ARI when offered)
  Restore,            // erase all content and settings: Secure Enclave keys are destroyed
  AdvanceClock,       // world (device, Apple, MDM) time moves; optionally the server's too
  Revoke,             // revoke one of the device's certificates
  CheckCertificate,   // is one of the device's certificates revoked?
  CheckKey,           // can the device still sign with a certificate's key?
  AttestationOutage,  // Apple's attestation servers fail / recover
  UpdateDevice,       // the truth or the claims change (software update, SIP off, lies)
  Fleet,              // N generated devices through the MDM, in parallel
  Hijack,             // an attacker's account reaches for a victim's enrollment objects
};
const char* to_string(StepType type);  // the JSON "type" names: mdm_enroll, ...
std::optional<StepType> parse_step_type(const std::string& name);
const std::vector<std::string>& step_type_names();

// Which of a device's certificates a step means.
enum class CertificateRef { Current, Previous };

// What a step must observe. Every member set is checked; unset members are not.
struct Expectation {
  std::optional<bool> issued;                    // a certificate was (not) issued
  std::vector<std::string> error;                // refused with one of these error types
  std::optional<int> status;                     // HTTP status of the refusal
  std::optional<std::string> failed_step;        // device enrollment step that failed
  std::optional<std::string> challenge_status;   // last seen device-attest-01 status
  std::optional<std::string> mdm_verdict;        // the MDM's judgement of an attestation
  std::optional<std::string> command_status;     // MDM command status the device reported
  std::optional<bool> revoked;                   // check_certificate
  std::optional<bool> key_usable;                // check_key
  std::optional<std::int64_t> network_requests;  // HTTP exchanges the step made
  // acme_renew: the renewal asked renewalInfo for its certificate and ordered with
  // "replaces" (RFC 9773 §4, §5), and the server took it.
  std::optional<bool> ari_renewal;

  bool empty() const;
  // One line, e.g. "refused with badCSR (HTTP 400) at finalize".
  std::string describe() const;
};

// Devices a fleet step generates (sim::FleetGenerator's enterprise mix by default).
struct FleetSpec {
  std::int64_t count = 0;
  std::vector<unsigned> weights;  // per sim::all_device_kinds(); empty = default mix
  bool include_legacy = true;     // keep LegacyiPhone/IntelMac draws (else re-weighted out)
  std::int64_t parallel = 8;      // devices driven at once
  // What happens to each device, in order: mdm_enroll, install_profile, device_information.
  std::vector<StepType> actions;
  std::optional<Expectation> capable;  // every device that can attest
  std::optional<Expectation> legacy;   // every device that cannot
  // The renewal windows the server suggested (acme_renew through ARI) are spread: at least
  // half of the capable devices were told a different window start (a fleet that expires
  // together must not be told to renew together).
  bool spread_windows = false;
};

struct Step {
  StepType type = StepType::MdmEnroll;
  std::string title;   // optional human title; the engine derives one when empty
  std::string device;  // the DeviceSpec id (every type but advance_clock/outage/fleet)

  // install_profile, acme_enroll
  PayloadOptions payload;
  std::vector<std::string> client_faults;  // sim::ClientFaults knob names
  std::string other_device;  // other_device_identifier orders this device's identifier
  bool reuse_key = false;    // renewal: keep the installed identity's key
  // device_information: "fresh" (a new random nonce), "none", or "repeat" (the
  // previous request's nonce again)
  std::string nonce = "fresh";
  // advance_clock
  std::int64_t seconds = 0;
  bool server_clock = false;  // also move the target server's clock (needs server-clock)
  // revoke, check_certificate, check_key
  CertificateRef certificate = CertificateRef::Current;
  std::string revoke_by = "account";  // "account" | "certificate-key"
  std::optional<std::int64_t> reason;
  // attestation_outage: "off" | "server-error" | "connection"
  std::string outage = "off";
  // update_device
  IdentityOverrides identity;
  std::optional<PostureOverrides> posture;
  std::optional<sim::ClaimOverrides> claims;
  // fleet
  FleetSpec fleet;
  // hijack: the attacker device and what it does during `device`'s enrollment:
  // "respond_challenge" | "finalize" | "revoke"
  std::string attacker;
  std::string hijack;

  std::optional<Expectation> expect;
};

struct Scenario {
  std::string name;               // [a-z0-9-]+
  std::string summary;            // one sentence
  std::string threat;             // the threat it plays out ("none: happy path" for happy paths)
  std::string level = "MUST";     // MUST | SHOULD | policy: what kind of promise its checks are
  std::vector<std::string> spec;  // references, e.g. "draft-ietf-acme-device-attest-10 §5"
  std::vector<std::string> requirements;  // requirement_names()
  Json assumes_policy = Json::object();   // policy members the target must apply
  std::vector<DeviceSpec> devices;
  std::vector<Step> steps;
  std::string source;  // file it came from (for messages)

  const DeviceSpec* find_device(const std::string& id) const;
  bool needs(const std::string& requirement) const;
};

// Parses a scenario document; `file` prefixes every error.
Result<Scenario> parse_scenario(const Json& doc, const std::string& file);
// Parses scenario text (JSON); syntax errors name the file too.
Result<Scenario> parse_scenario_text(const std::string& text, const std::string& file);
// Reads and parses a file.
Result<Scenario> load_scenario_file(const std::string& path);

}  // namespace attestlab::scenarios

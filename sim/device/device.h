// A simulated Apple device: what it is (kind, identity), how it really is (Posture,
// the truth Apple's attestation reports), what it says about itself (self_report(), which
// may lie), and the key stores it owns.
//
// Truth vs. claims: attested_facts() is always built from the truth, because Apple's
// attestation servers attest the real state. self_report() is what the device tells an
// MDM (check-in, DeviceInformation answers): the truth overlaid with `claim_overrides`, so
// a compromised device is simulated by setting overrides.
//
// Thread-safety: a Device is not synchronized; drive each device from one thread at a
// time (the key stores it owns are themselves thread-safe). Move-only.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/device/apple_format.h"
#include "sim/device/secure_enclave.h"

namespace attestlab::sim {

enum class DeviceKind {
  IPhone,   // A11 or later
  IPad,     // A11 or later
  Mac,      // Apple silicon: attests SIP, secure boot, kext policy
  AppleTv,  // A11 or later (Apple TV 4K 2nd gen+)
  VisionPro,
  Watch,
  LegacyIPhone,  // A10X or older: has a Secure Enclave but ignores Attest
  IntelMac,      // no Secure Enclave to bind keys to; cannot attest (MDMs use SCEP)
};

// "iPhone", "iPad", "Mac", "AppleTV", "VisionPro", "Watch", "LegacyiPhone", "IntelMac".
const char* to_string(DeviceKind kind);
std::optional<DeviceKind> parse_device_kind(std::string_view name);  // same names
const std::vector<DeviceKind>& all_device_kinds();

// Hardware capabilities of a kind, independent of OS version.
bool kind_has_secure_enclave(DeviceKind kind);  // false only for IntelMac
bool kind_can_attest(DeviceKind kind);          // false for LegacyIPhone and IntelMac
bool kind_is_mac(DeviceKind kind);              // Mac and IntelMac
// Apple silicon Macs: attestations carry SIP / secure boot / kext OIDs.
bool kind_attests_mac_posture(DeviceKind kind);
// Lowest OS version (major, minor) with Managed Device Attestation for the kind's OS:
// iOS/iPadOS/tvOS 16.0, macOS 14.0, watchOS 9.0, visionOS 1.1.
std::pair<int, int> min_attestation_os(DeviceKind kind);
// The platform name of a kind's OS, as inventories and the posture policy spell it:
// "iOS" (iPhone, LegacyiPhone), "iPadOS", "macOS" (Mac, IntelMac), "tvOS", "visionOS",
// "watchOS". A static string.
const char* platform_name(DeviceKind kind);

struct DeviceIdentity {
  std::string serial;         // e.g. "F2LXQ7K9MN"
  std::string udid;           // e.g. "00008110-001A2D3E0C12801E"
  std::string model;          // hardware model identifier, e.g. "iPhone15,2"
  std::string product_name;   // marketing name, e.g. "iPhone 14 Pro"
  std::string os_version;     // e.g. "17.5"
  std::string build_version;  // e.g. "21F79"
  std::string sepos_version;  // e.g. "21.5.0"
  std::string llb_version;    // e.g. "10151.121.1"
  // User Enrollment (BYOD): the MDM sees this instead of the UDID, and attestations carry
  // neither serial nor UDID. Set for every device; only used in user_enrollment mode.
  std::string enrollment_id;

  bool operator==(const DeviceIdentity&) const = default;
};

// The device's real security state.
struct Posture {
  bool sip_enabled = true;                              // Macs
  SecureBootLevel secure_boot = SecureBootLevel::Full;  // Macs
  bool third_party_kexts_allowed = false;               // Macs
  bool jailbroken = false;  // not attested by any OID; ground truth for scenario scoring

  bool operator==(const Posture&) const = default;
};

// What the device claims about itself (see self_report()).
struct SelfReport {
  DeviceIdentity identity;
  Posture posture;
};

// Lies a compromised device tells. Every set member replaces the truth in self_report();
// attested_facts() ignores them.
struct ClaimOverrides {
  std::optional<std::string> serial;
  std::optional<std::string> udid;
  std::optional<std::string> model;
  std::optional<std::string> product_name;
  std::optional<std::string> os_version;
  std::optional<std::string> build_version;
  std::optional<bool> sip_enabled;
  std::optional<SecureBootLevel> secure_boot;
  std::optional<bool> third_party_kexts_allowed;
  std::optional<bool> jailbroken;
};

class Device {
 public:
  Device(DeviceKind kind, DeviceIdentity identity, Posture posture = {});
  Device(Device&&) noexcept = default;
  Device& operator=(Device&&) noexcept = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  DeviceKind kind() const { return kind_; }
  const DeviceIdentity& identity() const { return identity_; }
  const Posture& posture() const { return posture_; }

  // Change the truth: a software update (OS, build, sepOS, LLB) or a posture change
  // (e.g. SIP disabled in recoveryOS).
  void update_software(std::string os_version, std::string build_version, std::string sepos_version,
                       std::string llb_version);
  void set_posture(Posture posture) { posture_ = posture; }

  // User Enrollment (BYOD) mode: attestations omit serial and UDID; MDM messages use
  // identity().enrollment_id instead of the UDID.
  bool user_enrollment() const { return user_enrollment_; }
  void set_user_enrollment(bool on) { user_enrollment_ = on; }

  // Lies (see ClaimOverrides). Mutable so scenarios can make the device lie at any time.
  ClaimOverrides& claim_overrides() { return overrides_; }
  const ClaimOverrides& claim_overrides() const { return overrides_; }
  SelfReport self_report() const;

  bool has_secure_enclave() const { return kind_has_secure_enclave(kind_); }
  // True when the device can obtain an attestation at all: a capable kind running at
  // least min_attestation_os(kind).
  bool supports_attestation() const;

  // The truth, in the shape Apple's CA attests it: serial/UDID unless user_enrollment,
  // OS/sepOS/LLB versions (when non-empty), and SIP/secure boot/kexts for Apple silicon
  // Macs only.
  DeviceFacts attested_facts() const;

  // Hardware-bound keys. On an IntelMac the enclave is absent (SecureEnclave::present()
  // is false) and refuses to generate keys.
  SecureEnclave& secure_enclave() { return enclave_; }
  const SecureEnclave& secure_enclave() const { return enclave_; }
  SoftwareKeystore& software_keystore() { return software_; }
  const SoftwareKeystore& software_keystore() const { return software_; }

  // Erase all content and settings / restore: destroys every key in both stores and
  // bumps erase_count(), so an AttestationService starts over; identity, posture,
  // claim overrides and enrollment mode stay.
  void erase();
  // How many times erase() ran; lets attestation caches notice a restore.
  std::uint64_t erase_count() const { return erase_count_; }

 private:
  DeviceKind kind_;
  DeviceIdentity identity_;
  Posture posture_;
  ClaimOverrides overrides_;
  bool user_enrollment_ = false;
  SecureEnclave enclave_;
  SoftwareKeystore software_;
  std::uint64_t erase_count_ = 0;
};

// Parses "17.5" / "14.4.1" into (major, minor); nullopt when not numeric.
std::optional<std::pair<int, int>> parse_os_version(std::string_view version);

// Deterministic random identities for fleets: the same seed yields the same devices in
// the same order on every platform (std::mt19937_64 output, no std:: distributions).
// Models and software versions come from a small table per kind (attesting kinds always
// get an OS that can attest). Serials: 10 characters (randomized format) for A12 and
// later / Apple silicon, 12 for older hardware (A11 and before, Intel Macs). UDIDs:
// "CHIPID00-XXXXXXXXXXXXXXXX" for A12 and later / Apple silicon, 40 lowercase hex digits
// for older iPhones, a hardware UUID for Intel Macs. Serials and UDIDs are unique within
// one generator. Not thread-safe.
class FleetGenerator {
 public:
  explicit FleetGenerator(std::uint64_t seed);

  DeviceIdentity identity(DeviceKind kind);
  Device device(DeviceKind kind);

  // A fleet of n devices, kinds drawn at random by weight. weights: relative share per
  // kind in all_device_kinds() order (missing entries count 0); empty or all zero means
  // the default enterprise mix {iPhone 40, iPad 15, Mac 25, AppleTV 3, VisionPro 1,
  // Watch 4, LegacyiPhone 6, IntelMac 6}.
  std::vector<Device> fleet(std::size_t n, const std::vector<unsigned>& weights = {});

 private:
  std::uint64_t next();
  std::uint64_t below(std::uint64_t bound);
  std::string pick_chars(const char* alphabet, std::size_t n);

  std::mt19937_64 engine_;
  std::set<std::string> issued_;  // serials and UDIDs handed out so far
};

}  // namespace attestlab::sim

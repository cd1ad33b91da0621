// Where a simulated device gets its attestations from.
//
// AppleAttestationServers is Apple's side, one per simulated world: the mock CA, the
// world's clock and an outage knob. AttestationService is the device's side (the OS
// component that talks to Apple): one per device, holding the device's attestation key,
// its cached attestation and Apple's throttle.
//
// The two flows (PROTOCOL.md §3–§4):
//
//  - ACME device-attest-01, key_attestation(device, key, token): the leaf certifies the
//    ACME key itself (a hardware-bound key in the device's Secure Enclave, which becomes
//    the certificate key) and its freshness code is SHA-256(token), the token's ASCII
//    bytes. Every call for a new key contacts Apple and yields a new attestation; by
//    default ACME attestations are not throttled (each hardware-bound key is attested
//    once, when it is made). With Options::throttle_key_attestations a repeat request
//    for the same key inside the window returns the cached leaf with its old freshness.
//
//  - MDM DeviceInformation / DevicePropertiesAttestation, device_attestation(device,
//    nonce): the leaf certifies a per-device attestation key (P-256, generated in the
//    Secure Enclave on first use and reused until the device is erased) and, when a
//    nonce is given, its freshness code is SHA-256(nonce). Apple's throttle applies: at
//    most one NEW attestation per kAttestationThrottleSeconds (7 days) per device.
//      * no cached attestation, or the cached one is at least 7 days old: a new one is
//        requested from Apple (freshness = SHA-256(nonce), or no freshness OID without
//        a nonce);
//      * otherwise the cached one is returned unchanged, whether or not a nonce was
//        given, so its freshness code belongs to the OLD nonce (from_cache = true). A
//        nonce-less request thus always gets the cached one while it is inside the
//        window.
//    The facts attested are always the device's truth (Device::attested_facts()) as of
//    the moment Apple issues the leaf; a cached leaf keeps the facts of its issue time.
//
// Outage (AppleAttestationServers::set_outage) affects only requests that need Apple:
//   Outage::ServerError  → Error("serverInternal", "Apple attestation service unavailable ...")
//   Outage::Connection   → Error("connection", "cannot reach Apple attestation service ...")
// A request answered from the cache succeeds during an outage.
//
// Other errors: a device that cannot attest (Device::supports_attestation() false:
// legacy kinds, too-old OS) gives Error("serverInternal", "device cannot attest: ...");
// a DeviceAttestationNonce longer than 32 bytes gives Error("malformed"); an unknown or
// erased key handle gives the Secure Enclave's error.
//
// Erase / restore: when Device::erase_count() changes, the service drops its cache and
// attestation key (both were device state), so the next request contacts Apple.
//
// Thread-safety: AppleAttestationServers is thread-safe. AttestationService is not
// synchronized; use it from the thread that drives its device, and always with the same
// Device (it does not keep a reference, so the Device may be moved between calls).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/result.h"
#include "sim/device/apple_ca.h"
#include "sim/device/device.h"
#include "sim/device/secure_enclave.h"

namespace attestlab::sim {

// The freshness code of an ACME key attestation answering `token`: SHA-256 of the token's
// ASCII text (PROTOCOL.md §3). key_attestation() asks Apple for it; forged attestations
// (sim/device/attestation_source.h) use the same, so they differ only in what they forge.
Bytes key_attestation_freshness(std::string_view token);

// An attestation as the device hands it out.
struct Attestation {
  AttestationChain chain;
  std::int64_t issued_at = 0;      // when Apple issued the leaf (its notBefore)
  std::optional<Bytes> freshness;  // the freshness code in the leaf, if any
  bool from_cache = false;         // true when this answer reused an earlier leaf
};

class AppleAttestationServers {
 public:
  enum class Outage {
    None,
    ServerError,  // Apple answers with a server error
    Connection,   // Apple cannot be reached
  };

  AppleAttestationServers(std::shared_ptr<const AppleCa> ca, std::shared_ptr<const Clock> clock);

  void set_outage(Outage outage);
  Outage outage() const;

  const AppleCa& ca() const { return *ca_; }
  std::int64_t now() const { return clock_->now(); }

  // One round trip to Apple: a new attestation issued now (from_cache false), or the
  // outage error. No throttle here; that is the device's AttestationService.
  Result<Attestation> attest(const pki::PublicKey& key, const DeviceFacts& facts,
                             const std::optional<Bytes>& freshness) const;

  // Number of attestations issued so far (tests and metrics observe the throttle).
  std::uint64_t issued_count() const;

 private:
  std::shared_ptr<const AppleCa> ca_;
  std::shared_ptr<const Clock> clock_;
  std::atomic<int> outage_{0};
  mutable std::atomic<std::uint64_t> issued_{0};
};

class AttestationService {
 public:
  struct Options {
    // Apply the 7-day throttle per key to ACME key attestations too.
    bool throttle_key_attestations = false;
  };

  explicit AttestationService(std::shared_ptr<AppleAttestationServers> servers);
  AttestationService(std::shared_ptr<AppleAttestationServers> servers, Options options);

  // MDM flow; see the file comment. nonce: the DeviceAttestationNonce data, if sent.
  Result<Attestation> device_attestation(Device& device, const std::optional<Bytes>& nonce);

  // ACME flow; see the file comment. key: a key in device.secure_enclave().
  Result<Attestation> key_attestation(Device& device, KeyHandle key, std::string_view token);

  // The cached MDM attestation, if any (without contacting Apple or checking age).
  const std::optional<Attestation>& cached_device_attestation() const { return device_cache_; }

 private:
  void forget_if_erased(const Device& device);
  bool throttled(const Attestation& cached) const;  // inside the throttle window

  std::shared_ptr<AppleAttestationServers> servers_;
  Options options_;
  std::uint64_t seen_erase_count_ = 0;
  KeyHandle device_key_;
  std::optional<Attestation> device_cache_;
  std::map<std::uint64_t, Attestation> key_cache_;  // by KeyHandle::id
};

}  // namespace attestlab::sim

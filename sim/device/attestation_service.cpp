#include "sim/device/attestation_service.h"

#include <string>
#include <utility>

namespace attestlab::sim {

Bytes key_attestation_freshness(std::string_view token) {
  return freshness_code(token);
}

// ---------------------------------------------------------------------------------------
// AppleAttestationServers

AppleAttestationServers::AppleAttestationServers(std::shared_ptr<const AppleCa> ca,
                                                 std::shared_ptr<const Clock> clock)
    : ca_(std::move(ca)), clock_(std::move(clock)) {}

void AppleAttestationServers::set_outage(Outage outage) {
  outage_.store(static_cast<int>(outage));
}

AppleAttestationServers::Outage AppleAttestationServers::outage() const {
  return static_cast<Outage>(outage_.load());
}

std::uint64_t AppleAttestationServers::issued_count() const {
  return issued_.load();
}

Result<Attestation> AppleAttestationServers::attest(const pki::PublicKey& key,
                                                    const DeviceFacts& facts,
                                                    const std::optional<Bytes>& freshness) const {
  switch (outage()) {
    case Outage::ServerError:
      return Error::make("serverInternal",
                         "Apple attestation service unavailable (simulated outage)");
    case Outage::Connection:
      return Error::make("connection",
                         "cannot reach Apple attestation service (simulated network failure)");
    case Outage::None:
      break;
  }
  const std::int64_t now = clock_->now();
  auto chain = ca_->issue_attestation(key, facts, freshness, now);
  if (!chain) return chain.error();
  issued_.fetch_add(1);
  return Attestation{std::move(*chain), now, freshness, false};
}

// ---------------------------------------------------------------------------------------
// AttestationService

AttestationService::AttestationService(std::shared_ptr<AppleAttestationServers> servers)
    : AttestationService(std::move(servers), Options{}) {}

AttestationService::AttestationService(std::shared_ptr<AppleAttestationServers> servers,
                                       Options options)
    : servers_(std::move(servers)), options_(options) {}

void AttestationService::forget_if_erased(const Device& device) {
  if (device.erase_count() == seen_erase_count_) return;
  seen_erase_count_ = device.erase_count();
  device_key_ = KeyHandle{};
  device_cache_.reset();
  key_cache_.clear();
}

bool AttestationService::throttled(const Attestation& cached) const {
  return servers_->now() - cached.issued_at < kAttestationThrottleSeconds;
}

namespace {

Result<void> check_can_attest(const Device& device) {
  if (device.supports_attestation()) return ok();
  return Error::make("serverInternal",
                     std::string("device cannot attest: ") + to_string(device.kind()) +
                         " running " +
                         (device.identity().os_version.empty() ? std::string("unknown OS")
                                                               : device.identity().os_version));
}

Attestation as_cached(Attestation a) {
  a.from_cache = true;
  return a;
}

}  // namespace

Result<Attestation> AttestationService::device_attestation(Device& device,
                                                           const std::optional<Bytes>& nonce) {
  forget_if_erased(device);
  ATTESTLAB_TRY(check_can_attest(device));
  if (nonce && nonce->size() > kMaxDeviceAttestationNonceSize) {
    return Error::make("malformed", "DeviceAttestationNonce is " + std::to_string(nonce->size()) +
                                        " bytes; at most 32 allowed");
  }
  if (device_cache_ && throttled(*device_cache_)) return as_cached(*device_cache_);

  // The per-enrollment attestation key: made once, reused until the device is erased.
  if (!device.secure_enclave().has_key(device_key_)) {
    auto key = device.secure_enclave().generate_key(pki::KeySpec::p256());
    if (!key) return key.error();
    device_key_ = *key;
  }
  auto public_key = device.secure_enclave().public_key(device_key_);
  if (!public_key) return public_key.error();
  std::optional<Bytes> freshness;
  if (nonce) freshness = freshness_code(*nonce);
  auto fresh = servers_->attest(*public_key, device.attested_facts(), freshness);
  if (!fresh) return fresh.error();
  device_cache_ = *fresh;
  return fresh;
}

Result<Attestation> AttestationService::key_attestation(Device& device, KeyHandle key,
                                                        std::string_view token) {
  forget_if_erased(device);
  ATTESTLAB_TRY(check_can_attest(device));
  auto public_key = device.secure_enclave().public_key(key);
  if (!public_key) return public_key.error();
  if (options_.throttle_key_attestations) {
    auto it = key_cache_.find(key.id);
    if (it != key_cache_.end() && throttled(it->second)) return as_cached(it->second);
  }
  auto fresh =
      servers_->attest(*public_key, device.attested_facts(), key_attestation_freshness(token));
  if (!fresh) return fresh.error();
  if (options_.throttle_key_attestations) key_cache_[key.id] = *fresh;
  return fresh;
}

}  // namespace attestlab::sim

#include "sim/device/device_keychain.h"

#include <utility>

namespace attestlab::sim {

std::optional<KeychainIdentity> DeviceKeychain::install(KeychainIdentity identity) {
  std::optional<KeychainIdentity> replaced;
  auto it = identities_.find(identity.payload_uuid);
  if (it != identities_.end()) {
    replaced = std::move(it->second);
    identities_.erase(it);
  }
  std::string uuid = identity.payload_uuid;
  identities_.emplace(std::move(uuid), std::move(identity));
  return replaced;
}

const KeychainIdentity* DeviceKeychain::find(const std::string& payload_uuid) const {
  auto it = identities_.find(payload_uuid);
  return it == identities_.end() ? nullptr : &it->second;
}

std::optional<KeychainIdentity> DeviceKeychain::remove(const std::string& payload_uuid) {
  auto it = identities_.find(payload_uuid);
  if (it == identities_.end()) return std::nullopt;
  KeychainIdentity removed = std::move(it->second);
  identities_.erase(it);
  return removed;
}

std::vector<KeychainIdentity> DeviceKeychain::identities() const {
  std::vector<KeychainIdentity> out;
  out.reserve(identities_.size());
  for (const auto& [uuid, identity] : identities_) out.push_back(identity);
  return out;
}

void DeviceKeychain::remember_attestation(const std::string& payload_uuid, SentAttestation sent) {
  sent_[payload_uuid] = std::move(sent);
}

const SentAttestation* DeviceKeychain::last_attestation(const std::string& payload_uuid) const {
  auto it = sent_.find(payload_uuid);
  return it == sent_.end() ? nullptr : &it->second;
}

void DeviceKeychain::forget_if_erased(const Device& device) {
  if (seen_erase_count_ && *seen_erase_count_ != device.erase_count()) clear();
  seen_erase_count_ = device.erase_count();
}

void DeviceKeychain::clear() {
  identities_.clear();
  sent_.clear();
}

}  // namespace attestlab::sim

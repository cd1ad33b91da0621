// A simulated device's keychain for ACME identities: the certificate an ACMECertificate
// payload obtained, stored under the payload's PayloadUUID (which other payloads — VPN,
// Wi-Fi, 802.1X — reference), together with the handle of its private key in the Secure
// Enclave or the software keystore. It also remembers the last attestation the device
// sent for each payload (what ClientFaults::reused_attestation replays).
//
// The keychain is device state: after Device::erase() every identity and record is gone
// (forget_if_erased() notices, like AttestationService does), and the key handles it held
// are invalid anyway because the key stores were wiped.
//
// Thread-safety: not synchronized; use it from the thread that drives its device. Value
// type (copyable), so a scenario can snapshot it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_signer.h"
#include "core/pki.h"
#include "sim/device/device.h"
#include "sim/device/secure_enclave.h"

namespace attestlab::sim {

// A certificate and its private key, as installed by an ACME enrollment.
struct KeychainIdentity {
  std::string payload_uuid;
  std::string payload_identifier;
  KeyHandle key;
  bool hardware_bound = false;        // key in the Secure Enclave; else in the software keystore
  bool extractable = false;           // KeyIsExtractable (never true for hardware-bound keys)
  bool all_apps_access = false;       // AllowAllAppsAccess
  std::string certificate_chain_pem;  // as downloaded: leaf first
  pki::Certificate certificate;       // the leaf
  std::string directory_url;
  std::string account_url;                               // the ACME account that ordered it
  std::shared_ptr<const client::JwsSigner> account_key;  // that account's key (revocation)
  std::int64_t installed_at = 0;
};

// The last attestation a device sent for one payload.
struct SentAttestation {
  std::string token;         // the challenge token it answered
  std::string att_obj_b64u;  // the attObj value exactly as sent
  KeyHandle key;             // the key it attested
  std::int64_t sent_at = 0;
};

class DeviceKeychain {
 public:
  // Installs identity under its payload_uuid. A previous identity for the same payload
  // (a renewal or re-enrollment) is replaced and returned.
  std::optional<KeychainIdentity> install(KeychainIdentity identity);
  // nullptr when the payload has no identity. The pointer is valid until the next
  // non-const call.
  const KeychainIdentity* find(const std::string& payload_uuid) const;
  // Removes and returns the payload's identity (profile removal).
  std::optional<KeychainIdentity> remove(const std::string& payload_uuid);
  // Every identity, ordered by payload UUID.
  std::vector<KeychainIdentity> identities() const;
  std::size_t size() const { return identities_.size(); }

  void remember_attestation(const std::string& payload_uuid, SentAttestation sent);
  const SentAttestation* last_attestation(const std::string& payload_uuid) const;

  // Drops everything when device.erase_count() differs from the last call's (the first
  // call only records it).
  void forget_if_erased(const Device& device);
  void clear();

 private:
  std::map<std::string, KeychainIdentity> identities_;
  std::map<std::string, SentAttestation> sent_;
  std::optional<std::uint64_t> seen_erase_count_;
};

}  // namespace attestlab::sim

// The ACMECertificate payload model: its effective values and the payload an MDM sends
// for attestation. Plist conversion is in acme_payload_plist.cpp, the device's checks in
// acme_payload_validation.cpp.
#include "sim/device/acme_payload.h"

#include "core/bytes.h"

namespace attestlab::sim {

bool AcmeSubjectAltName::empty() const {
  return rfc822_name.empty() && dns_name.empty() && uniform_resource_identifier.empty() &&
         nt_principal_name.empty();
}

void PlistDeleter::operator()(void* node) const noexcept {
  if (node != nullptr) plist_free(node);
}

std::string new_payload_uuid() {
  Bytes b = random_bytes(16);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 0x0f];
  }
  return out;
}

AcmePayload AcmePayload::for_attestation(std::string directory_url, std::string client_identifier,
                                         std::int64_t key_size) {
  AcmePayload p;
  p.payload_type = kAcmePayloadType;
  p.payload_uuid = new_payload_uuid();
  p.payload_identifier = "com.attestlab.acme." + *p.payload_uuid;
  p.payload_version = 1;
  p.payload_display_name = "ACME device identity";
  p.subject = std::vector<SubjectRdn>{{{"CN", client_identifier}}};
  p.directory_url = std::move(directory_url);
  p.client_identifier = std::move(client_identifier);
  p.key_type = kAcmeKeyTypeEc;
  p.key_size = key_size;
  p.hardware_bound = true;
  p.attest = true;
  p.usage_flags = kAcmeUsageSign;
  p.extended_key_usage = std::vector<std::string>{"1.3.6.1.5.5.7.3.2"};
  p.key_is_extractable = false;
  return p;
}

}  // namespace attestlab::sim

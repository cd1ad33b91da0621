// The MDM server's side of Managed Device Attestation: judging the DeviceInformation
// answers that carry DevicePropertiesAttestation (assess_device_attestation does the
// checking; this file decides which answer it sees and what the device record keeps).
#include <algorithm>

#include "sim/mdm/mdm_attestation.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/mdm_server_impl.h"

namespace attestlab::sim::mdm_server_detail {
namespace {

bool queries_attestation(const mdm::MdmCommand& command) {
  const Json* queries = plist_array(command.fields, "Queries");
  if (queries == nullptr) return false;
  return std::any_of(queries->begin(), queries->end(), [](const Json& q) {
    return q.is_string() && q.get<std::string>() == mdm::kQueryDevicePropertiesAttestation;
  });
}

}  // namespace

void record_device_information(const MdmServerConfig& config, MdmDeviceRecord& d,
                               const MdmCommandRecord& c, std::int64_t now) {
  const Json* responses = plist_dict(c.response, "QueryResponses");
  if (responses != nullptr) {
    if (const std::string* os = plist_string(*responses, mdm::kQueryOsVersion))
      d.claims.os_version = *os;
  }
  if (!queries_attestation(c.command)) return;
  d.attestation_checked_at = now;
  if (c.status != mdm::kStatusAcknowledged) {
    const std::string reason = "the attestation request " + c.command.command_uuid + " failed (" +
                               c.status + "): " + describe_error_chain(c.error_chain);
    if (d.attestation.verdict == AttestationVerdict::Unknown) d.attestation.reasons.clear();
    d.attestation.reasons.push_back(reason);
    return;
  }
  const Json* certs = responses == nullptr
                          ? nullptr
                          : plist_array(*responses, mdm::kQueryDevicePropertiesAttestation);
  if (certs == nullptr) {
    d.attestation = AttestationAssessment{};
    d.attestation.reasons.push_back(
        "the device answered without DevicePropertiesAttestation: it cannot attest (hardware "
        "older than "
        "A11 or an Intel Mac, or an OS older than iOS 16 / macOS 14)");
    return;
  }
  std::vector<Bytes> ders;
  for (const auto& item : *certs) {
    if (!item.is_binary()) {
      d.attestation = AttestationAssessment{};
      d.attestation.verdict = AttestationVerdict::Untrusted;
      d.attestation.reasons.push_back("DevicePropertiesAttestation holds an item that is not data");
      return;
    }
    ders.push_back(static_cast<const Bytes&>(item.get_binary()));
  }
  d.attestation = assess_device_attestation(ders, c.attestation_nonce, d.claims,
                                            config.attestation_roots, config.policy, now);
}

}  // namespace attestlab::sim::mdm_server_detail

// What the MDM server sends a device unasked (the blueprint) and the commands it is made of:
// the ACME certificate profile and the attestation request.
#include "core/bytes.h"
#include "sim/device/acme_payload.h"
#include "sim/mdm/mdm_server_impl.h"
#include "sim/mdm/profile.h"

namespace attestlab::sim::mdm_server_detail {

std::string client_identifier_for(const MdmServerConfig& config, const MdmDeviceRecord& d) {
  if (d.user_enrollment) return d.enrollment_id;
  if (config.client_identifier == ClientIdentifierSource::Udid || d.serial.empty()) return d.udid;
  return d.serial;
}

Result<std::string> acme_profile_xml(const MdmServerConfig& config, const MdmDeviceRecord& d) {
  if (config.acme_directory_url.empty()) {
    return Error::make("malformed", "the MDM has no ACME directory URL configured");
  }
  AcmeProfileOptions o;
  o.acme = AcmePayload::for_attestation(config.acme_directory_url, client_identifier_for(config, d),
                                        config.acme_key_size);
  o.wifi_ssids = config.acme_wifi_ssids;
  o.vpn_servers = config.acme_vpn_servers;
  o.trust_anchors = config.acme_trust_anchors;
  o.identifier = config.acme_profile_identifier;
  return profile_to_xml(make_acme_profile(o));
}

mdm::MdmCommand attestation_command(const MdmServerConfig& config, bool with_nonce) {
  std::optional<Bytes> nonce;
  if (with_nonce) nonce = random_bytes(kAttestationNonceSize);
  return mdm::make_device_information(config.attestation_queries, nonce);
}

void apply_blueprint(const MdmServerConfig& config, MdmDeviceRecord& d, std::int64_t now) {
  if (!config.acme_directory_url.empty()) {
    auto xml = acme_profile_xml(config, d);
    if (xml) {
      d.acme_client_identifier = client_identifier_for(config, d);
      (void)enqueue_command(d, mdm::make_install_profile(*xml), config.max_queued_commands, now);
    }
  }
  (void)enqueue_command(d, attestation_command(config, true), config.max_queued_commands, now);
}

}  // namespace attestlab::sim::mdm_server_detail

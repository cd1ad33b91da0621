// Configuration profiles (.mobileconfig): building the ones attestlab's MDM sends and
// reading the ones a device receives. A profile is a plist dict (held as JSON, see
// sim/mdm/mdm_plist.h) with PayloadType "Configuration", its own PayloadIdentifier /
// PayloadUUID / PayloadVersion, and a PayloadContent array of payload dicts. Payloads
// point at each other by PayloadUUID (a Wi-Fi payload's PayloadCertificateUUID names the
// ACMECertificate payload whose identity it uses).
//
// Signed profiles (CMS SignedData around the plist, as MDMs often send) are unwrapped
// without checking the signature: attestlab models what a device installs, not who
// signed it.
//
// Pure functions; thread-safe. Nothing throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "sim/device/acme_payload.h"

namespace attestlab::sim {

inline constexpr const char* kConfigurationPayloadType = "Configuration";
inline constexpr const char* kMdmPayloadType = "com.apple.mdm";
inline constexpr const char* kWifiPayloadType = "com.apple.wifi.managed";
inline constexpr const char* kVpnPayloadType = "com.apple.vpn.managed";
inline constexpr const char* kScepPayloadType = "com.apple.security.scep";
inline constexpr const char* kPkcs12PayloadType = "com.apple.security.pkcs12";
inline constexpr const char* kRootCertificatePayloadType = "com.apple.security.root";

// Every MDM access right (Apple's AccessRights bit field, 1 through 4096).
inline constexpr std::int64_t kMdmAllAccessRights = 8191;
// How many other payloads may use one ACMECertificate payload's identity (PROTOCOL.md §4).
inline constexpr std::size_t kMaxAcmeReferences = 10;

// Reads a .mobileconfig: XML or binary plist, or either inside CMS SignedData (DER).
// Error("malformed") when it is none of these or its root is not a dict. The dict is
// returned as found; lint_profile() (sim/mdm/profile_lint.h) judges it.
Result<Json> parse_profile(std::string_view file_bytes);

// The profile as XML plist text (what `attestlab profile make` writes).
std::string profile_to_xml(const Json& profile);

// A new, empty Configuration profile.
Json make_configuration_profile(const std::string& identifier, const std::string& display_name,
                                const std::string& organization = "attestlab");

// The AcmePayload as a plist dict (JSON form) to put into PayloadContent.
Json acme_payload_to_json(const AcmePayload& payload);

// A Wi-Fi payload (WPA2 Enterprise, EAP-TLS) whose client identity is the payload with
// certificate_uuid (PayloadCertificateUUID).
Json make_wifi_payload(const std::string& ssid, const std::string& certificate_uuid);
// A trusted root certificate payload (PayloadContent = the DER certificate): how an MDM
// makes devices trust a private ACME server's TLS certificate.
Json make_root_certificate_payload(const Bytes& certificate_der, const std::string& name);
// An IKEv2 VPN payload authenticating with the certificate of certificate_uuid
// (IKEv2.PayloadCertificateUUID).
Json make_vpn_payload(const std::string& remote_address, const std::string& certificate_uuid);

struct AcmeProfileOptions {
  AcmePayload acme;                      // usually AcmePayload::for_attestation(...)
  std::vector<std::string> wifi_ssids;   // one Wi-Fi payload each, using the ACME identity
  std::vector<std::string> vpn_servers;  // one IKEv2 VPN payload each, using the ACME identity
  std::vector<Bytes>
      trust_anchors;       // DER root certificates to trust (e.g. the ACME server's TLS CA)
  std::string identifier;  // profile PayloadIdentifier; empty = com.attestlab.acme.profile.<uuid>
  std::string display_name = "Device identity (ACME)";
  std::string organization = "attestlab";
};

// A profile with the trust anchors first (a device installs them before it enrolls), then
// the ACME payload, then the Wi-Fi and VPN payloads that reference its PayloadUUID.
Json make_acme_profile(const AcmeProfileOptions& options);

struct MdmEnrollmentOptions {
  std::string server_url;    // the command endpoint, e.g. https://mdm.example/mdm/connect
  std::string check_in_url;  // the check-in endpoint, e.g. https://mdm.example/mdm/checkin
  std::string topic;         // APNs topic, "com.apple.mgmt.External.<uuid>"
  std::int64_t access_rights = kMdmAllAccessRights;
  bool sign_message = false;
  bool check_out_when_removed = true;
  // The MDM identity: when set, the payload is included in the profile and the MDM
  // payload's IdentityCertificateUUID names it. Absent: no IdentityCertificateUUID
  // (attestlab's MDM identifies devices by UDID; see sim/mdm/mdm_server.h).
  std::optional<AcmePayload> identity;
  std::string identifier;  // empty = com.attestlab.mdm.enrollment
  std::string display_name = "attestlab MDM enrollment";
  std::string organization = "attestlab";
};

// The enrollment profile GET /mdm/enroll serves: one com.apple.mdm payload (ServerURL,
// CheckInURL, Topic, AccessRights, SignMessage, CheckOutWhenRemoved, ServerCapabilities
// [com.apple.mdm.per-user-connections] ) and the identity payload when given.
Json make_mdm_enrollment_profile(const MdmEnrollmentOptions& options);

// What a device lists for a profile (ProfileList) and what it needs to manage it.
struct ProfileSummary {
  std::string identifier;
  std::string uuid;
  std::string display_name;
  std::int64_t version = 1;
  struct Payload {
    std::string type, identifier, uuid, display_name;
    std::int64_t version = 1;
  };
  std::vector<Payload> payloads;
};
// Reads the summary out of a parsed profile; missing members stay empty.
ProfileSummary summarize_profile(const Json& profile);

// The PayloadContent dicts of a profile (empty when absent or not an array; items that
// are not dicts are skipped).
std::vector<Json> profile_payloads(const Json& profile);

// Every ACMECertificate payload of a profile, parsed (sim/device/acme_payload.h).
std::vector<AcmePayload> profile_acme_payloads(const Json& profile);

}  // namespace attestlab::sim

#include "sim/mdm/profile.h"

#include <openssl/cms.h>
#include <openssl/objects.h>

#include <memory>

#include "sim/mdm/mdm_plist.h"

namespace attestlab::sim {
namespace {

// The plist inside a CMS SignedData (DER) without verifying the signature, or nullopt when
// the bytes are not SignedData with embedded content.
std::optional<std::string> unwrap_cms(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)> cms(
      d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())), &CMS_ContentInfo_free);
  if (!cms || OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) return std::nullopt;
  ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
  if (content == nullptr || *content == nullptr) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*content)),
                     static_cast<std::size_t>(ASN1_STRING_length(*content)));
}

Json common_payload(const std::string& type, const std::string& identifier,
                    const std::string& display_name) {
  const std::string uuid = new_payload_uuid();
  return Json{{"PayloadType", type},
              {"PayloadUUID", uuid},
              {"PayloadIdentifier", identifier.empty() ? type + "." + uuid : identifier},
              {"PayloadVersion", 1},
              {"PayloadDisplayName", display_name}};
}

std::string string_or_empty(const Json& dict, const char* key) {
  const std::string* s = plist_string(dict, key);
  return s == nullptr ? std::string() : *s;
}

}  // namespace

Result<Json> parse_profile(std::string_view file_bytes) {
  std::string_view text = file_bytes;
  std::optional<std::string> unwrapped;
  // A DER SEQUENCE never starts a plist ("<?xml", "<plist", "bplist00", whitespace).
  if (!text.empty() && static_cast<unsigned char>(text.front()) == 0x30) {
    unwrapped = unwrap_cms(text);
    if (!unwrapped)
      return Error::make("malformed", "neither a property list nor CMS SignedData with content");
    text = *unwrapped;
  }
  auto root = plist_to_json(text);
  if (!root) return root.error();
  if (!root->is_object()) return Error::make("malformed", "the profile's root is not a dict");
  return root;
}

std::string profile_to_xml(const Json& profile) {
  return json_to_plist_xml(profile);
}

Json make_configuration_profile(const std::string& identifier, const std::string& display_name,
                                const std::string& organization) {
  Json profile = common_payload(kConfigurationPayloadType, identifier, display_name);
  profile["PayloadOrganization"] = organization;
  profile["PayloadContent"] = Json::array();
  return profile;
}

Json acme_payload_to_json(const AcmePayload& payload) {
  auto converted = plist_to_json(acme_payload_to_xml(payload));
  // acme_payload_to_xml always writes a dict; an empty dict would only hide a libplist bug.
  return converted ? *converted : Json::object();
}

Json make_wifi_payload(const std::string& ssid, const std::string& certificate_uuid) {
  Json p = common_payload(kWifiPayloadType, "", "Wi-Fi " + ssid);
  p["SSID_STR"] = ssid;
  p["AutoJoin"] = true;
  p["EncryptionType"] = "WPA2";
  p["HIDDEN_NETWORK"] = false;
  p["EAPClientConfiguration"] = Json{{"AcceptEAPTypes", Json::array({13})}};  // 13 = EAP-TLS
  p["PayloadCertificateUUID"] = certificate_uuid;
  return p;
}

Json make_root_certificate_payload(const Bytes& certificate_der, const std::string& name) {
  Json p = common_payload(kRootCertificatePayloadType, "", name);
  p["PayloadCertificateFileName"] = name + ".cer";
  p["PayloadContent"] = plist_data(certificate_der);
  return p;
}

Json make_vpn_payload(const std::string& remote_address, const std::string& certificate_uuid) {
  Json p = common_payload(kVpnPayloadType, "", "VPN " + remote_address);
  p["UserDefinedName"] = "VPN " + remote_address;
  p["VPNType"] = "IKEv2";
  p["IKEv2"] = Json{{"RemoteAddress", remote_address},
                    {"RemoteIdentifier", remote_address},
                    {"AuthenticationMethod", "Certificate"},
                    {"ExtendedAuthEnabled", 0},
                    {"PayloadCertificateUUID", certificate_uuid}};
  return p;
}

Json make_acme_profile(const AcmeProfileOptions& o) {
  const std::string uuid = new_payload_uuid();
  Json profile = make_configuration_profile(
      o.identifier.empty() ? "com.attestlab.acme.profile." + uuid : o.identifier, o.display_name,
      o.organization);
  profile["PayloadUUID"] = uuid;
  Json& content = profile["PayloadContent"];
  for (std::size_t i = 0; i < o.trust_anchors.size(); ++i) {
    content.push_back(make_root_certificate_payload(o.trust_anchors[i],
                                                    "ACME server CA " + std::to_string(i + 1)));
  }
  content.push_back(acme_payload_to_json(o.acme));
  const std::string acme_uuid = o.acme.payload_uuid.value_or("");
  for (const auto& ssid : o.wifi_ssids) content.push_back(make_wifi_payload(ssid, acme_uuid));
  for (const auto& server : o.vpn_servers) content.push_back(make_vpn_payload(server, acme_uuid));
  return profile;
}

Json make_mdm_enrollment_profile(const MdmEnrollmentOptions& o) {
  Json profile = make_configuration_profile(
      o.identifier.empty() ? "com.attestlab.mdm.enrollment" : o.identifier, o.display_name,
      o.organization);
  Json mdm = common_payload(kMdmPayloadType, "", "Mobile Device Management");
  mdm["ServerURL"] = o.server_url;
  mdm["CheckInURL"] = o.check_in_url;
  mdm["Topic"] = o.topic;
  mdm["AccessRights"] = o.access_rights;
  mdm["SignMessage"] = o.sign_message;
  mdm["CheckOutWhenRemoved"] = o.check_out_when_removed;
  mdm["ServerCapabilities"] = Json::array({"com.apple.mdm.per-user-connections"});
  Json& content = profile["PayloadContent"];
  if (o.identity) {
    content.push_back(acme_payload_to_json(*o.identity));
    mdm["IdentityCertificateUUID"] = o.identity->payload_uuid.value_or("");
  }
  content.push_back(std::move(mdm));
  return profile;
}

ProfileSummary summarize_profile(const Json& profile) {
  ProfileSummary s;
  s.identifier = string_or_empty(profile, "PayloadIdentifier");
  s.uuid = string_or_empty(profile, "PayloadUUID");
  s.display_name = string_or_empty(profile, "PayloadDisplayName");
  s.version = plist_integer(profile, "PayloadVersion").value_or(1);
  for (const Json& payload : profile_payloads(profile)) {
    ProfileSummary::Payload p;
    p.type = string_or_empty(payload, "PayloadType");
    p.identifier = string_or_empty(payload, "PayloadIdentifier");
    p.uuid = string_or_empty(payload, "PayloadUUID");
    p.display_name = string_or_empty(payload, "PayloadDisplayName");
    p.version = plist_integer(payload, "PayloadVersion").value_or(1);
    s.payloads.push_back(std::move(p));
  }
  return s;
}

std::vector<Json> profile_payloads(const Json& profile) {
  std::vector<Json> out;
  const Json* content = plist_array(profile, "PayloadContent");
  if (content == nullptr) return out;
  for (const auto& item : *content)
    if (item.is_object()) out.push_back(item);
  return out;
}

std::vector<AcmePayload> profile_acme_payloads(const Json& profile) {
  std::vector<AcmePayload> out;
  for (const Json& payload : profile_payloads(profile)) {
    const std::string* type = plist_string(payload, "PayloadType");
    if (type == nullptr || *type != kAcmePayloadType) continue;
    auto parsed = parse_acme_payload_text(json_to_plist_xml(payload));
    if (parsed) out.push_back(std::move(*parsed));
  }
  return out;
}

}  // namespace attestlab::sim

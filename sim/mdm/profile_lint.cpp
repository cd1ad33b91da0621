#include "sim/mdm/profile_lint.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "core/http.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/profile.h"

namespace attestlab::sim {
namespace {

using Severity = ProfileProblem::Severity;

// What an admin should do about each device-side ACME rule (validate_as_device codes).
const std::map<std::string, std::string>& acme_hints() {
  static const std::map<std::string, std::string> hints = {
      {"attest_requires_hardware_bound",
       "Attest asks Apple to vouch that the key was made in this device's Secure Enclave, so the "
       "key must be made there: set HardwareBound to true (KeyType ECSECPrimeRandom, KeySize 384). "
       "Devices refuse the payload as it is"},
      {"attest_with_rsa",
       "Apple attests only Secure Enclave keys, which are elliptic-curve keys: use KeyType "
       "ECSECPrimeRandom with KeySize 384, or drop Attest (and HardwareBound) to keep RSA"},
      {"hardware_bound_requires_ec",
       "the Secure Enclave makes only ECSECPrimeRandom (P-256/P-384) keys: use KeyType "
       "ECSECPrimeRandom with KeySize 384, or set HardwareBound false to keep an RSA key in "
       "software"},
      {"hardware_bound_key_size",
       "the Secure Enclave makes P-256 and P-384 keys only: set KeySize to 384 (preferred) or 256"},
      {"unsupported_key_size",
       "pick a key size the device supports (ECSECPrimeRandom 256/384, RSA 2048+)"},
      {"directory_url_not_https",
       "devices speak ACME only over HTTPS: use your ACME server's https:// directory URL"},
      {"invalid_directory_url",
       "set DirectoryURL to your ACME server's directory, e.g. "
       "https://ca.example.com/acme/directory"},
      {"missing_directory_url",
       "set DirectoryURL to your ACME server's directory, e.g. "
       "https://ca.example.com/acme/directory"},
      {"missing_client_identifier",
       "the ClientIdentifier becomes the device's permanent-identifier in the ACME order, which "
       "the "
       "server matches against the attested serial number or UDID: set it per device (MDMs "
       "substitute "
       "the serial number)"},
      {"empty_client_identifier",
       "the ClientIdentifier becomes the device's permanent-identifier in the ACME order: set it "
       "per "
       "device (MDMs substitute the serial number)"},
      {"missing_hardware_bound",
       "say where the key lives: HardwareBound true for Secure Enclave keys (needed for Attest)"},
      {"missing_key_type",
       "set KeyType to ECSECPrimeRandom (Secure Enclave) or RSA (software key)"},
      {"missing_key_size", "set KeySize: 384 for hardware-bound ECSECPrimeRandom keys"},
      {"missing_subject",
       "give a Subject, e.g. [[[\"CN\", \"<serial>\"]]]; an empty array is allowed"},
      {"client_identifier_not_permanent_identifier",
       "servers refuse such identifiers as malformed; use the plain serial number or UDID"},
      {"extractable_hardware_bound_key", "remove KeyIsExtractable or set it to false"},
  };
  return hints;
}

// Payload types whose payload gives other payloads a certificate with its private key.
bool provides_identity(const std::string& type) {
  return type == kAcmePayloadType || type == kScepPayloadType || type == kPkcs12PayloadType;
}

// Payload types Apple documents that profiles made for device attestation commonly carry.
const std::vector<std::string>& known_payload_types() {
  static const std::vector<std::string> kTypes = {kAcmePayloadType,
                                                  kMdmPayloadType,
                                                  kWifiPayloadType,
                                                  kVpnPayloadType,
                                                  kScepPayloadType,
                                                  kPkcs12PayloadType,
                                                  kRootCertificatePayloadType,
                                                  "com.apple.security.pem",
                                                  "com.apple.security.pkcs1",
                                                  "com.apple.vpn.managed.applayer",
                                                  "com.apple.firstactiveethernet.managed",
                                                  "com.apple.eap.managed",
                                                  "com.apple.relay.managed",
                                                  "com.apple.dnsSettings.managed"};
  return kTypes;
}

bool is_known_payload_type(const std::string& type) {
  const auto& types = known_payload_types();
  return std::find(types.begin(), types.end(), type) != types.end();
}

// "did you mean X?" when one is a prefix of the other (a truncated or extended type such as
// "com.apple.security.acm"), else the list of the known types.
std::string known_types_hint(const std::string& type) {
  for (const auto& known : known_payload_types()) {
    if (known.rfind(type, 0) == 0 || type.rfind(known, 0) == 0)
      return "did you mean " + known + "?";
  }
  std::string list;
  for (const auto& known : known_payload_types()) list += (list.empty() ? "" : ", ") + known;
  return "known: " + list;
}

const char* friendly_type(const std::string& type) {
  if (type == kAcmePayloadType) return "ACME certificate";
  if (type == kWifiPayloadType) return "Wi-Fi";
  if (type == kVpnPayloadType) return "VPN";
  if (type == kMdmPayloadType) return "MDM";
  if (type == kScepPayloadType) return "SCEP";
  if (type == kPkcs12PayloadType) return "PKCS #12 identity";
  return "";
}

// Keys whose string value names the payload whose identity (certificate and key) is used.
bool is_identity_reference_key(const std::string& key) {
  return key == "PayloadCertificateUUID" || key == "IdentityCertificateUUID";
}

struct Reference {
  std::string key;  // path, e.g. "IKEv2.PayloadCertificateUUID"
  std::string uuid;
};

void collect_references(const Json& node, const std::string& path, std::vector<Reference>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      const std::string here = path.empty() ? key : path + "." + key;
      if (is_identity_reference_key(key) && value.is_string()) {
        out.push_back({here, value.get<std::string>()});
      } else {
        collect_references(value, here, out);
      }
    }
  } else if (node.is_array()) {
    for (const auto& item : node) collect_references(item, path, out);
  }
}

bool is_https_url(const std::string& text) {
  auto url = http::Url::parse(text);
  return url && url->scheme == "https" && !url->host.empty();
}

class Linter {
 public:
  explicit Linter(bool expect_acme_payload) : expect_acme_payload_(expect_acme_payload) {}

  std::vector<ProfileProblem> run(std::string_view bytes) {
    auto parsed = parse_profile(bytes);
    if (!parsed) {
      add("not_a_profile", Severity::Error, "profile", "", "",
          "the file cannot be read as a configuration profile (" + parsed.error().detail +
              "); a device shows it as invalid and installs nothing");
      return std::move(out_);
    }
    const Json& root = *parsed;
    profile_label_ = label_of(root, "profile");
    lint_root(root);
    lint_payloads(root);
    return std::move(out_);
  }

 private:
  void add(std::string code, Severity severity, std::string payload, std::string type,
           std::string key, std::string message) {
    out_.push_back({std::move(code), severity, std::move(payload), std::move(type), std::move(key),
                    std::move(message)});
  }

  static std::string label_of(const Json& dict, const std::string& fallback) {
    const std::string* id = plist_string(dict, "PayloadIdentifier");
    return id != nullptr && !id->empty() ? *id : fallback;
  }

  // The four common keys every payload (and the profile) must have.
  void lint_common_keys(const Json& dict, const std::string& label, const std::string& type,
                        bool is_root) {
    const std::string what = is_root ? "the profile" : "this payload";
    struct Key {
      const char* name;
      const char* code;
      bool integer;
      const char* why;
    };
    static const Key keys[] = {
        {"PayloadType", "missing_payload_type", false,
         "without it the device does not know what the payload configures"},
        {"PayloadIdentifier", "missing_payload_identifier", false,
         "the device uses it to tell whether a new profile replaces an installed one"},
        {"PayloadUUID", "missing_payload_uuid", false,
         "it identifies the payload, and other payloads refer to certificates by it"},
        {"PayloadVersion", "missing_payload_version", true, "set it to 1"},
    };
    for (const auto& k : keys) {
      auto it = dict.find(k.name);
      if (it == dict.end()) {
        add(k.code, Severity::Error, label, type, k.name,
            std::string(k.name) + " is missing from " + what + ": " + k.why +
                ". Devices refuse a profile with a payload that lacks it");
        continue;
      }
      const bool right_type = k.integer
                                  ? it->is_number_integer()
                                  : (it->is_string() && !it->get_ref<const std::string&>().empty());
      if (!right_type) {
        add("wrong_type", Severity::Error, label, type, k.name,
            std::string(k.name) + " must be " + (k.integer ? "an integer" : "a non-empty string") +
                ", found " + plist_type_name(*it) + "; devices refuse the profile");
      }
    }
  }

  void lint_root(const Json& root) {
    const std::string* type = plist_string(root, "PayloadType");
    if (type != nullptr && *type != kConfigurationPayloadType) {
      std::string message = "the file's top-level PayloadType is \"" + *type +
                            "\", but devices install only "
                            "profiles of type Configuration";
      if (*type == kAcmePayloadType || type->rfind("com.apple.", 0) == 0) {
        message +=
            ": this is a bare payload; put it into the PayloadContent array of a Configuration "
            "profile "
            "(attestlab profile make does this)";
      }
      add("wrong_profile_type", Severity::Error, profile_label_, *type, "PayloadType", message);
    }
    lint_common_keys(root, profile_label_, kConfigurationPayloadType, true);
    auto content = root.find("PayloadContent");
    if (content == root.end()) {
      if (type == nullptr || *type == kConfigurationPayloadType) {
        add("missing_payload_content", Severity::Error, profile_label_, kConfigurationPayloadType,
            "PayloadContent",
            "the profile has no PayloadContent array, so it configures nothing; devices refuse it");
      }
    } else if (!content->is_array()) {
      add("wrong_type", Severity::Error, profile_label_, kConfigurationPayloadType,
          "PayloadContent",
          std::string("PayloadContent must be an array of payload dicts, found ") +
              plist_type_name(*content));
    } else if (content->empty()) {
      add("empty_payload_content", Severity::Warning, profile_label_, kConfigurationPayloadType,
          "PayloadContent", "the profile has no payloads: it installs but configures nothing");
    }
  }

  void lint_payloads(const Json& root) {
    const Json* content = plist_array(root, "PayloadContent");
    if (content == nullptr) return;

    struct Seen {
      std::string label, type;
    };
    std::map<std::string, Seen> by_uuid;
    std::map<std::string, std::string> by_identifier;  // identifier → label of first
    if (const std::string* uuid = plist_string(root, "PayloadUUID");
        uuid != nullptr && !uuid->empty()) {
      by_uuid[*uuid] = {profile_label_, kConfigurationPayloadType};
    }
    if (const std::string* id = plist_string(root, "PayloadIdentifier");
        id != nullptr && !id->empty()) {
      by_identifier[*id] = "the profile itself";
    }

    struct PayloadInfo {
      std::string label, type;
      const Json* dict;
    };
    std::vector<PayloadInfo> payloads;
    int mdm_count = 0;
    int acme_count = 0;
    for (std::size_t i = 0; i < content->size(); ++i) {
      const Json& item = (*content)[i];
      const std::string fallback = "PayloadContent[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        add("payload_not_dict", Severity::Error, fallback, "", "",
            std::string("every PayloadContent entry must be a payload dict, this one is a ") +
                plist_type_name(item) + "; devices refuse the profile");
        continue;
      }
      const std::string label = label_of(item, fallback);
      const std::string* type_ptr = plist_string(item, "PayloadType");
      const std::string type = type_ptr == nullptr ? "" : *type_ptr;
      payloads.push_back({label, type, &item});

      if (type_ptr != nullptr && !is_known_payload_type(type)) {
        add("unknown_payload_type", Severity::Warning, label, type, "PayloadType",
            "PayloadType \"" + type + "\" is not one this linter knows (" + known_types_hint(type) +
                "); check its spelling: a device ignores or refuses a " +
                "payload of a type it does not know");
      }
      if (type == kAcmePayloadType) {
        ++acme_count;
        lint_acme(item, label);
      } else {
        lint_common_keys(item, label, type, false);
      }
      if (type == kMdmPayloadType) {
        ++mdm_count;
        lint_mdm(item, label);
      }

      if (const std::string* uuid = plist_string(item, "PayloadUUID");
          uuid != nullptr && !uuid->empty()) {
        auto [it, fresh] = by_uuid.emplace(*uuid, Seen{label, type});
        if (!fresh) {
          add("duplicate_payload_uuid", Severity::Error, label, type, "PayloadUUID",
              "PayloadUUID " + *uuid + " is also used by " + it->second.label +
                  "; every payload needs its own UUID (certificate references would be ambiguous), "
                  "and devices "
                  "refuse the profile");
        }
      }
      if (const std::string* id = plist_string(item, "PayloadIdentifier");
          id != nullptr && !id->empty()) {
        auto [it, fresh] = by_identifier.emplace(*id, label);
        if (!fresh) {
          add("duplicate_payload_identifier", Severity::Error, label, type, "PayloadIdentifier",
              "PayloadIdentifier " + *id + " is also used by " + it->second +
                  "; identifiers must be unique within a profile (append a suffix such as .wifi or "
                  ".acme)");
        }
      }
    }
    // An MDM enrollment profile carries no ACME payload; any other profile given to this
    // linter is meant to make the device ask for an attested certificate.
    if (expect_acme_payload_ && acme_count == 0 && mdm_count == 0) {
      add("no_acme_payload", Severity::Error, profile_label_, kConfigurationPayloadType,
          "PayloadContent",
          std::string("the profile has no payload of PayloadType \"") + kAcmePayloadType +
              "\"; a device given it never asks for an attested certificate");
    }
    if (mdm_count > 1) {
      add("multiple_mdm_payloads", Severity::Error, profile_label_, kConfigurationPayloadType,
          "PayloadContent",
          "the profile has " + std::to_string(mdm_count) +
              " MDM payloads; a device enrolls in exactly one MDM, so it refuses the profile");
    }

    // Certificate references.
    std::vector<std::string> acme_uuids;
    for (const auto& [uuid, seen] : by_uuid)
      if (seen.type == kAcmePayloadType) acme_uuids.push_back(uuid);
    std::map<std::string, std::vector<std::string>>
        users_of_acme;  // ACME UUID → referencing labels
    for (const auto& p : payloads) {
      std::vector<Reference> refs;
      collect_references(*p.dict, "", refs);
      for (const auto& ref : refs) {
        auto target = by_uuid.find(ref.uuid);
        const std::string kind = friendly_type(p.type);
        const std::string who = (kind.empty() ? "payload " : "the " + kind + " payload ") + p.label;
        if (target == by_uuid.end()) {
          std::string message =
              who + " uses the certificate of payload " + ref.uuid + " (" + ref.key +
              "), but no payload in this profile has that PayloadUUID; the device refuses the "
              "whole profile";
          if (acme_uuids.size() == 1) {
            message += ". Did you mean the ACME payload's PayloadUUID " + acme_uuids.front() + "?";
          }
          add("unknown_certificate_reference", Severity::Error, p.label, p.type, ref.key, message);
          continue;
        }
        if (!provides_identity(target->second.type)) {
          add("reference_not_identity", Severity::Error, p.label, p.type, ref.key,
              who + " uses " + target->second.label + " (" +
                  (target->second.type.empty() ? std::string("no PayloadType")
                                               : target->second.type) +
                  ") as its certificate, but that payload provides no identity; reference an ACME, "
                  "SCEP or "
                  "PKCS #12 payload");
          continue;
        }
        if (target->second.type == kAcmePayloadType) users_of_acme[ref.uuid].push_back(p.label);
      }
    }
    for (const auto& [uuid, users] : users_of_acme) {
      if (users.size() <= kMaxAcmeReferences) continue;
      add("too_many_acme_references", Severity::Error, by_uuid[uuid].label, kAcmePayloadType,
          "PayloadUUID",
          std::to_string(users.size()) +
              " payloads use this ACME certificate, but a device lets at most " +
              std::to_string(kMaxAcmeReferences) +
              " payloads share one ACME identity; split them across several ACME payloads");
    }
  }

  void lint_acme(const Json& dict, const std::string& label) {
    auto parsed = parse_acme_payload_text(json_to_plist_xml(dict));
    if (!parsed) return;  // a dict always parses; nothing to add
    for (const auto& problem : validate_as_device(*parsed)) {
      std::string message = problem.message;
      auto hint = acme_hints().find(problem.code);
      if (hint != acme_hints().end()) message += ". Fix: " + hint->second;
      add(problem.code, problem.severity, label, kAcmePayloadType, problem.key, message);
    }
  }

  void lint_mdm(const Json& dict, const std::string& label) {
    const std::string* server_url = plist_string(dict, "ServerURL");
    if (server_url == nullptr || server_url->empty()) {
      add("mdm_missing_server_url", Severity::Error, label, kMdmPayloadType, "ServerURL",
          "ServerURL (where the device fetches its commands) is missing; the device cannot enroll");
    } else if (!is_https_url(*server_url)) {
      add("mdm_url_not_https", Severity::Error, label, kMdmPayloadType, "ServerURL",
          "ServerURL \"" + *server_url +
              "\" is not an https URL; devices talk to the MDM only over HTTPS");
    }
    if (const std::string* check_in = plist_string(dict, "CheckInURL");
        check_in != nullptr && !is_https_url(*check_in)) {
      add("mdm_url_not_https", Severity::Error, label, kMdmPayloadType, "CheckInURL",
          "CheckInURL \"" + *check_in +
              "\" is not an https URL; devices talk to the MDM only over HTTPS");
    }
    const std::string* topic = plist_string(dict, "Topic");
    if (topic == nullptr || topic->empty()) {
      add("mdm_missing_topic", Severity::Error, label, kMdmPayloadType, "Topic",
          "Topic (the APNs topic of your MDM push certificate) is missing; the device cannot be "
          "woken up "
          "and refuses to enroll");
    } else if (topic->rfind("com.apple.mgmt.", 0) != 0) {
      add("mdm_topic_not_apns", Severity::Warning, label, kMdmPayloadType, "Topic",
          "Topic \"" + *topic +
              "\" does not look like an MDM push topic (com.apple.mgmt.External.<UUID>, "
              "the UID of your APNs certificate); pushes will not reach the device");
    }
    auto rights = plist_integer(dict, "AccessRights");
    if (!rights || *rights < 1 || *rights > kMdmAllAccessRights) {
      add("mdm_invalid_access_rights", Severity::Error, label, kMdmPayloadType, "AccessRights",
          "AccessRights must be an integer from 1 to 8191 (a sum of Apple's access-right flags; "
          "8191 grants "
          "all); devices refuse the payload otherwise");
    }
    if (auto it = dict.find("SignMessage"); it != dict.end() && !it->is_boolean()) {
      add("wrong_type", Severity::Error, label, kMdmPayloadType, "SignMessage",
          std::string("SignMessage must be a boolean, found ") + plist_type_name(*it));
    }
    if (dict.find("IdentityCertificateUUID") == dict.end()) {
      add("mdm_missing_identity", Severity::Warning, label, kMdmPayloadType,
          "IdentityCertificateUUID",
          "no IdentityCertificateUUID: Apple devices need an identity (SCEP, ACME or PKCS #12 "
          "payload) to "
          "authenticate to the MDM; attestlab's emulator accepts devices without one");
    }
  }

  std::vector<ProfileProblem> out_;
  bool expect_acme_payload_;
  std::string profile_label_;
};

}  // namespace

std::vector<ProfileProblem> lint_profile(std::string_view file_bytes, bool expect_acme_payload) {
  return Linter(expect_acme_payload).run(file_bytes);
}

bool has_errors(const std::vector<ProfileProblem>& problems) {
  for (const auto& p : problems)
    if (p.severity == ProfileProblem::Severity::Error) return true;
  return false;
}

std::string describe(const ProfileProblem& p) {
  std::string line = std::string(to_string(p.severity)) + " " + p.code + " [" + p.payload + "]";
  if (!p.key.empty()) line += " (" + p.key + ")";
  return line + ": " + p.message;
}

}  // namespace attestlab::sim

#include "sim/device/acme_payload.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include "core/bytes.h"
#include "core/http.h"

namespace attestlab::sim {
namespace {

using Severity = PayloadProblem::Severity;

// --- reading plist nodes ------------------------------------------------------------------

const char* plist_type_name(plist_t node) {
  switch (plist_get_node_type(node)) {
    case PLIST_BOOLEAN:
      return "boolean";
    case PLIST_UINT:
      return "integer";
    case PLIST_REAL:
      return "real";
    case PLIST_STRING:
      return "string";
    case PLIST_ARRAY:
      return "array";
    case PLIST_DICT:
      return "dict";
    case PLIST_DATE:
      return "date";
    case PLIST_DATA:
      return "data";
    case PLIST_KEY:
      return "key";
    case PLIST_UID:
      return "uid";
    default:
      return "unknown";
  }
}

std::optional<std::string> string_of(plist_t node) {
  if (node == nullptr || plist_get_node_type(node) != PLIST_STRING) return std::nullopt;
  char* raw = nullptr;
  plist_get_string_val(node, &raw);
  if (raw == nullptr) return std::string();
  std::string value(raw);
  std::free(raw);
  return value;
}

// Calls fn(key, value) for every dict item, in the dict's order.
void for_each_item(plist_t dict, const std::function<void(const std::string&, plist_t)>& fn) {
  plist_dict_iter iter = nullptr;
  plist_dict_new_iter(dict, &iter);
  if (iter == nullptr) return;
  for (;;) {
    char* key = nullptr;
    plist_t value = nullptr;
    plist_dict_next_item(dict, iter, &key, &value);
    if (key == nullptr) break;
    std::string name(key);
    std::free(key);
    if (value != nullptr) fn(name, value);
  }
  std::free(iter);
}

std::vector<plist_t> array_items(plist_t array) {
  std::vector<plist_t> items;
  const std::uint32_t n = plist_array_get_size(array);
  for (std::uint32_t i = 0; i < n; ++i) items.push_back(plist_array_get_item(array, i));
  return items;
}

class PayloadReader {
 public:
  explicit PayloadReader(AcmePayload& out) : out_(out) {}

  void read(const std::string& key, plist_t node) {
    if (key == "PayloadType") return text(key, node, out_.payload_type);
    if (key == "PayloadUUID") return text(key, node, out_.payload_uuid);
    if (key == "PayloadIdentifier") return text(key, node, out_.payload_identifier);
    if (key == "PayloadVersion") return integer(key, node, out_.payload_version);
    if (key == "PayloadDisplayName") return text(key, node, out_.payload_display_name);
    if (key == "PayloadDescription") return text(key, node, out_.payload_description);
    if (key == "PayloadOrganization") return text(key, node, out_.payload_organization);
    if (key == "DirectoryURL") return text(key, node, out_.directory_url);
    if (key == "ClientIdentifier") return text(key, node, out_.client_identifier);
    if (key == "KeyType") return text(key, node, out_.key_type);
    if (key == "KeySize") return integer(key, node, out_.key_size);
    if (key == "HardwareBound") return boolean(key, node, out_.hardware_bound);
    if (key == "Attest") return boolean(key, node, out_.attest);
    if (key == "Subject") return subject(node);
    if (key == "SubjectAltName") return subject_alt_name(node);
    if (key == "UsageFlags") return integer(key, node, out_.usage_flags);
    if (key == "ExtendedKeyUsage") return strings(key, node, out_.extended_key_usage);
    if (key == "KeyIsExtractable") return boolean(key, node, out_.key_is_extractable);
    if (key == "AllowAllAppsAccess") return boolean(key, node, out_.allow_all_apps_access);
    out_.unknown_keys.push_back(key);
  }

 private:
  void wrong_type(const std::string& key, plist_t node, const char* wanted) {
    out_.parse_problems.push_back(
        {"wrong_type", key,
         key + " must be " + wanted + ", found " + plist_type_name(node) + " (ignored)",
         Severity::Error});
  }

  void text(const std::string& key, plist_t node, std::optional<std::string>& field) {
    if (auto s = string_of(node)) {
      field = std::move(*s);
    } else {
      wrong_type(key, node, "a string");
    }
  }

  void integer(const std::string& key, plist_t node, std::optional<std::int64_t>& field) {
    if (plist_get_node_type(node) != PLIST_UINT) return wrong_type(key, node, "an integer");
    std::uint64_t v = 0;
    plist_get_uint_val(node, &v);
    // libplist 2.2 keeps negative XML integers as their two's complement.
    field = static_cast<std::int64_t>(v);
  }

  void boolean(const std::string& key, plist_t node, std::optional<bool>& field) {
    if (plist_get_node_type(node) != PLIST_BOOLEAN) return wrong_type(key, node, "a boolean");
    std::uint8_t v = 0;
    plist_get_bool_val(node, &v);
    field = v != 0;
  }

  void strings(const std::string& key, plist_t node,
               std::optional<std::vector<std::string>>& field) {
    if (plist_get_node_type(node) != PLIST_ARRAY)
      return wrong_type(key, node, "an array of strings");
    std::vector<std::string> values;
    for (plist_t item : array_items(node)) {
      auto s = string_of(item);
      if (!s) return wrong_type(key, item, "an array of strings");
      values.push_back(std::move(*s));
    }
    field = std::move(values);
  }

  void subject(plist_t node) {
    auto bad = [&](const std::string& why) {
      out_.parse_problems.push_back({"invalid_subject", "Subject",
                                     "Subject must be an array of RDNs, each an array of "
                                     "[name, value] string pairs: " +
                                         why,
                                     Severity::Error});
    };
    if (plist_get_node_type(node) != PLIST_ARRAY) return wrong_type("Subject", node, "an array");
    std::vector<SubjectRdn> rdns;
    std::size_t index = 0;
    for (plist_t rdn_node : array_items(node)) {
      const std::string where = "RDN " + std::to_string(index++);
      if (plist_get_node_type(rdn_node) != PLIST_ARRAY) return bad(where + " is not an array");
      SubjectRdn rdn;
      for (plist_t pair : array_items(rdn_node)) {
        if (plist_get_node_type(pair) != PLIST_ARRAY || plist_array_get_size(pair) != 2) {
          return bad(where + " has an attribute that is not a [name, value] pair");
        }
        auto name = string_of(plist_array_get_item(pair, 0));
        auto value = string_of(plist_array_get_item(pair, 1));
        if (!name || !value) return bad(where + " has a name or value that is not a string");
        rdn.emplace_back(std::move(*name), std::move(*value));
      }
      if (rdn.empty()) return bad(where + " is empty");
      rdns.push_back(std::move(rdn));
    }
    out_.subject = std::move(rdns);
  }

  void subject_alt_name(plist_t node) {
    if (plist_get_node_type(node) != PLIST_DICT)
      return wrong_type("SubjectAltName", node, "a dict");
    AcmeSubjectAltName san;
    bool ok = true;
    for_each_item(node, [&](const std::string& key, plist_t value) {
      std::vector<std::string>* target = nullptr;
      if (key == "rfc822Name") target = &san.rfc822_name;
      if (key == "dNSName") target = &san.dns_name;
      if (key == "uniformResourceIdentifier") target = &san.uniform_resource_identifier;
      if (key == "ntPrincipalName") target = &san.nt_principal_name;
      if (target == nullptr) {
        out_.unknown_keys.push_back("SubjectAltName." + key);
        return;
      }
      if (auto s = string_of(value)) {
        target->push_back(std::move(*s));
        return;
      }
      if (plist_get_node_type(value) == PLIST_ARRAY) {
        for (plist_t item : array_items(value)) {
          auto s = string_of(item);
          if (!s) {
            ok = false;
            continue;
          }
          target->push_back(std::move(*s));
        }
        return;
      }
      ok = false;
    });
    if (!ok) {
      out_.parse_problems.push_back({"invalid_subject_alt_name", "SubjectAltName",
                                     "SubjectAltName members must be strings (or arrays of "
                                     "strings); the others are ignored",
                                     Severity::Error});
    }
    out_.subject_alt_name = std::move(san);
  }

  AcmePayload& out_;
};

// --- writing plist nodes --------------------------------------------------------------------

void set_string(plist_t dict, const char* key, const std::optional<std::string>& value) {
  if (value) plist_dict_set_item(dict, key, plist_new_string(value->c_str()));
}
void set_integer(plist_t dict, const char* key, const std::optional<std::int64_t>& value) {
  if (value) plist_dict_set_item(dict, key, plist_new_uint(static_cast<std::uint64_t>(*value)));
}
void set_bool(plist_t dict, const char* key, const std::optional<bool>& value) {
  if (value) plist_dict_set_item(dict, key, plist_new_bool(*value ? 1 : 0));
}
plist_t string_array(const std::vector<std::string>& values) {
  plist_t array = plist_new_array();
  for (const auto& v : values) plist_array_append_item(array, plist_new_string(v.c_str()));
  return array;
}
void set_names(plist_t dict, const char* key, const std::vector<std::string>& names) {
  if (names.empty()) return;
  if (names.size() == 1) {
    plist_dict_set_item(dict, key, plist_new_string(names.front().c_str()));
  } else {
    plist_dict_set_item(dict, key, string_array(names));
  }
}

std::string to_xml(plist_t node) {
  char* xml = nullptr;
  std::uint32_t length = 0;
  plist_to_xml(node, &xml, &length);
  if (xml == nullptr) return {};
  std::string text(xml, length);
  plist_to_xml_free(xml);
  return text;
}

Result<PlistPtr> parse_plist_text(std::string_view text) {
  if (text.empty() || text.size() > UINT32_MAX) {
    return Error::make("malformed", "not a property list (empty or too large)");
  }
  plist_t root = nullptr;
  plist_from_memory(text.data(), static_cast<std::uint32_t>(text.size()), &root);
  if (root == nullptr) return Error::make("malformed", "not a property list (XML or binary)");
  PlistPtr owned(root);
  if (plist_get_node_type(root) != PLIST_DICT) {
    return Error::make("malformed", "the property list's root is not a dict");
  }
  return owned;
}

// --- validation helpers ------------------------------------------------------------------------

bool is_dotted_oid(std::string_view s) {
  if (s.empty()) return false;
  int arcs = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    const std::string_view arc =
        s.substr(start, dot == std::string_view::npos ? s.size() - start : dot - start);
    if (arc.empty()) return false;
    for (char c : arc)
      if (c < '0' || c > '9') return false;
    if (arc.size() > 1 && arc.front() == '0') return false;
    ++arcs;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return arcs >= 2;
}

bool is_printable_token(std::string_view s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

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

Result<AcmePayload> parse_acme_payload(plist_t dict) {
  if (dict == nullptr || plist_get_node_type(dict) != PLIST_DICT) {
    return Error::make("malformed", "an ACME payload must be a dict");
  }
  AcmePayload payload;
  PayloadReader reader(payload);
  for_each_item(dict, [&](const std::string& key, plist_t value) { reader.read(key, value); });
  return payload;
}

Result<AcmePayload> parse_acme_payload_text(std::string_view text) {
  auto root = parse_plist_text(text);
  if (!root) return root.error();
  return parse_acme_payload(root->get());
}

PlistPtr acme_payload_to_plist(const AcmePayload& p) {
  PlistPtr owned(plist_new_dict());
  plist_t dict = owned.get();
  set_string(dict, "PayloadType", p.payload_type);
  set_string(dict, "PayloadUUID", p.payload_uuid);
  set_string(dict, "PayloadIdentifier", p.payload_identifier);
  set_integer(dict, "PayloadVersion", p.payload_version);
  set_string(dict, "PayloadDisplayName", p.payload_display_name);
  set_string(dict, "PayloadDescription", p.payload_description);
  set_string(dict, "PayloadOrganization", p.payload_organization);
  set_string(dict, "DirectoryURL", p.directory_url);
  set_string(dict, "ClientIdentifier", p.client_identifier);
  set_string(dict, "KeyType", p.key_type);
  set_integer(dict, "KeySize", p.key_size);
  set_bool(dict, "HardwareBound", p.hardware_bound);
  set_bool(dict, "Attest", p.attest);
  if (p.subject) {
    plist_t rdns = plist_new_array();
    for (const auto& rdn : *p.subject) {
      plist_t rdn_node = plist_new_array();
      for (const auto& [name, value] : rdn) {
        plist_array_append_item(rdn_node, string_array({name, value}));
      }
      plist_array_append_item(rdns, rdn_node);
    }
    plist_dict_set_item(dict, "Subject", rdns);
  }
  if (p.subject_alt_name) {
    plist_t san = plist_new_dict();
    set_names(san, "rfc822Name", p.subject_alt_name->rfc822_name);
    set_names(san, "dNSName", p.subject_alt_name->dns_name);
    set_names(san, "uniformResourceIdentifier", p.subject_alt_name->uniform_resource_identifier);
    set_names(san, "ntPrincipalName", p.subject_alt_name->nt_principal_name);
    plist_dict_set_item(dict, "SubjectAltName", san);
  }
  set_integer(dict, "UsageFlags", p.usage_flags);
  if (p.extended_key_usage) {
    plist_dict_set_item(dict, "ExtendedKeyUsage", string_array(*p.extended_key_usage));
  }
  set_bool(dict, "KeyIsExtractable", p.key_is_extractable);
  set_bool(dict, "AllowAllAppsAccess", p.allow_all_apps_access);
  return owned;
}

std::string acme_payload_to_xml(const AcmePayload& payload) {
  return to_xml(acme_payload_to_plist(payload).get());
}

Result<std::vector<AcmePayload>> acme_payloads_in_profile_text(std::string_view text) {
  auto root = parse_plist_text(text);
  if (!root) return root.error();
  std::vector<AcmePayload> found;
  auto is_acme = [](plist_t node) {
    auto type = string_of(plist_dict_get_item(node, "PayloadType"));
    return type && *type == kAcmePayloadType;
  };
  if (is_acme(root->get())) {
    auto p = parse_acme_payload(root->get());
    if (!p) return p.error();
    found.push_back(std::move(*p));
    return found;
  }
  plist_t content = plist_dict_get_item(root->get(), "PayloadContent");
  if (content == nullptr || plist_get_node_type(content) != PLIST_ARRAY) return found;
  for (plist_t item : array_items(content)) {
    if (plist_get_node_type(item) != PLIST_DICT || !is_acme(item)) continue;
    auto p = parse_acme_payload(item);
    if (!p) return p.error();
    found.push_back(std::move(*p));
  }
  return found;
}

std::string configuration_profile_xml(const std::vector<AcmePayload>& payloads,
                                      const std::string& profile_identifier,
                                      const std::string& display_name) {
  const std::string uuid = new_payload_uuid();
  PlistPtr root(plist_new_dict());
  plist_t content = plist_new_array();
  for (const auto& p : payloads)
    plist_array_append_item(content, acme_payload_to_plist(p).release());
  plist_dict_set_item(root.get(), "PayloadContent", content);
  plist_dict_set_item(root.get(), "PayloadDisplayName", plist_new_string(display_name.c_str()));
  const std::string identifier =
      profile_identifier.empty() ? "com.attestlab.profile." + uuid : profile_identifier;
  plist_dict_set_item(root.get(), "PayloadIdentifier", plist_new_string(identifier.c_str()));
  plist_dict_set_item(root.get(), "PayloadType", plist_new_string("Configuration"));
  plist_dict_set_item(root.get(), "PayloadUUID", plist_new_string(uuid.c_str()));
  plist_dict_set_item(root.get(), "PayloadVersion", plist_new_uint(1));
  return to_xml(root.get());
}

std::vector<PayloadProblem> validate_as_device(const AcmePayload& p) {
  std::vector<PayloadProblem> out = p.parse_problems;
  auto error = [&](std::string code, std::string key, std::string message) {
    out.push_back({std::move(code), std::move(key), std::move(message), Severity::Error});
  };
  auto warning = [&](std::string code, std::string key, std::string message) {
    out.push_back({std::move(code), std::move(key), std::move(message), Severity::Warning});
  };
  // A key that failed to parse is reported once (wrong_type), not again as missing.
  std::set<std::string> mistyped;
  for (const auto& problem : p.parse_problems) mistyped.insert(problem.key);
  auto missing = [&](const std::string& key) { return mistyped.count(key) == 0; };

  // Common payload keys.
  if (!p.payload_type) {
    if (missing("PayloadType"))
      error("missing_payload_type", "PayloadType",
            "PayloadType is required (com.apple.security.acme)");
  } else if (*p.payload_type != kAcmePayloadType) {
    error("wrong_payload_type", "PayloadType",
          "PayloadType is \"" + *p.payload_type + "\", not com.apple.security.acme");
  }
  if (!p.payload_uuid || p.payload_uuid->empty()) {
    if (missing("PayloadUUID"))
      error("missing_payload_uuid", "PayloadUUID",
            "PayloadUUID is required: other payloads reference the identity by it");
  }
  if (!p.payload_identifier || p.payload_identifier->empty()) {
    if (missing("PayloadIdentifier"))
      error("missing_payload_identifier", "PayloadIdentifier", "PayloadIdentifier is required");
  }
  if (!p.payload_version) {
    if (missing("PayloadVersion"))
      error("missing_payload_version", "PayloadVersion", "PayloadVersion is required (1)");
  } else if (*p.payload_version != 1) {
    warning("payload_version_not_1", "PayloadVersion",
            "PayloadVersion is " + std::to_string(*p.payload_version) + "; Apple defines only 1");
  }

  // Where to enroll and as whom.
  if (!p.directory_url) {
    if (missing("DirectoryURL"))
      error("missing_directory_url", "DirectoryURL", "DirectoryURL is required");
  } else {
    auto url = http::Url::parse(*p.directory_url);
    if (!url || url->host.empty()) {
      error("invalid_directory_url", "DirectoryURL",
            "DirectoryURL \"" + *p.directory_url + "\" is not a URL");
    } else if (url->scheme != "https") {
      error("directory_url_not_https", "DirectoryURL",
            "DirectoryURL must use https; a device never talks ACME over " + url->scheme);
    }
  }
  if (!p.client_identifier) {
    if (missing("ClientIdentifier"))
      error("missing_client_identifier", "ClientIdentifier",
            "ClientIdentifier is required: it becomes the order's permanent-identifier");
  } else if (p.client_identifier->empty()) {
    error("empty_client_identifier", "ClientIdentifier", "ClientIdentifier is empty");
  } else {
    const std::string& id = *p.client_identifier;
    const std::size_t slash = id.find('/');
    const std::string device_part = id.substr(0, slash);
    if (device_part.empty() || !is_printable_token(device_part) ||
        (slash != std::string::npos && !is_dotted_oid(std::string_view(id).substr(slash + 1)))) {
      warning("client_identifier_not_permanent_identifier", "ClientIdentifier",
              "ClientIdentifier \"" + id +
                  "\" is not device-part [\"/\" assigner-OID] without "
                  "spaces (draft-ietf-acme-device-attest §3.1); servers refuse it as malformed");
    } else if (id.find('$') != std::string::npos) {
      warning("client_identifier_not_permanent_identifier", "ClientIdentifier",
              "ClientIdentifier \"" + id + "\" looks like an unsubstituted MDM variable");
    }
  }

  // The key.
  const bool rsa = p.is_rsa();
  const bool ec = p.key_type && *p.key_type == kAcmeKeyTypeEc;
  if (!p.key_type) {
    if (missing("KeyType"))
      error("missing_key_type", "KeyType", "KeyType is required (RSA or ECSECPrimeRandom)");
  } else if (!rsa && !ec) {
    error("unsupported_key_type", "KeyType",
          "KeyType \"" + *p.key_type + "\" is neither RSA nor ECSECPrimeRandom");
  }
  if (!p.hardware_bound && missing("HardwareBound")) {
    error("missing_hardware_bound", "HardwareBound", "HardwareBound is required");
  }
  const bool hw = p.is_hardware_bound();
  if (!p.key_size) {
    if (missing("KeySize")) error("missing_key_size", "KeySize", "KeySize is required");
  } else {
    const std::int64_t size = *p.key_size;
    if (hw && ec) {
      if (size != 256 && size != 384) {
        error("hardware_bound_key_size", "KeySize",
              "a hardware-bound ECSECPrimeRandom key must be 256 or 384 bits, not " +
                  std::to_string(size));
      }
    } else if (ec) {
      if (size != 256 && size != 384 && size != 521) {
        error("unsupported_key_size", "KeySize",
              "ECSECPrimeRandom keys are 256, 384 or 521 bits, not " + std::to_string(size));
      }
    } else if (rsa) {
      if (size < 1024 || size > 4096 || size % 8 != 0) {
        error("unsupported_key_size", "KeySize",
              "RSA keys are 1024 to 4096 bits (a multiple of 8), not " + std::to_string(size));
      } else if (size < 2048) {
        warning("rsa_key_size_small", "KeySize",
                "RSA-" + std::to_string(size) +
                    " keys are refused by most ACME servers (2048 or more)");
      }
    }
  }
  if (hw && rsa) {
    error("hardware_bound_requires_ec", "HardwareBound",
          "HardwareBound keys live in the Secure Enclave, which makes only ECSECPrimeRandom keys; "
          "KeyType is RSA");
  }
  if (p.attests() && !hw) {
    error("attest_requires_hardware_bound", "Attest",
          "Attest needs HardwareBound: only a Secure Enclave key can be attested");
  }
  if (p.attests() && rsa) {
    error("attest_with_rsa", "Attest", "Attest is not possible with an RSA key");
  }
  if (hw && p.key_is_extractable.value_or(false)) {
    warning("extractable_hardware_bound_key", "KeyIsExtractable",
            "a hardware-bound key can never be exported; KeyIsExtractable true has no effect");
  }

  // What the certificate should say.
  if (!p.subject) {
    if (missing("Subject"))
      error("missing_subject", "Subject", "Subject is required (an empty array is allowed)");
  } else {
    static const std::set<std::string> short_names = {"C", "L", "ST", "O", "OU", "CN"};
    for (const auto& rdn : *p.subject) {
      for (const auto& [name, value] : rdn) {
        if (short_names.count(name) == 0 && !is_dotted_oid(name)) {
          error(
              "unknown_subject_attribute", "Subject",
              "Subject attribute \"" + name + "\" is neither C, L, ST, O, OU, CN nor a dotted OID");
        }
        if (value.empty()) {
          error("empty_subject_value", "Subject",
                "Subject attribute " + name + " has an empty value");
        }
      }
    }
  }
  if (p.usage_flags) {
    const std::int64_t flags = *p.usage_flags;
    if (flags < 0) {
      error("invalid_usage_flags", "UsageFlags", "UsageFlags is negative");
    } else if ((flags & ~(kAcmeUsageSign | kAcmeUsageEncrypt)) != 0) {
      warning("unknown_usage_flags", "UsageFlags",
              "UsageFlags " + std::to_string(flags) +
                  " sets bits other than 1 (sign) and 4 (encrypt); they are ignored");
    }
  }
  if (p.extended_key_usage) {
    for (const auto& oid : *p.extended_key_usage) {
      if (!is_dotted_oid(oid)) {
        error("invalid_eku_oid", "ExtendedKeyUsage",
              "ExtendedKeyUsage entry \"" + oid + "\" is not a dotted OID");
      }
    }
  }
  for (const auto& key : p.unknown_keys) {
    warning("unknown_key", key, "unknown key " + key + " is ignored by devices");
  }
  return out;
}

bool device_refuses(const std::vector<PayloadProblem>& problems) {
  for (const auto& p : problems)
    if (p.severity == Severity::Error) return true;
  return false;
}

const char* to_string(PayloadProblem::Severity severity) {
  return severity == Severity::Error ? "error" : "warning";
}

std::string describe(const PayloadProblem& problem) {
  std::string line = std::string(to_string(problem.severity)) + " " + problem.code;
  if (!problem.key.empty()) line += " (" + problem.key + ")";
  return line + ": " + problem.message;
}

}  // namespace attestlab::sim

// The ACMECertificate payload's plist form: reading a libplist dict (leniently, the way a
// device does) and writing one back, plus the profile-level helpers around it.
#include <cstdlib>
#include <functional>

#include "sim/device/acme_payload.h"

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

}  // namespace

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

}  // namespace attestlab::sim

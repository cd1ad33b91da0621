#include "server/acme/acme_syntax.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "server/attest/device_attest.h"
#include "server/faults.h"

namespace attestlab::server {

namespace {

constexpr std::size_t kMaxDnsName = 253;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxContacts = 10;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

bool is_valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxDnsName) return false;
  std::size_t start = 0;
  std::string_view last;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabel) return false;
    if (!is_lower_alnum(label.front()) || !is_lower_alnum(label.back())) return false;
    for (char c : label) {
      if (!is_lower_alnum(c) && c != '-') return false;
    }
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // "1.2.3.4" is an address, not a name.
  return !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::string> canonical_ip(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  char buf[INET6_ADDRSTRLEN];
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    if (!inet_ntop(AF_INET, &v4, buf, sizeof buf)) return std::nullopt;
    return std::string(buf);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    if (!inet_ntop(AF_INET6, &v6, buf, sizeof buf)) return std::nullopt;
    return std::string(buf);
  }
  return std::nullopt;
}

Result<Identifier> normalize_identifier(const Json& json) {
  if (!json.is_object()) return Error::make("malformed", "identifier must be an object");
  const std::string* type = get_string(json, "type");
  const std::string* value = get_string(json, "value");
  if (!type || !value) return Error::make("malformed", "identifier needs string type and value");
  Identifier id{*type, *value};
  if (id.type == "dns") {
    std::string lower = id.value;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view base = lower;
    bool wildcard = base.rfind("*.", 0) == 0;
    if (wildcard) base.remove_prefix(2);
    // A wildcard needs a parent domain below the top level ("*.com" is refused).
    if (!is_valid_dns_name(base) || (wildcard && base.find('.') == std::string_view::npos)) {
      return Error::make("malformed", "invalid DNS name \"" + id.value + "\"");
    }
    id.value = lower;
    return id;
  }
  if (id.type == "ip") {
    auto canonical = canonical_ip(id.value);
    if (!canonical) return Error::make("malformed", "invalid IP address \"" + id.value + "\"");
    if (*canonical != id.value) {
      return Error::make("malformed", "IP address \"" + id.value + "\" is not in canonical form (" +
                                          *canonical + ")");
    }
    return id;
  }
  if (id.type == "permanent-identifier" || id.type == "hardware-module") {
    // skip_identifier_syntax_check defeats the same rule here (newOrder) as in the validator.
    if (!ATTESTLAB_FAULT(skip_identifier_syntax_check))
      ATTESTLAB_TRY(check_device_identifier_syntax(id));
    return id;
  }
  return Error::make("unsupportedIdentifier",
                     "identifier type \"" + id.type + "\" is not supported");
}

bool is_device_identifier(const Identifier& identifier) {
  return identifier.type == "permanent-identifier" || identifier.type == "hardware-module";
}

std::vector<std::string> challenge_types_for(const Identifier& identifier, bool wildcard) {
  if (identifier.type == "dns") {
    if (wildcard) return {"dns-01"};
    return {"http-01", "dns-01"};
  }
  if (identifier.type == "ip") return {"http-01"};
  if (is_device_identifier(identifier)) return {"device-attest-01"};
  return {};
}

pki::PermanentIdentifier permanent_identifier_of(const Identifier& identifier) {
  pki::PermanentIdentifier out;
  auto slash = identifier.value.find('/');
  if (slash == std::string::npos) {
    out.value = identifier.value;
  } else {
    out.value = identifier.value.substr(0, slash);
    out.assigner = identifier.value.substr(slash + 1);
  }
  return out;
}

pki::HardwareModuleName hardware_module_of(const Identifier& identifier) {
  pki::HardwareModuleName out;
  auto slash = identifier.value.rfind('/');
  if (slash == std::string::npos) {
    out.serial = to_bytes(identifier.value);
  } else {
    out.serial = to_bytes(std::string_view(identifier.value).substr(0, slash));
    out.hw_type = identifier.value.substr(slash + 1);
  }
  return out;
}

Result<void> check_contact(const std::string& contact) {
  constexpr std::string_view kMailto = "mailto:";
  if (contact.size() < kMailto.size() ||
      !std::equal(kMailto.begin(), kMailto.end(), contact.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return Error::make("unsupportedContact", "only mailto: contacts are supported");
  }
  std::string address = contact.substr(kMailto.size());
  if (address.find('?') != std::string::npos) {
    return Error::make("invalidContact",
                       "contact \"" + contact + "\" must not carry header fields");
  }
  if (address.find(',') != std::string::npos) {
    return Error::make("invalidContact",
                       "contact \"" + contact + "\" must hold exactly one address");
  }
  auto at = address.find('@');
  if (at == std::string::npos || at == 0 || address.find('@', at + 1) != std::string::npos) {
    return Error::make("invalidContact", "contact \"" + contact + "\" is not an email address");
  }
  std::string local = address.substr(0, at);
  if (local.size() > 64)
    return Error::make("invalidContact", "contact \"" + contact + "\": local part too long");
  static constexpr std::string_view kLocalSpecials = ".!#$&'*+/=^_`{|}~-";
  for (char c : local) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              kLocalSpecials.find(c) != std::string_view::npos;
    if (!ok)
      return Error::make("invalidContact", "contact \"" + contact + "\": invalid local part");
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string::npos) {
    return Error::make("invalidContact", "contact \"" + contact + "\": invalid local part");
  }
  std::string domain = address.substr(at + 1);
  std::transform(domain.begin(), domain.end(), domain.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!is_valid_dns_name(domain) || domain.find('.') == std::string::npos) {
    return Error::make("invalidContact", "contact \"" + contact + "\": invalid domain");
  }
  return ok();
}

Result<std::vector<std::string>> parse_contacts(const Json& contact) {
  if (!contact.is_array()) return Error::make("malformed", "contact must be an array of strings");
  if (contact.size() > kMaxContacts) {
    return Error::make("invalidContact", "at most " + std::to_string(kMaxContacts) + " contacts");
  }
  std::vector<std::string> out;
  for (const auto& c : contact) {
    if (!c.is_string()) return Error::make("malformed", "contact must be an array of strings");
    ATTESTLAB_TRY(check_contact(c.get<std::string>()));
    out.push_back(c.get<std::string>());
  }
  return out;
}

}  // namespace attestlab::server

#include "client/acme_types.h"

#include <cctype>
#include <ctime>

#include "core/bytes.h"
#include "core/clock.h"

namespace attestlab::client {
namespace {

std::optional<std::string> opt_string(const Json& j, const char* key) {
  if (const auto* s = get_string(j, key)) return *s;
  return std::nullopt;
}

std::string string_or_empty(const Json& j, const char* key) {
  const auto* s = get_string(j, key);
  return s ? *s : std::string();
}

std::vector<std::string> string_array(const Json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object()) return out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::optional<Json> opt_object(const Json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return std::nullopt;
  return *it;
}

Error missing(const char* what, const char* member) {
  return Error::make(kErrorUnexpectedResponse,
                     std::string(what) + " object lacks a string \"" + member + "\"");
}

}  // namespace

std::optional<Identifier> Identifier::from_json(const Json& j) {
  const auto* type = get_string(j, "type");
  const auto* value = get_string(j, "value");
  if (!type || !value) return std::nullopt;
  return Identifier{*type, *value};
}

Result<Directory> Directory::from_json(const Json& j) {
  if (!j.is_object()) return Error::make(kErrorUnexpectedResponse, "directory is not an object");
  Directory d;
  d.raw = j;
  d.new_nonce = string_or_empty(j, "newNonce");
  d.new_account = string_or_empty(j, "newAccount");
  d.new_order = string_or_empty(j, "newOrder");
  d.revoke_cert = string_or_empty(j, "revokeCert");
  d.key_change = string_or_empty(j, "keyChange");
  d.new_authz = string_or_empty(j, "newAuthz");
  d.renewal_info = string_or_empty(j, "renewalInfo");
  if (d.new_nonce.empty()) return missing("directory", "newNonce");
  if (d.new_account.empty()) return missing("directory", "newAccount");
  if (d.new_order.empty()) return missing("directory", "newOrder");
  if (auto meta = opt_object(j, "meta")) {
    d.terms_of_service = opt_string(*meta, "termsOfService");
    d.website = opt_string(*meta, "website");
    d.caa_identities = string_array(*meta, "caaIdentities");
    auto ear = meta->find("externalAccountRequired");
    d.external_account_required = ear != meta->end() && ear->is_boolean() && ear->get<bool>();
    if (auto profiles = opt_object(*meta, "profiles")) d.profiles = *profiles;
  }
  return d;
}

Result<Account> Account::from_json(const Json& j, std::string url) {
  const auto* status = get_string(j, "status");
  if (!status) return missing("account", "status");
  Account a;
  a.url = std::move(url);
  a.status = *status;
  a.contact = string_array(j, "contact");
  a.orders = opt_string(j, "orders");
  a.raw = j;
  return a;
}

Result<Challenge> Challenge::from_json(const Json& j) {
  Challenge c;
  const auto* type = get_string(j, "type");
  const auto* url = get_string(j, "url");
  const auto* status = get_string(j, "status");
  if (!type) return missing("challenge", "type");
  if (!url) return missing("challenge", "url");
  if (!status) return missing("challenge", "status");
  c.type = *type;
  c.url = *url;
  c.status = *status;
  c.token = string_or_empty(j, "token");
  c.validated = opt_string(j, "validated");
  c.error = opt_object(j, "error");
  c.raw = j;
  return c;
}

const Challenge* Authorization::find(const std::string& type) const {
  for (const auto& c : challenges) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

Result<Authorization> Authorization::from_json(const Json& j, std::string url) {
  const auto* status = get_string(j, "status");
  if (!status) return missing("authorization", "status");
  Authorization a;
  a.url = std::move(url);
  a.status = *status;
  if (auto id = opt_object(j, "identifier")) {
    if (auto parsed = Identifier::from_json(*id)) a.identifier = *parsed;
  }
  if (j.contains("challenges") && j["challenges"].is_array()) {
    for (const auto& c : j["challenges"]) {
      auto parsed = Challenge::from_json(c);
      if (!parsed.ok()) return parsed.error();
      a.challenges.push_back(std::move(parsed.value()));
    }
  }
  auto wildcard = j.find("wildcard");
  a.wildcard = wildcard != j.end() && wildcard->is_boolean() && wildcard->get<bool>();
  a.expires = opt_string(j, "expires");
  a.raw = j;
  return a;
}

Result<Order> Order::from_json(const Json& j, std::string url) {
  const auto* status = get_string(j, "status");
  if (!status) return missing("order", "status");
  Order o;
  o.url = std::move(url);
  o.status = *status;
  if (j.contains("identifiers") && j["identifiers"].is_array()) {
    for (const auto& id : j["identifiers"]) {
      if (auto parsed = Identifier::from_json(id)) o.identifiers.push_back(*parsed);
    }
  }
  o.authorizations = string_array(j, "authorizations");
  o.finalize = string_or_empty(j, "finalize");
  o.certificate = opt_string(j, "certificate");
  o.expires = opt_string(j, "expires");
  o.not_before = opt_string(j, "notBefore");
  o.not_after = opt_string(j, "notAfter");
  o.error = opt_object(j, "error");
  o.profile = opt_string(j, "profile");
  o.replaces = opt_string(j, "replaces");
  o.raw = j;
  return o;
}

Result<RenewalInfo> RenewalInfo::from_json(const Json& j) {
  auto window = opt_object(j, "suggestedWindow");
  if (!window) return Error::make(kErrorUnexpectedResponse, "renewalInfo lacks suggestedWindow");
  RenewalInfo info;
  const auto* start = get_string(*window, "start");
  const auto* end = get_string(*window, "end");
  if (!start || !end || !parse_rfc3339(*start, info.start) || !parse_rfc3339(*end, info.end)) {
    return Error::make(kErrorUnexpectedResponse,
                       "suggestedWindow needs RFC 3339 start and end: " + window->dump());
  }
  if (info.end <= info.start) {
    return Error::make(kErrorUnexpectedResponse,
                       "suggestedWindow ends before it starts: " + window->dump());
  }
  info.explanation_url = opt_string(j, "explanationURL");
  info.raw = j;
  return info;
}

std::string key_authorization(const std::string& token, const std::string& jwk_thumbprint) {
  return token + "." + jwk_thumbprint;
}

std::string dns01_txt_value(const std::string& key_authorization) {
  return base64url_encode(sha256(key_authorization));
}

std::string dns01_record_name(const std::string& domain) {
  std::string d = domain.rfind("*.", 0) == 0 ? domain.substr(2) : domain;
  return "_acme-challenge." + d;
}

std::string http01_path(const std::string& token) {
  return "/.well-known/acme-challenge/" + token;
}

Error problem_to_error(const Json& problem, int http_status) {
  Error e;
  e.status = http_status;
  std::string type = string_or_empty(problem, "type");
  const std::string prefix = kAcmeErrorPrefix;
  if (type.rfind(prefix, 0) == 0) type = type.substr(prefix.size());
  e.type = type.empty() ? std::string(kErrorUnexpectedResponse) : type;
  e.detail = string_or_empty(problem, "detail");
  return e;
}

std::vector<std::pair<std::string, std::string>> parse_link_header(const std::string& value) {
  // link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ), comma separated.
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  const std::size_t n = value.size();
  while (i < n) {
    const auto open = value.find('<', i);
    if (open == std::string::npos) break;
    const auto close = value.find('>', open + 1);
    if (close == std::string::npos) break;
    std::string url = value.substr(open + 1, close - open - 1);
    // Params run until the next comma that is not inside a quoted string.
    std::size_t j = close + 1;
    bool quoted = false;
    while (j < n && (quoted || value[j] != ',')) {
      if (value[j] == '"') quoted = !quoted;
      ++j;
    }
    const std::string params = value.substr(close + 1, j - close - 1);
    std::string rel;
    std::size_t p = 0;
    while (p < params.size()) {
      const auto semi = params.find(';', p);
      std::string param =
          params.substr(p, semi == std::string::npos ? std::string::npos : semi - p);
      p = semi == std::string::npos ? params.size() : semi + 1;
      const auto eq = param.find('=');
      if (eq == std::string::npos) continue;
      std::string name = param.substr(0, eq);
      std::string val = param.substr(eq + 1);
      auto trim = [](std::string& s) {
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
      };
      trim(name);
      trim(val);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (val.size() >= 2 && val.front() == '"' && val.back() == '"') {
        val = val.substr(1, val.size() - 2);
      }
      if (name == "rel") rel = val;
    }
    out.emplace_back(std::move(url), std::move(rel));
    i = j + 1;
  }
  return out;
}

std::optional<std::int64_t> parse_retry_after(const std::string& value, std::int64_t now) {
  std::string v = value;
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(0, 1);
  if (v.empty()) return std::nullopt;
  bool digits = true;
  for (char c : v) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (v.size() > 9) return std::int64_t{999999999};
    return std::stoll(v);
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (the only form senders may use).
  std::tm tm{};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::int64_t at = timegm(&tm);
  return at > now ? at - now : 0;
}

}  // namespace attestlab::client

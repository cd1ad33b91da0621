#include "client/target_profile.h"

#include <algorithm>
#include <filesystem>

#include "core/bytes.h"
#include "core/host_port.h"
#include "core/http.h"
#include "core/pki.h"

namespace attestlab::client {
namespace {

// Capabilities a profile may list under "capabilities"; the others are derived from the
// profile's other members (see effective_capabilities).
const std::vector<std::string>& declarable_capabilities() {
  static const std::vector<std::string> names = {"revocation",       "key-change",
                                                 "wildcard",         "posture-policy",
                                                 "device-supersede", "strict-contacts"};
  return names;
}

const std::vector<std::string>& known_identifiers() {
  static const std::vector<std::string> names = {"dns", "ip", "permanent-identifier",
                                                 "hardware-module"};
  return names;
}

const std::vector<std::string>& known_challenges() {
  static const std::vector<std::string> names = {"http-01", "dns-01", "device-attest-01"};
  return names;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Error field_error(const std::string& field, const std::string& why) {
  return Error::make("malformed", "field \"" + field + "\": " + why);
}

// Checks that obj has only the given members (plus "_comment"-style ones).
Result<void> only_members(const Json& obj, const std::string& where,
                          const std::vector<std::string>& allowed) {
  for (const auto& [name, value] : obj.items()) {
    if (!name.empty() && name[0] == '_') continue;
    if (!contains(allowed, name)) {
      return field_error(where.empty() ? name : where + "." + name, "unknown member");
    }
  }
  return ok();
}

Result<std::string> string_member(const Json& obj, const char* key, const std::string& field,
                                  bool required) {
  if (!obj.contains(key)) {
    if (required) return field_error(field, "required");
    return std::string();
  }
  if (!obj[key].is_string()) return field_error(field, "must be a string");
  return obj[key].get<std::string>();
}

Result<std::vector<std::string>> string_list(const Json& obj, const char* key,
                                             const std::string& field,
                                             const std::vector<std::string>& allowed) {
  std::vector<std::string> out;
  if (!obj.contains(key)) return out;
  if (!obj[key].is_array()) return field_error(field, "must be an array of strings");
  for (std::size_t i = 0; i < obj[key].size(); ++i) {
    const Json& item = obj[key][i];
    const std::string item_field = field + "[" + std::to_string(i) + "]";
    if (!item.is_string()) return field_error(item_field, "must be a string");
    const std::string value = item.get<std::string>();
    if (!allowed.empty() && !contains(allowed, value)) {
      std::string names;
      for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
      return field_error(item_field, "unknown value \"" + value + "\" (known: " + names + ")");
    }
    out.push_back(value);
  }
  return out;
}

Result<std::chrono::milliseconds> duration_member(const Json& obj, const char* key,
                                                  const std::string& field,
                                                  std::chrono::milliseconds fallback,
                                                  std::int64_t scale_ms) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_number() || obj[key].get<double>() < 0) {
    return field_error(field, "must be a non-negative number");
  }
  // At most a day: every timing is far below it, and the product stays well inside int64
  // (a larger number, e.g. 5e20 ms, would overflow the conversion: found by fuzzing).
  constexpr std::int64_t kMaxMs = 24LL * 3600 * 1000;
  const double ms = obj[key].get<double>() * static_cast<double>(scale_ms);
  if (!(ms <= static_cast<double>(kMaxMs))) {
    return field_error(field, "must be at most " + std::to_string(kMaxMs / scale_ms) +
                                  (scale_ms == 1000 ? " seconds" : " milliseconds") +
                                  " (one day)");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

}  // namespace

EabKey EabCredentials::key(std::size_t i) const {
  const std::size_t n = 1 + more_keys.size();
  const std::size_t k = i % n;
  return k == 0 ? EabKey{kid, hmac_key_b64u} : more_keys[k - 1];
}

std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& text) {
  auto hp = attestlab::parse_host_port(text);
  if (!hp || hp->port == 0) return std::nullopt;  // a profile names a real port
  return std::make_pair(std::move(hp->host), hp->port);
}

Result<TargetProfile> parse_target_profile(const Json& doc, const std::string& base_dir) {
  if (!doc.is_object()) return Error::make("malformed", "a target profile must be a JSON object");
  ATTESTLAB_TRY(
      only_members(doc, "",
                   {"name", "directory_url", "trust_ca", "eab", "identifiers", "challenges",
                    "capabilities", "device", "http01", "dns01", "dns_suffix", "timing"}));
  TargetProfile t;
  auto name = string_member(doc, "name", "name", true);
  if (!name) return name.error();
  if (name->empty()) return field_error("name", "must not be empty");
  t.name = *name;

  auto dir = string_member(doc, "directory_url", "directory_url", true);
  if (!dir) return dir.error();
  auto url = http::Url::parse(*dir);
  if (!url || (url->scheme != "https" && url->scheme != "http")) {
    return field_error("directory_url", "must be an http(s) URL");
  }
  t.directory_url = *dir;

  auto trust = string_member(doc, "trust_ca", "trust_ca", false);
  if (!trust) return trust.error();
  t.trust_ca = resolve(*trust, base_dir);

  if (doc.contains("eab")) {
    const Json& e = doc["eab"];
    if (!e.is_object()) return field_error("eab", "must be an object");
    ATTESTLAB_TRY(only_members(e, "eab", {"kid", "hmac_key", "required", "more_keys"}));
    EabCredentials eab;
    auto kid = string_member(e, "kid", "eab.kid", true);
    if (!kid) return kid.error();
    auto key = string_member(e, "hmac_key", "eab.hmac_key", true);
    if (!key) return key.error();
    auto decoded = base64url_decode(*key);
    if (!decoded || decoded->empty()) {
      return field_error("eab.hmac_key", "must be non-empty base64url (no padding)");
    }
    if (e.contains("required")) {
      if (!e["required"].is_boolean()) return field_error("eab.required", "must be a boolean");
      eab.required = e["required"].get<bool>();
    }
    if (e.contains("more_keys")) {
      if (!e["more_keys"].is_array()) return field_error("eab.more_keys", "must be an array");
      for (std::size_t i = 0; i < e["more_keys"].size(); ++i) {
        const Json& k = e["more_keys"][i];
        const std::string f = "eab.more_keys[" + std::to_string(i) + "]";
        if (!k.is_object()) return field_error(f, "must be an object");
        ATTESTLAB_TRY(only_members(k, f, {"kid", "hmac_key"}));
        auto more_kid = string_member(k, "kid", f + ".kid", true);
        if (!more_kid) return more_kid.error();
        auto more_key = string_member(k, "hmac_key", f + ".hmac_key", true);
        if (!more_key) return more_key.error();
        auto more_decoded = base64url_decode(*more_key);
        if (!more_decoded || more_decoded->empty()) {
          return field_error(f + ".hmac_key", "must be non-empty base64url (no padding)");
        }
        eab.more_keys.push_back(EabKey{*more_kid, *more_key});
      }
    }
    eab.kid = *kid;
    eab.hmac_key_b64u = *key;
    t.eab = eab;
  }

  if (doc.contains("identifiers")) {
    auto ids = string_list(doc, "identifiers", "identifiers", known_identifiers());
    if (!ids) return ids.error();
    t.identifiers = *ids;
  }
  auto challenges = string_list(doc, "challenges", "challenges", known_challenges());
  if (!challenges) return challenges.error();
  t.challenges = *challenges;
  auto caps = string_list(doc, "capabilities", "capabilities", declarable_capabilities());
  if (!caps) return caps.error();
  t.capabilities = *caps;

  if (doc.contains("device")) {
    const Json& d = doc["device"];
    if (!d.is_object()) return field_error("device", "must be an object");
    ATTESTLAB_TRY(
        only_members(d, "device", {"attestation_ca_dir", "identity_source", "inventory_file"}));
    auto ca_dir = string_member(d, "attestation_ca_dir", "device.attestation_ca_dir", true);
    if (!ca_dir) return ca_dir.error();
    t.device.attestation_ca_dir = resolve(*ca_dir, base_dir);
    auto source = string_member(d, "identity_source", "device.identity_source", false);
    if (!source) return source.error();
    if (!source->empty()) {
      if (*source != "inventory-file" && *source != "none") {
        return field_error("device.identity_source", "must be \"inventory-file\" or \"none\"");
      }
      t.device.identity_source = *source;
    }
    auto inv = string_member(d, "inventory_file", "device.inventory_file",
                             t.device.identity_source == "inventory-file");
    if (!inv) return inv.error();
    t.device.inventory_file = resolve(*inv, base_dir);
  }

  if (doc.contains("http01")) {
    const Json& h = doc["http01"];
    if (!h.is_object()) return field_error("http01", "must be an object");
    ATTESTLAB_TRY(only_members(h, "http01", {"listen"}));
    auto listen = string_member(h, "listen", "http01.listen", true);
    if (!listen) return listen.error();
    if (!parse_host_port(*listen)) return field_error("http01.listen", "expected \"HOST:PORT\"");
    t.http01_listen = *listen;
  }
  if (doc.contains("dns01")) {
    const Json& d = doc["dns01"];
    if (!d.is_object()) return field_error("dns01", "must be an object");
    ATTESTLAB_TRY(only_members(d, "dns01", {"challtestsrv_management"}));
    auto mgmt = string_member(d, "challtestsrv_management", "dns01.challtestsrv_management", true);
    if (!mgmt) return mgmt.error();
    auto mgmt_url = http::Url::parse(*mgmt);
    if (!mgmt_url || mgmt_url->scheme != "http") {
      return field_error("dns01.challtestsrv_management", "must be an http:// URL");
    }
    t.dns01_management = *mgmt;
  }
  auto suffix = string_member(doc, "dns_suffix", "dns_suffix", false);
  if (!suffix) return suffix.error();
  if (!suffix->empty()) t.dns_suffix = *suffix;

  if (doc.contains("timing")) {
    const Json& tm = doc["timing"];
    if (!tm.is_object()) return field_error("timing", "must be an object");
    ATTESTLAB_TRY(only_members(
        tm, "timing",
        {"case_timeout_s", "poll_interval_ms", "max_retry_after_ms", "http_timeout_s"}));
    auto a =
        duration_member(tm, "case_timeout_s", "timing.case_timeout_s", t.timing.case_timeout, 1000);
    if (!a) return a.error();
    auto b = duration_member(tm, "poll_interval_ms", "timing.poll_interval_ms",
                             t.timing.poll_interval, 1);
    if (!b) return b.error();
    auto c = duration_member(tm, "max_retry_after_ms", "timing.max_retry_after_ms",
                             t.timing.max_retry_after, 1);
    if (!c) return c.error();
    auto d =
        duration_member(tm, "http_timeout_s", "timing.http_timeout_s", t.timing.http_timeout, 1000);
    if (!d) return d.error();
    t.timing = Timing{*a, *b, *c, *d};
  }
  return t;
}

Result<TargetProfile> load_target_profile(const std::string& path) {
  auto text = pki::read_file(path);
  if (!text) return Error::make("malformed", text.error().detail);
  auto doc = parse_json(*text);
  if (!doc) return Error::make("malformed", path + ": not JSON: " + doc.error().detail);
  const std::string base = std::filesystem::path(path).parent_path().string();
  auto profile = parse_target_profile(*doc, base);
  if (!profile) return Error::make("malformed", path + ": " + profile.error().detail);
  return profile;
}

TargetProfile basic_target(const std::string& directory_url, const std::string& trust_ca) {
  TargetProfile t;
  auto url = http::Url::parse(directory_url);
  t.name = url ? url->host + ":" + std::to_string(url->port) : directory_url;
  t.directory_url = directory_url;
  t.trust_ca = trust_ca;
  t.capabilities = {"key-change"};
  return t;
}

std::optional<std::string> TargetProfile::missing(const std::string& capability) const {
  const auto declared = [&](const std::string& c) { return contains(capabilities, c); };
  if (capability == "dns-identifiers") {
    if (contains(identifiers, "dns")) return std::nullopt;
    return "target profile does not list identifier type \"dns\"";
  }
  if (capability == "ip-identifiers") {
    if (contains(identifiers, "ip")) return std::nullopt;
    return "target profile does not list identifier type \"ip\"";
  }
  if (capability == "permanent-identifier" || capability == "hardware-module") {
    if (contains(identifiers, capability)) return std::nullopt;
    return "target profile does not list identifier type \"" + capability + "\"";
  }
  if (capability == "http-01") {
    if (!contains(challenges, "http-01")) return "target profile does not list challenge http-01";
    if (http01_listen.empty()) return "http-01 needs http01.listen in the target profile";
    return std::nullopt;
  }
  if (capability == "dns-01") {
    if (!contains(challenges, "dns-01")) return "target profile does not list challenge dns-01";
    if (dns01_management.empty()) {
      return "dns-01 needs dns01.challtestsrv_management in the target profile";
    }
    return std::nullopt;
  }
  if (capability == "validation") {
    if (!missing("http-01") || !missing("dns-01")) return std::nullopt;
    return "needs a challenge the harness can answer (http-01 or dns-01): " + *missing("http-01");
  }
  if (capability == "device-attest-01") {
    if (!contains(challenges, "device-attest-01")) {
      return "target profile does not list challenge device-attest-01";
    }
    if (device.attestation_ca_dir.empty()) {
      return "device-attest-01 needs device.attestation_ca_dir in the target profile";
    }
    if (!contains(identifiers, "permanent-identifier")) {
      return "device-attest-01 needs identifier type permanent-identifier";
    }
    return std::nullopt;
  }
  if (capability == "inventory") {
    if (device.identity_source == "inventory-file" && !device.inventory_file.empty()) {
      return std::nullopt;
    }
    return "target profile has no device.identity_source \"inventory-file\"";
  }
  if (capability == "eab") {
    if (eab) return std::nullopt;
    return "target profile has no eab credentials";
  }
  if (capability == "eab-required") {
    if (eab && eab->required) return std::nullopt;
    return "target profile does not say eab.required";
  }
  if (declared(capability)) return std::nullopt;
  return "target profile does not declare capability \"" + capability + "\"";
}

std::set<std::string> TargetProfile::effective_capabilities() const {
  std::set<std::string> out;
  for (const char* c :
       {"dns-identifiers", "ip-identifiers", "permanent-identifier", "hardware-module", "http-01",
        "dns-01", "validation", "device-attest-01", "inventory", "eab", "eab-required"}) {
    if (has(c)) out.insert(c);
  }
  for (const auto& c : capabilities) out.insert(c);
  return out;
}

}  // namespace attestlab::client

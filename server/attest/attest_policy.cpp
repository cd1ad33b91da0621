#include "server/attest/attest_policy.h"

#include <algorithm>
#include <functional>

#include "core/enum_names.h"
#include "core/pki.h"

namespace attestlab::server {
namespace {

Error bad(const std::string& member, const std::string& why) {
  return Error::make("malformed", member + ": " + why);
}

Result<bool> read_bool(const Json& v, const std::string& member) {
  if (!v.is_boolean()) return bad(member, "must be true or false");
  return v.get<bool>();
}

Result<std::int64_t> read_seconds(const Json& v, const std::string& member) {
  if (!v.is_number_integer()) return bad(member, "must be an integer number of seconds");
  const auto n = v.get<std::int64_t>();
  if (n < 0) return bad(member, "must not be negative");
  return n;
}

Result<std::map<std::string, std::string>> read_floors(const Json& v, const std::string& member) {
  std::map<std::string, std::string> floors;
  auto add = [&](const std::string& platform, const Json& value) -> Result<void> {
    const auto& platforms = policy_platforms();
    if (std::find(platforms.begin(), platforms.end(), platform) == platforms.end()) {
      return bad(member, "unknown platform \"" + platform +
                             "\" (iOS, iPadOS, tvOS, macOS, watchOS, visionOS, default)");
    }
    if (!value.is_string() || !parse_version(value.get<std::string>())) {
      return bad(member + "." + platform, "must be a dotted numeric version such as \"17.5\"");
    }
    floors[platform] = value.get<std::string>();
    return ok();
  };
  if (v.is_string()) {
    ATTESTLAB_TRY(add("default", v));
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) ATTESTLAB_TRY(add(it.key(), it.value()));
  } else {
    return bad(member, "must be a version string or an object {platform: version}");
  }
  return floors;
}

constexpr EnumName<IdentifierMatch> kMatchNames[] = {{IdentifierMatch::Serial, "serial"},
                                                     {IdentifierMatch::Udid, "udid"},
                                                     {IdentifierMatch::Either, "either"}};

const char* match_name(IdentifierMatch m) {
  return name_of(kMatchNames, m, "either");
}

Error violation(std::string* failed_rule, const char* rule, const std::string& evidence) {
  if (failed_rule != nullptr) *failed_rule = rule;
  return Error::make("badAttestationStatement", std::string("policy ") + rule + ": " + evidence);
}

// Looks up the floor for platform, falling back to "default".
const std::string* floor_for(const std::map<std::string, std::string>& floors,
                             const std::string& platform) {
  auto it = floors.find(platform);
  if (it == floors.end()) it = floors.find("default");
  return it == floors.end() ? nullptr : &it->second;
}

Result<void> check_floor(const std::map<std::string, std::string>& floors,
                         const std::string& platform, const std::optional<std::string>& attested,
                         const char* rule, const char* what, std::string* failed_rule) {
  const std::string* floor = floor_for(floors, platform);
  if (floor == nullptr) return ok();
  if (!attested) {
    return violation(
        failed_rule, rule,
        std::string(what) + " is not attested; " + platform + " requires at least " + *floor);
  }
  if (!parse_version(*attested)) {
    return violation(failed_rule, rule,
                     std::string(what) + " \"" + *attested + "\" is not a dotted numeric version");
  }
  if (compare_versions(*attested, *floor) < 0) {
    return violation(
        failed_rule, rule,
        std::string(what) + " " + *attested + " is below the " + platform + " minimum " + *floor);
  }
  return ok();
}

std::string raw_hex(const std::optional<Bytes>& raw) {
  return raw ? hex_encode(*raw) : std::string();
}

}  // namespace

const std::vector<std::string>& policy_platforms() {
  static const std::vector<std::string> platforms = {"iOS",     "iPadOS",   "tvOS",   "macOS",
                                                     "watchOS", "visionOS", "default"};
  return platforms;
}

Result<AttestPolicy> AttestPolicy::from_json(const Json& doc) {
  if (!doc.is_object()) return Error::make("malformed", "a policy must be a JSON object");
  AttestPolicy p;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (!key.empty() && key[0] == '_') continue;
    if (key == "limits") continue;  // the server's quotas, read by server/acme/rate_limits
    if (key == "match") {
      auto match =
          v.is_string() ? value_named(kMatchNames, v.get_ref<const std::string&>()) : std::nullopt;
      if (!match) return bad(key, "must be \"serial\", \"udid\" or \"either\"");
      p.match = *match;
    } else if (key == "curves") {
      if (!v.is_array()) return bad(key, "must be an array of curve names");
      p.curves.clear();
      for (const auto& c : v) {
        if (!c.is_string() || (c != "P-256" && c != "P-384" && c != "P-521")) {
          return bad(key, "curves are \"P-256\", \"P-384\" or \"P-521\"");
        }
        p.curves.push_back(c.get<std::string>());
      }
    } else if (key == "max_attestation_age_seconds") {
      auto n = read_seconds(v, key);
      if (!n) return n.error();
      p.max_attestation_age_seconds = *n;
    } else if (key == "clock_skew_seconds") {
      auto n = read_seconds(v, key);
      if (!n) return n.error();
      p.clock_skew_seconds = *n;
    } else if (key == "min_os_version" || key == "min_sepos_version") {
      auto floors = read_floors(v, key);
      if (!floors) return floors.error();
      (key == "min_os_version" ? p.min_os_version : p.min_sepos_version) = std::move(*floors);
    } else {
      static const std::map<std::string, bool AttestPolicy::*> flags = {
          {"require_sip", &AttestPolicy::require_sip},
          {"require_full_secure_boot", &AttestPolicy::require_full_secure_boot},
          {"forbid_third_party_kexts", &AttestPolicy::forbid_third_party_kexts},
          {"allow_user_enrollment", &AttestPolicy::allow_user_enrollment},
          {"one_active_certificate_per_device", &AttestPolicy::one_active_certificate_per_device},
      };
      auto flag = flags.find(key);
      if (flag == flags.end()) return bad(key, "unknown policy member");
      auto b = read_bool(v, key);
      if (!b) return b.error();
      p.*(flag->second) = *b;
    }
  }
  return p;
}

Result<AttestPolicy> AttestPolicy::load(const std::string& path) {
  auto text = pki::read_file(path);
  if (!text) return Error::make("malformed", "policy " + path + ": " + text.error().detail);
  auto doc = parse_json(*text);
  if (!doc) return Error::make("malformed", "policy " + path + ": " + doc.error().detail);
  auto policy = from_json(*doc);
  if (!policy) return Error::make("malformed", "policy " + path + ": " + policy.error().detail);
  return policy;
}

Json AttestPolicy::to_json() const {
  return Json{{"match", match_name(match)},
              {"curves", curves},
              {"max_attestation_age_seconds", max_attestation_age_seconds},
              {"clock_skew_seconds", clock_skew_seconds},
              {"min_os_version", min_os_version},
              {"min_sepos_version", min_sepos_version},
              {"require_sip", require_sip},
              {"require_full_secure_boot", require_full_secure_boot},
              {"forbid_third_party_kexts", forbid_third_party_kexts},
              {"allow_user_enrollment", allow_user_enrollment},
              {"one_active_certificate_per_device", one_active_certificate_per_device}};
}

AppleVerifyOptions AttestPolicy::verify_options() const {
  AppleVerifyOptions o;
  o.allowed_ec_bits.clear();
  for (const auto& c : curves) {
    if (c == "P-256") o.allowed_ec_bits.push_back(256);
    if (c == "P-384") o.allowed_ec_bits.push_back(384);
    if (c == "P-521") o.allowed_ec_bits.push_back(521);
  }
  o.max_attestation_age_seconds = max_attestation_age_seconds;
  o.clock_skew_seconds = clock_skew_seconds;
  return o;
}

std::optional<std::vector<std::uint64_t>> parse_version(std::string_view text) {
  std::vector<std::uint64_t> parts;
  if (text.empty()) return std::nullopt;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const std::string_view part =
        text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
    if (part.empty() || part.size() > 9) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    parts.push_back(n);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

int compare_versions(std::string_view a, std::string_view b) {
  const auto va = parse_version(a);
  const auto vb = parse_version(b);
  if (!va || !vb) return va ? 1 : (vb ? -1 : 0);
  const std::size_t n = std::max(va->size(), vb->size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t x = i < va->size() ? (*va)[i] : 0;
    const std::uint64_t y = i < vb->size() ? (*vb)[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string platform_of(const AttestedFacts& facts) {
  return facts.has_mac_posture() ? "macOS" : "default";
}

Result<void> check_posture(const AttestPolicy& policy, const AttestedFacts& facts,
                           const std::string& platform, std::string* failed_rule) {
  ATTESTLAB_TRY(check_floor(policy.min_os_version, platform, facts.os_version, "min_os_version",
                            "OS version", failed_rule));
  ATTESTLAB_TRY(check_floor(policy.min_sepos_version, platform, facts.sepos_version,
                            "min_sepos_version", "sepOS version", failed_rule));

  // The Mac rules bind whatever carries Mac posture, and any device known to be a Mac
  // (a Mac attestation stripped of its posture must not pass for an iPhone's).
  if (!facts.has_mac_posture() && platform != "macOS") return ok();
  if (policy.require_sip && facts.sip_enabled != std::optional<bool>(true)) {
    const std::string evidence =
        !facts.sip_raw ? "SIP status is not attested (" + std::string(kOidAppleSip) + " absent)"
        : !facts.sip_enabled ? "SIP status is unreadable (" + std::string(kOidAppleSip) + " = " +
                                   raw_hex(facts.sip_raw) + ")"
                             : "SIP is disabled (" + std::string(kOidAppleSip) + " = " +
                                   raw_hex(facts.sip_raw) + ")";
    return violation(failed_rule, "require_sip", evidence);
  }
  if (policy.require_full_secure_boot && facts.secure_boot != std::optional<std::string>("full")) {
    const std::string evidence =
        !facts.secure_boot_raw
            ? "secure boot level is not attested (" + std::string(kOidAppleSecureBoot) + " absent)"
        : !facts.secure_boot
            ? "secure boot level is unreadable (" + std::string(kOidAppleSecureBoot) + " = " +
                  raw_hex(facts.secure_boot_raw) + ")"
            : "secure boot level is \"" + *facts.secure_boot + "\", \"full\" is required";
    return violation(failed_rule, "require_full_secure_boot", evidence);
  }
  if (policy.forbid_third_party_kexts &&
      facts.third_party_kexts_allowed != std::optional<bool>(false)) {
    const std::string evidence =
        !facts.kexts_raw ? "third-party kext status is not attested (" +
                               std::string(kOidAppleThirdPartyKexts) + " absent)"
        : !facts.third_party_kexts_allowed
            ? "third-party kext status is unreadable (" + std::string(kOidAppleThirdPartyKexts) +
                  " = " + raw_hex(facts.kexts_raw) + ")"
            : "third-party kernel extensions are allowed (" +
                  std::string(kOidAppleThirdPartyKexts) + " = " + raw_hex(facts.kexts_raw) + ")";
    return violation(failed_rule, "forbid_third_party_kexts", evidence);
  }
  return ok();
}

}  // namespace attestlab::server

#include "sim/mdm/mdm_attestation.h"

#include <set>

#include "core/clock.h"
#include "core/enum_names.h"

namespace attestlab::sim {
namespace {

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string common_name_of(const pki::Certificate& cert) {
  const std::string subject = cert.subject();
  auto pos = subject.find("CN=");
  if (pos == std::string::npos) return subject;
  auto end = subject.find(',', pos);
  return subject.substr(pos + 3, end == std::string::npos ? std::string::npos : end - pos - 3);
}

}  // namespace

const char* to_string(AttestationVerdict verdict) {
  static constexpr EnumName<AttestationVerdict> kNames[] = {
      {AttestationVerdict::Unknown, "unknown"},
      {AttestationVerdict::Trusted, "trusted"},
      {AttestationVerdict::Untrusted, "untrusted"},
      {AttestationVerdict::Stale, "stale"}};
  return name_of(kNames, verdict, "unknown");
}

int compare_versions(const std::string& a, const std::string& b) {
  auto pa = split_dots(a), pb = split_dots(b);
  const std::size_t n = std::max(pa.size(), pb.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::string x = i < pa.size() ? pa[i] : "0";
    const std::string y = i < pb.size() ? pb[i] : "0";
    if (all_digits(x) && all_digits(y)) {
      const long vx = std::stol(x), vy = std::stol(y);
      if (vx != vy) return vx < vy ? -1 : 1;
    } else if (x != y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

Result<MdmAttestationPolicy> MdmAttestationPolicy::from_json(const Json& json) {
  if (!json.is_object())
    return Error::make("malformed", "the MDM attestation policy must be a JSON object");
  MdmAttestationPolicy policy;
  for (const auto& [key, value] : json.items()) {
    if (!key.empty() && key.front() == '_') continue;
    bool* flag = nullptr;
    if (key == "require_sip") flag = &policy.require_sip;
    if (key == "require_full_secure_boot") flag = &policy.require_full_secure_boot;
    if (key == "forbid_third_party_kexts") flag = &policy.forbid_third_party_kexts;
    if (key == "require_claims_match") flag = &policy.require_claims_match;
    if (flag != nullptr) {
      if (!value.is_boolean())
        return Error::make("malformed", "policy member " + key + " must be true or false");
      *flag = value.get<bool>();
    } else if (key == "min_os_version") {
      if (!value.is_string())
        return Error::make("malformed", "policy member min_os_version must be a string");
      policy.min_os_version = value.get<std::string>();
    } else {
      return Error::make("malformed", "unknown policy member \"" + key + "\"");
    }
  }
  return policy;
}

Json AttestationAssessment::to_json() const {
  Json out = {{"verdict", to_string(verdict)}, {"reasons", reasons}};
  if (attested) {
    Json facts = Json::object();
    if (attested->serial) facts["serial"] = *attested->serial;
    if (attested->udid) facts["udid"] = *attested->udid;
    if (attested->os_version) facts["os_version"] = *attested->os_version;
    if (attested->sepos_version) facts["sepos_version"] = *attested->sepos_version;
    if (attested->llb_version) facts["llb_version"] = *attested->llb_version;
    if (attested->sip_enabled) facts["sip_enabled"] = *attested->sip_enabled;
    if (attested->secure_boot) facts["secure_boot"] = sim::to_string(*attested->secure_boot);
    if (attested->third_party_kexts_allowed)
      facts["third_party_kexts_allowed"] = *attested->third_party_kexts_allowed;
    out["attested"] = std::move(facts);
  }
  if (freshness) out["freshness"] = hex_encode(*freshness);
  if (leaf_not_before != 0) out["leaf_not_before"] = format_rfc3339(leaf_not_before);
  return out;
}

AttestationAssessment assess_device_attestation(const std::vector<Bytes>& certificates,
                                                const std::optional<Bytes>& nonce_sent,
                                                const DeviceClaims& claims,
                                                const std::vector<pki::Certificate>& roots,
                                                const MdmAttestationPolicy& policy,
                                                std::int64_t now) {
  AttestationAssessment a;
  std::vector<std::string> violations;  // make it untrusted
  std::vector<std::string> staleness;   // make it stale
  std::vector<std::string> evidence;    // what held

  auto untrusted_now = [&](std::string reason) {
    a.verdict = AttestationVerdict::Untrusted;
    a.reasons.push_back(std::move(reason));
    return a;
  };
  if (certificates.empty())
    return untrusted_now("DevicePropertiesAttestation holds no certificate");
  std::vector<pki::Certificate> chain;
  for (std::size_t i = 0; i < certificates.size(); ++i) {
    auto cert = pki::Certificate::from_der(certificates[i]);
    if (!cert)
      return untrusted_now("certificate " + std::to_string(i) +
                           " of DevicePropertiesAttestation does not parse");
    chain.push_back(std::move(*cert));
  }
  const pki::Certificate& leaf = chain.front();
  a.leaf_not_before = leaf.not_before();
  std::vector<pki::Certificate> intermediates(chain.begin() + 1, chain.end());

  if (roots.empty()) {
    violations.push_back("no attestation roots are configured, so no chain can be trusted");
  } else if (auto verified = pki::verify_chain(leaf, intermediates, roots, now); !verified) {
    violations.push_back("the chain does not verify to a configured attestation root: " +
                         verified.error().detail);
  } else {
    std::string anchor = "a configured root";
    for (const auto& root : roots) {
      const pki::Certificate& top = intermediates.empty() ? leaf : intermediates.back();
      if (top.signed_by(root.public_key())) {
        anchor = "\"" + common_name_of(root) + "\"";
        break;
      }
    }
    evidence.push_back("the chain verifies to " + anchor);
  }

  auto contents = decode_apple_extensions(leaf);
  if (!contents) {
    violations.push_back("the leaf's Apple extensions are malformed: " + contents.error().detail);
  } else {
    a.attested = contents->facts;
    a.freshness = contents->freshness;
    const DeviceFacts& facts = contents->facts;

    // Freshness first: it decides whether mutable facts (OS version) can be compared.
    bool fresh = false;
    if (!nonce_sent) {
      evidence.push_back("no DeviceAttestationNonce was sent, so freshness is not judged");
      fresh = true;
    } else if (!contents->freshness) {
      staleness.push_back(
          "the attestation has no freshness code although a nonce was sent: a cached attestation");
    } else if (!equal_ct(*contents->freshness, freshness_code(*nonce_sent))) {
      staleness.push_back(
          "the freshness code is not SHA-256 of the nonce sent: the device returned a cached "
          "attestation "
          "(Apple's 7-day throttle) or replayed an old one");
    } else {
      evidence.push_back("the freshness code is SHA-256 of the nonce sent");
      fresh = true;
    }

    // Identity: the attestation must name the device that checked in.
    if (facts.serial || facts.udid) {
      if (facts.udid && !claims.udid.empty() && *facts.udid != claims.udid) {
        violations.push_back("Apple attests UDID " + *facts.udid +
                             ", but the device checked in as " + claims.udid);
      }
      if (facts.serial && !claims.serial.empty() && *facts.serial != claims.serial) {
        violations.push_back("Apple attests serial " + *facts.serial + ", but the device claims " +
                             claims.serial);
      }
      if ((!facts.udid || claims.udid.empty() || *facts.udid == claims.udid) &&
          (!facts.serial || claims.serial.empty() || *facts.serial == claims.serial)) {
        evidence.push_back("the attested serial and UDID match the check-in");
      }
    } else if (claims.user_enrollment) {
      evidence.push_back("User Enrollment: the attestation carries no serial or UDID, as expected");
    } else {
      violations.push_back(
          "the attestation carries neither serial nor UDID, but the device enrolled as a device, "
          "not through User Enrollment");
    }

    if (policy.require_claims_match && fresh && facts.os_version && !claims.os_version.empty() &&
        *facts.os_version != claims.os_version) {
      violations.push_back("the device reports OS " + claims.os_version + ", but Apple attests " +
                           *facts.os_version);
    }
    if (!policy.min_os_version.empty() && facts.os_version &&
        compare_versions(*facts.os_version, policy.min_os_version) < 0) {
      violations.push_back("attested OS " + *facts.os_version +
                           " is older than the policy's minimum " + policy.min_os_version);
    }

    // Posture (Apple silicon Macs only carry these OIDs).
    std::vector<std::string> posture_ok;
    if (facts.sip_enabled) {
      if (!*facts.sip_enabled && policy.require_sip) {
        violations.push_back("System Integrity Protection is attested as disabled");
      } else if (*facts.sip_enabled) {
        posture_ok.push_back("SIP enabled");
      }
    }
    if (facts.secure_boot) {
      if (*facts.secure_boot != SecureBootLevel::Full && policy.require_full_secure_boot) {
        violations.push_back(std::string("secure boot is attested as ") +
                             sim::to_string(*facts.secure_boot) + ", the policy requires full");
      } else {
        posture_ok.push_back(std::string("secure boot ") + sim::to_string(*facts.secure_boot));
      }
    }
    if (facts.third_party_kexts_allowed) {
      if (*facts.third_party_kexts_allowed && policy.forbid_third_party_kexts) {
        violations.push_back("third-party kernel extensions are attested as allowed");
      } else if (!*facts.third_party_kexts_allowed) {
        posture_ok.push_back("no third-party kernel extensions");
      }
    }
    if (!posture_ok.empty()) {
      std::string line = "attested posture:";
      for (std::size_t i = 0; i < posture_ok.size(); ++i) line += (i ? ", " : " ") + posture_ok[i];
      evidence.push_back(line);
    }
  }

  if (!violations.empty()) {
    a.verdict = AttestationVerdict::Untrusted;
    a.reasons = std::move(violations);
    a.reasons.insert(a.reasons.end(), staleness.begin(), staleness.end());
  } else if (!staleness.empty()) {
    a.verdict = AttestationVerdict::Stale;
    a.reasons = std::move(staleness);
    a.reasons.insert(a.reasons.end(), evidence.begin(), evidence.end());
  } else {
    a.verdict = AttestationVerdict::Trusted;
    a.reasons = std::move(evidence);
  }
  return a;
}

}  // namespace attestlab::sim

#include "server/attest/apple_attestation.h"

#include <algorithm>

#include "core/clock.h"
#include "server/attest/attest_text.h"
#include "server/faults.h"

namespace attestlab::server {
namespace {

// A real attestation object is about 2 KiB of base64url; anything this large is not one
// and is refused before decoding.
constexpr std::size_t kMaxAttObjChars = 64 * 1024;
constexpr std::size_t kMaxEchoedText = 64;

class Refuser {
 public:
  explicit Refuser(std::string* failed_rule) : failed_rule_(failed_rule) {}
  Error operator()(const char* rule, std::string detail) const {
    if (failed_rule_ != nullptr) *failed_rule_ = rule;
    return Error::make("badAttestationStatement", std::move(detail));
  }

 private:
  std::string* failed_rule_;
};

std::string key_name(const pki::KeySpec& spec) {
  return spec.name();
}

std::string curve_list(const std::vector<int>& bits) {
  std::string out;
  for (int b : bits) {
    if (!out.empty()) out += ", ";
    out += pki::KeySpec{pki::KeyKind::EC, b}.name();
  }
  return out.empty() ? "none" : out;
}

bool is_self_signed(const pki::Certificate& cert) {
  return cert.subject() == cert.issuer() && cert.signed_by(cert.public_key());
}

// An identity or version extension: UTF-8 text without control characters.
Result<std::optional<std::string>> text_extension(const pki::Certificate& leaf, const char* oid,
                                                  const char* what, const Refuser& refuse) {
  auto raw = leaf.extension_value(oid);
  if (!raw) return std::optional<std::string>{};
  std::string text = to_string(*raw);
  if (text.empty())
    return refuse("extension", std::string(what) + " extension (" + oid + ") is empty");
  if (!is_printable_token(text)) {
    return refuse("extension",
                  std::string(what) + " extension (" + oid + ") is not printable UTF-8 text (hex " +
                      hex_encode(Bytes(raw->begin(), raw->begin() + static_cast<std::ptrdiff_t>(
                                                                        std::min<std::size_t>(
                                                                            raw->size(), 32)))) +
                      ")");
  }
  return std::optional<std::string>{std::move(text)};
}

// The 1-byte flags of docs/APPLE_FORMAT.md: exactly 0x00 or 0x01.
std::optional<bool> decode_flag(const Bytes& raw) {
  if (raw.size() != 1 || raw[0] > 1) return std::nullopt;
  return raw[0] == 1;
}

std::optional<std::string> decode_boot_level(const Bytes& raw) {
  const std::string text = to_string(raw);
  if (text == "full" || text == "reduced" || text == "permissive") return text;
  return std::nullopt;
}

// The leaf under an intermediate remembered as verified to a root, at time `at`: the leaf's
// signature and validity and the intermediate's validity and CA constraints (the
// intermediate as the chain's anchor: pki::verify_issued_by decides as that chain check
// does), and the root's validity, which that chain leaves out.
bool verifies_under(const pki::Certificate& leaf, const VerifiedIntermediates::Link& link,
                    std::int64_t at) {
  if (at < link.root.not_before() || at >= link.root.not_after()) return false;
  return pki::verify_issued_by(leaf, link.intermediate, at).ok();
}

}  // namespace

std::optional<VerifiedIntermediates::Link> VerifiedIntermediates::find(
    const Bytes& der_sha256) const {
  std::lock_guard lock(mu_);
  auto it = links_.find(der_sha256);
  if (it == links_.end()) return std::nullopt;
  return it->second;
}

void VerifiedIntermediates::remember(const Bytes& der_sha256, Link link) {
  std::lock_guard lock(mu_);
  if (capacity_ == 0) return;
  auto [it, inserted] = links_.insert_or_assign(der_sha256, std::move(link));
  if (!inserted) return;
  order_.push_back(der_sha256);
  while (links_.size() > capacity_) {
    links_.erase(order_.front());
    order_.pop_front();
  }
}

std::uint64_t VerifiedIntermediates::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

void VerifiedIntermediates::count_hit() {
  std::lock_guard lock(mu_);
  ++hits_;
}

bool AttestedFacts::has_mac_posture() const {
  return sip_raw.has_value() || secure_boot_raw.has_value() || kexts_raw.has_value();
}

Json AttestedFacts::to_json() const {
  Json j = Json::object();
  j["fmt"] = fmt;
  if (key.valid()) {
    // The key is the leaf's: its SubjectPublicKeyInfo as the leaf carries it, rather than
    // re-encoded through OpenSSL 3.0's encoder (i2d_PUBKEY, ~60 us a key here). Finalize
    // compares it with the CSR's byte for byte first, then as keys.
    j["spki"] = base64url_encode(leaf.valid() ? leaf.spki_der() : key.spki_der());
    j["key"] = key_name(key.spec());
  }
  if (serial) j["serial"] = *serial;
  if (udid) j["udid"] = *udid;
  if (os_version) j["os_version"] = *os_version;
  if (sepos_version) j["sepos_version"] = *sepos_version;
  if (llb_version) j["llb_version"] = *llb_version;
  if (has_mac_posture()) {
    Json posture = Json::object();
    if (sip_raw)
      posture["sip"] =
          sip_enabled ? Json(*sip_enabled) : Json("unreadable:" + hex_encode(*sip_raw));
    if (secure_boot_raw) {
      posture["secure_boot"] =
          secure_boot ? Json(*secure_boot) : Json("unreadable:" + hex_encode(*secure_boot_raw));
    }
    if (kexts_raw) {
      posture["third_party_kexts"] = third_party_kexts_allowed
                                         ? Json(*third_party_kexts_allowed)
                                         : Json("unreadable:" + hex_encode(*kexts_raw));
    }
    j["posture"] = std::move(posture);
  }
  if (!freshness.empty()) j["freshness"] = hex_encode(freshness);
  if (leaf.valid()) {
    j["leaf_serial"] = leaf.serial_hex();
    j["leaf_not_before"] = format_rfc3339(leaf.not_before());
    j["leaf_not_after"] = format_rfc3339(leaf.not_after());
  }
  if (!root_fingerprint.empty()) j["root_sha256"] = hex_encode(root_fingerprint);
  return j;
}

Result<AttestedFacts> verify_apple_attestation(std::string_view att_obj_b64u,
                                               const std::vector<pki::Certificate>& roots,
                                               const std::string& token, std::int64_t now,
                                               const AppleVerifyOptions& options,
                                               std::string* failed_rule) {
  const Refuser refuse(failed_rule);

  // Encoding: base64url, then CBOR.
  if (att_obj_b64u.empty()) return refuse("encoding", "attObj is empty");
  if (att_obj_b64u.size() > kMaxAttObjChars) {
    return refuse("encoding",
                  "attObj is larger than " + std::to_string(kMaxAttObjChars) + " characters");
  }
  auto raw = base64url_decode(att_obj_b64u);
  if (!raw) return refuse("encoding", "attObj is not base64url: " + raw.error().detail);
  auto obj = parse_cbor(*raw);
  if (!obj) return refuse("encoding", "attObj is not well-formed CBOR: " + obj.error().detail);

  // Structure: {"fmt": text, "attStmt": {"x5c": [bytes, ...]}}.
  if (!obj->is_object()) return refuse("format", "attestation object is not a CBOR map");
  const std::string* fmt = get_string(*obj, "fmt");
  if (fmt == nullptr) return refuse("format", "attestation object has no text \"fmt\"");
  if (*fmt != "apple" && !ATTESTLAB_FAULT(accept_unknown_format)) {
    return refuse("format", "unsupported format \"" + clip_text(*fmt, kMaxEchoedText) +
                                "\" (supported: \"apple\")");
  }
  auto stmt = obj->find("attStmt");
  if (stmt == obj->end() || !stmt->is_object()) {
    return refuse("format", "attestation object has no map \"attStmt\"");
  }
  auto x5c = stmt->find("x5c");
  if (x5c == stmt->end() || !x5c->is_array())
    return refuse("format", "attStmt has no array \"x5c\"");
  if (x5c->empty()) return refuse("format", "x5c is empty");
  if (x5c->size() > options.max_chain_length) {
    return refuse("format", "x5c has " + std::to_string(x5c->size()) + " certificates (at most " +
                                std::to_string(options.max_chain_length) + ")");
  }
  std::vector<pki::Certificate> chain;
  // [leaf, intermediate] whose intermediate was verified to a root before: its link.
  std::optional<VerifiedIntermediates::Link> remembered;
  Bytes intermediate_sha256;
  const bool cacheable = options.intermediates && x5c->size() == 2 &&
                         !ATTESTLAB_FAULT(trust_any_root) &&
                         !ATTESTLAB_FAULT(skip_chain_verification);
  // Under a remembered intermediate the leaf is parsed without OpenSSL's key decoding (a
  // decoder context per certificate in OpenSSL 3.0, ~0.1-0.2 ms), for verify_issued_by;
  // verify_chain, if it comes to that, parses it again.
  // (A CBOR byte string is a Bytes with a subtype: read in place, not copied.)
  if (cacheable && (*x5c)[1].is_binary()) {
    intermediate_sha256 = sha256((*x5c)[1].get_binary());
    remembered = options.intermediates->find(intermediate_sha256);
  }
  for (std::size_t i = 0; i < x5c->size(); ++i) {
    const Json& entry = (*x5c)[i];
    if (!entry.is_binary())
      return refuse("format", "x5c[" + std::to_string(i) + "] is not a byte string");
    if (remembered && i == 1) {
      chain.push_back(remembered->intermediate);
      continue;
    }
    const Bytes& der = entry.get_binary();
    auto cert = remembered && i == 0 ? pki::Certificate::from_der_lean(der)
                                     : pki::Certificate::from_der(der);
    if (!cert) {
      return refuse("certificate", "x5c[" + std::to_string(i) +
                                       "] is not a DER certificate: " + cert.error().detail);
    }
    chain.push_back(std::move(*cert));
  }

  AttestedFacts facts;
  facts.fmt = *fmt;
  facts.leaf = chain.front();
  facts.intermediates.assign(chain.begin() + 1, chain.end());
  const pki::Certificate& leaf = facts.leaf;
  if (leaf.is_ca()) return refuse("certificate", "the attestation leaf x5c[0] is a CA certificate");

  // Validity of the leaf, with slack for a clock running behind Apple's.
  const std::int64_t not_before = leaf.not_before();
  const std::int64_t not_after = leaf.not_after();
  const bool ignore_validity = ATTESTLAB_FAULT(ignore_attestation_validity);
  if (!ignore_validity) {
    if (now + options.clock_skew_seconds < not_before) {
      return refuse("validity", "attestation leaf is not valid before " +
                                    format_rfc3339(not_before) + " (now " + format_rfc3339(now) +
                                    ")");
    }
    // OpenSSL treats notAfter itself as expired; so does this check, so that the rule
    // named is "validity" rather than "chain" in that second.
    if (now >= not_after) {
      return refuse("validity", "attestation leaf expired at " + format_rfc3339(not_after) +
                                    " (now " + format_rfc3339(now) + ")");
    }
  }
  // Verify the chain at a time the leaf is valid: only differs from now inside the skew
  // allowance (or with the ignore_attestation_validity fault).
  // notAfter itself counts as expired (OpenSSL), hence the last valid second is notAfter-1.
  const std::int64_t verify_at = std::clamp(now, not_before, std::max(not_before, not_after - 1));

  // Chain to a configured root; find which one anchors it (for the evidence).
  if (!ATTESTLAB_FAULT(skip_chain_verification)) {
    std::vector<pki::Certificate> anchors = roots;
    if (ATTESTLAB_FAULT(trust_any_root)) {
      for (const auto& c : chain) {
        if (is_self_signed(c)) anchors.push_back(c);
      }
    }
    if (anchors.empty()) return refuse("chain", "no attestation roots are configured");
    if (remembered) {
      // Only while its root is still one of the roots given.
      const bool root_given =
          std::any_of(anchors.begin(), anchors.end(), [&](const pki::Certificate& root) {
            return root.fingerprint_sha256() == remembered->root_fingerprint;
          });
      if (root_given && verifies_under(leaf, *remembered, verify_at)) {
        facts.root_fingerprint = remembered->root_fingerprint;
        options.intermediates->count_hit();
      }
    }
    for (std::size_t r = 0; r < anchors.size() && facts.root_fingerprint.empty(); ++r) {
      const pki::Certificate& root = anchors[r];
      if (pki::verify_chain(leaf, facts.intermediates, {root}, verify_at).ok()) {
        facts.root_fingerprint = root.fingerprint_sha256();
        if (cacheable) {
          options.intermediates->remember(
              intermediate_sha256, {facts.intermediates.front(), root, facts.root_fingerprint});
        }
      }
    }
    if (facts.root_fingerprint.empty()) {
      auto verdict = pki::verify_chain(leaf, facts.intermediates, anchors, verify_at);
      const std::string reason =
          verdict.ok() ? "no single root anchors it" : verdict.error().detail;
      return refuse("chain",
                    "attestation chain does not verify to a trusted attestation root: " + reason);
    }
  }

  // Age: an attestation older than Apple's caching window cannot be this challenge's.
  if (!ignore_validity && now - not_before > options.max_attestation_age_seconds) {
    return refuse("attestation_age",
                  "attestation leaf was issued at " + format_rfc3339(not_before) + ", more than " +
                      std::to_string(options.max_attestation_age_seconds) + " seconds ago");
  }

  // Freshness: required, and SHA-256 of the challenge token.
  auto freshness = leaf.extension_value(kOidAppleFreshness);
  if (!freshness) {
    if (!ATTESTLAB_FAULT(accept_missing_freshness) && !ATTESTLAB_FAULT(skip_freshness_check)) {
      return refuse("freshness",
                    "attestation has no freshness code (" + std::string(kOidAppleFreshness) + ")");
    }
  } else {
    facts.freshness = *freshness;
    if (!ATTESTLAB_FAULT(skip_freshness_check) && !equal_ct(*freshness, sha256(token))) {
      return refuse("freshness", "freshness code " + hex_encode(*freshness) +
                                     " is not SHA-256 of the challenge token");
    }
  }

  // The attested key: EC on an allowed curve.
  facts.key = leaf.public_key();
  if (!facts.key.valid()) return refuse("key", "the attestation leaf's public key is unreadable");
  const pki::KeySpec spec = facts.key.spec();
  if (!ATTESTLAB_FAULT(accept_rsa_attestation)) {
    if (spec.kind != pki::KeyKind::EC) {
      return refuse("key", "attested key is " + key_name(spec) + "; only EC keys are accepted (" +
                               curve_list(options.allowed_ec_bits) + ")");
    }
    const auto& allowed = options.allowed_ec_bits;
    if (std::find(allowed.begin(), allowed.end(), spec.bits) == allowed.end()) {
      return refuse("key", "attested key curve " + key_name(spec) +
                               " is not allowed (allowed: " + curve_list(allowed) + ")");
    }
  }

  // Facts.
  struct TextFact {
    const char* oid;
    const char* what;
    std::optional<std::string>* out;
  };
  const TextFact text_facts[] = {
      {kOidAppleSerial, "serial number", &facts.serial},
      {kOidAppleUdid, "UDID", &facts.udid},
      {kOidAppleOsVersion, "OS version", &facts.os_version},
      {kOidAppleSeposVersion, "sepOS version", &facts.sepos_version},
      {kOidAppleLlbVersion, "LLB version", &facts.llb_version},
  };
  for (const auto& f : text_facts) {
    auto value = text_extension(leaf, f.oid, f.what, refuse);
    if (!value) return value.error();
    *f.out = std::move(*value);
  }
  facts.sip_raw = leaf.extension_value(kOidAppleSip);
  if (facts.sip_raw) facts.sip_enabled = decode_flag(*facts.sip_raw);
  facts.secure_boot_raw = leaf.extension_value(kOidAppleSecureBoot);
  if (facts.secure_boot_raw) facts.secure_boot = decode_boot_level(*facts.secure_boot_raw);
  facts.kexts_raw = leaf.extension_value(kOidAppleThirdPartyKexts);
  if (facts.kexts_raw) facts.third_party_kexts_allowed = decode_flag(*facts.kexts_raw);
  return facts;
}

}  // namespace attestlab::server

#include "server/attest/device_attest.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "core/pki.h"
#include "server/attest/apple_attestation.h"
#include "server/attest/attest_policy.h"
#include "server/attest/attest_text.h"
#include "server/attest/device_attest_decision_log.h"
#include "server/attest/inventory.h"
#include "server/faults.h"

namespace attestlab::server {
namespace {

constexpr const char* kRootsFixture = "fixtures/apple-enterprise-attestation-root-ca.pem";
constexpr std::size_t kMaxClientErrorText = 200;

// Dotted-decimal OID: at least two arcs, first arc 0..2 (second < 40 under 0 and 1), no
// leading zeros.
bool is_dotted_oid(std::string_view s) {
  std::vector<std::string_view> arcs;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    arcs.push_back(s.substr(start, dot == std::string_view::npos ? s.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (arcs.size() < 2) return false;
  for (auto arc : arcs) {
    if (arc.empty() || arc.size() > 20) return false;
    for (char c : arc) {
      if (c < '0' || c > '9') return false;
    }
    if (arc.size() > 1 && arc[0] == '0') return false;
  }
  if (arcs[0].size() != 1 || arcs[0][0] > '2') return false;
  if (arcs[0][0] != '2' && (arcs[1].size() > 2 || std::stoi(std::string(arcs[1])) > 39))
    return false;
  return true;
}

std::string in_quotes(std::string_view s) {
  return "\"" + clip_text(s, 64) + "\"";
}

// The part of an identifier value the attestation speaks for: the device part of a
// permanent-identifier, the serial of a hardware-module.
std::string device_part(const Identifier& id) {
  return id.value.substr(0, id.value.find('/'));
}

std::vector<std::string> default_root_candidates() {
  std::vector<std::string> out;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto dir = exe.parent_path();
    for (int up = 0; up < 4 && !dir.empty(); ++up) {
      out.push_back((dir / kRootsFixture).string());
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
  out.push_back((std::filesystem::current_path(ec) / kRootsFixture).string());
#ifdef ATTESTLAB_DEFAULT_ROOTS
  out.push_back(ATTESTLAB_DEFAULT_ROOTS);
#endif
  return out;
}

Result<std::vector<pki::Certificate>> load_roots(const std::string& configured) {
  std::string path = configured;
  if (path.empty()) {
    for (const auto& candidate : default_root_candidates()) {
      std::error_code ec;
      if (std::filesystem::is_regular_file(candidate, ec)) {
        path = candidate;
        break;
      }
    }
    if (path.empty()) {
      return Error::make(
          "serverInternal",
          std::string("attestation roots: no --attestation-roots given and ") + kRootsFixture +
              " not found next to the executable, in the current directory or the source tree");
    }
  }
  auto pem = pki::read_file(path);
  if (!pem)
    return Error::make("serverInternal", "attestation roots " + path + ": " + pem.error().detail);
  auto certs = pki::Certificate::bundle_from_pem(*pem);
  if (!certs)
    return Error::make("serverInternal", "attestation roots " + path + ": " + certs.error().detail);
  return certs;
}

// Why validate() refused, and what it had verified by then.
struct Refusal {
  std::string rule;
  Error error;
};

class DeviceAttestValidatorImpl final : public DeviceAttestValidator {
 public:
  DeviceAttestValidatorImpl(std::shared_ptr<Clock> clock, std::vector<pki::Certificate> roots,
                            AttestPolicy policy, std::optional<Inventory> inventory,
                            std::unique_ptr<DecisionLog> log)
      : clock_(std::move(clock)),
        roots_(std::move(roots)),
        policy_(std::move(policy)),
        inventory_(std::move(inventory)),
        log_(std::move(log)) {}

  Result<Json> validate(const Authorization& authz, const Challenge& challenge,
                        const Account& account, const Json& payload) override {
    Decision d;
    d.ts = clock_->now();
    d.challenge = challenge.id;
    d.account = account.id;
    d.identifier = authz.identifier.to_json();
    d.evidence = nullptr;
    std::optional<Refusal> refusal;
    auto evidence = evaluate(authz, challenge, payload, d.ts, refusal, d.evidence);
    if (evidence) {
      d.outcome = "accept";
      d.rule = "ok";
      d.evidence = *evidence;
    } else {
      d.outcome = "reject";
      d.rule = refusal ? refusal->rule : "internal";
      d.detail = evidence.error().detail;
    }
    record(d);
    return evidence;
  }

  bool supersedes_previous_certificates() const override {
    return policy_.one_active_certificate_per_device &&
           !ATTESTLAB_FAULT(keep_superseded_certificates);
  }

 private:
  Result<Json> evaluate(const Authorization& authz, const Challenge& challenge, const Json& payload,
                        std::int64_t now, std::optional<Refusal>& refusal, Json& partial_evidence) {
    auto refuse = [&](std::string rule, Error error) -> Error {
      refusal = Refusal{std::move(rule), error};
      return error;
    };

    // The payload: {"attObj": text}; other members are ignored (draft §5), "error" means
    // the client gave up.
    if (!payload.is_object()) {
      return refuse("payload",
                    Error::make("malformed", "the challenge payload must be a JSON object"));
    }
    if (auto err = payload.find("error"); err != payload.end()) {
      const std::string text = err->is_string()
                                   ? err->get<std::string>()
                                   : err->dump(-1, ' ', false, Json::error_handler_t::replace);
      return refuse("client_error",
                    Error::make("badAttestationStatement",
                                "the client reported an error instead of an attestation: " +
                                    clip_text(text, kMaxClientErrorText)));
    }
    if (ATTESTLAB_FAULT(reject_unknown_payload_fields)) {
      for (auto it = payload.begin(); it != payload.end(); ++it) {
        if (it.key() != "attObj") {
          return refuse("payload", Error::make("malformed",
                                               "unexpected payload member " + in_quotes(it.key())));
        }
      }
    }
    const std::string* att_obj = get_string(payload, "attObj");
    if (att_obj == nullptr) {
      return refuse("payload",
                    Error::make("malformed", "the challenge payload has no \"attObj\" string"));
    }

    if (!ATTESTLAB_FAULT(skip_identifier_syntax_check)) {
      if (auto syntax = check_device_identifier_syntax(authz.identifier); !syntax) {
        return refuse("identifier_syntax", syntax.error());
      }
    }

    // The statement itself.
    std::string rule;
    AppleVerifyOptions verify = policy_.verify_options();
    verify.intermediates = intermediates_;
    auto facts = verify_apple_attestation(*att_obj, roots_, challenge.token, now, verify, &rule);
    if (!facts) return refuse(rule, facts.error());
    Json evidence = facts->to_json();
    partial_evidence = evidence;

    // The attested device must be the order's device.
    const std::string wanted = device_part(authz.identifier);
    std::string device_id;
    std::string matched = "none";
    if (facts->user_enrollment()) {
      if (!policy_.allow_user_enrollment && !ATTESTLAB_FAULT(accept_user_enrollment)) {
        return refuse(
            "user_enrollment",
            Error::make("badAttestationStatement",
                        "the attestation carries no serial number or UDID (User Enrollment); "
                        "policy allow_user_enrollment is off"));
      }
    } else {
      const bool by_serial = policy_.match != IdentifierMatch::Udid && facts->serial == wanted;
      const bool by_udid = policy_.match != IdentifierMatch::Serial && facts->udid == wanted;
      if (by_serial || by_udid) {
        matched = by_serial ? "serial" : "udid";
        device_id = wanted;
      } else if (ATTESTLAB_FAULT(skip_identifier_match)) {
        device_id = facts->serial ? *facts->serial : *facts->udid;
      } else {
        std::string attested;
        if (policy_.match != IdentifierMatch::Udid) {
          attested +=
              "serial " + (facts->serial ? in_quotes(*facts->serial) : std::string("(none)"));
        }
        if (policy_.match != IdentifierMatch::Serial) {
          if (!attested.empty()) attested += " nor ";
          attested += "UDID " + (facts->udid ? in_quotes(*facts->udid) : std::string("(none)"));
        }
        return refuse("identifier_match", Error::make("badAttestationStatement",
                                                      "order identifier " + in_quotes(wanted) +
                                                          " is not the attested " + attested));
      }
    }

    // Inventory (User Enrollment devices cannot be in it: allowing them skips it).
    std::string platform = platform_of(*facts);
    if (inventory_ && !facts->user_enrollment() && !ATTESTLAB_FAULT(ignore_inventory)) {
      auto entry = inventory_->check(facts->serial, facts->udid, &rule);
      if (!entry) return refuse(rule, entry.error());
      if (!entry->platform.empty()) platform = entry->platform;
      evidence["inventory_status"] = entry->status;
    }

    // Posture.
    if (!ATTESTLAB_FAULT(ignore_posture)) {
      if (auto posture = check_posture(policy_, *facts, platform, &rule); !posture) {
        return refuse(rule, posture.error());
      }
    }

    evidence["device_id"] = device_id;
    evidence["matched"] = matched;
    evidence["platform"] = platform;
    evidence["user_enrollment"] = facts->user_enrollment();
    return evidence;
  }

  void record(const Decision& d) {
    if (log_) {
      if (auto written = log_->write(d); !written) {
        std::fprintf(stderr, "attestlab: %s\n", written.error().detail.c_str());
      }
    }
    if (decision_hook_) decision_hook_(d.outcome, d.rule);
  }

  std::shared_ptr<Clock> clock_;
  std::vector<pki::Certificate> roots_;
  // Apple's attestation intermediates verified to roots_ once, then only the leaf a request.
  std::shared_ptr<VerifiedIntermediates> intermediates_ = std::make_shared<VerifiedIntermediates>();
  AttestPolicy policy_;
  std::optional<Inventory> inventory_;
  std::unique_ptr<DecisionLog> log_;
};

}  // namespace

Result<std::unique_ptr<DeviceAttestValidator>> DeviceAttestValidator::create(
    const ServerConfig& config, std::shared_ptr<Clock> clock) {
  if (!clock) clock = SystemClock::instance();
  auto roots = load_roots(config.attestation_roots_file);
  if (!roots) return roots.error();
  AttestPolicy policy;
  if (!config.policy_file.empty()) {
    auto loaded = AttestPolicy::load(config.policy_file);
    if (!loaded) return loaded.error();
    policy = std::move(*loaded);
  }
  std::optional<Inventory> inventory;
  if (!config.inventory_file.empty()) {
    auto loaded = Inventory::load(config.inventory_file);
    if (!loaded) return loaded.error();
    inventory = std::move(*loaded);
  }
  const std::string log_path =
      !config.decision_log_file.empty()
          ? config.decision_log_file
          : (std::filesystem::path(config.data_dir) / "decisions.jsonl").string();
  auto log = DecisionLog::open(log_path);
  if (!log) return log.error();
  return std::unique_ptr<DeviceAttestValidator>(
      new DeviceAttestValidatorImpl(std::move(clock), std::move(*roots), std::move(policy),
                                    std::move(inventory), std::move(*log)));
}

void add_attested_device_ids(const std::string& device_id, const Json& evidence,
                             std::vector<std::string>& ids) {
  auto add = [&ids](const std::string& id) {
    if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  add(device_id);
  if (!evidence.is_object()) return;
  for (const char* key : {"serial", "udid"}) {
    if (const std::string* v = get_string(evidence, key)) add(*v);
  }
}

const std::vector<std::string>& device_attest_rules() {
  static const std::vector<std::string> rules = {"ok",
                                                 "payload",
                                                 "client_error",
                                                 "identifier_syntax",
                                                 "encoding",
                                                 "format",
                                                 "certificate",
                                                 "extension",
                                                 "validity",
                                                 "chain",
                                                 "attestation_age",
                                                 "freshness",
                                                 "key",
                                                 "identifier_match",
                                                 "user_enrollment",
                                                 "inventory_unknown",
                                                 "inventory_pair",
                                                 "inventory_status",
                                                 "min_os_version",
                                                 "min_sepos_version",
                                                 "require_sip",
                                                 "require_full_secure_boot",
                                                 "forbid_third_party_kexts",
                                                 "internal"};
  return rules;
}

Result<void> check_device_identifier_syntax(const Identifier& id) {
  const std::string& v = id.value;
  // Serials are ~12 characters, UDIDs 25-40: the bound keeps a value from carrying kilobytes
  // into quota keys, stored rows and problem documents.
  if (v.size() > kMaxDeviceIdentifierBytes) {
    return Error::make("rejectedIdentifier",
                       id.type + " value of " + std::to_string(v.size()) + " bytes: at most " +
                           std::to_string(kMaxDeviceIdentifierBytes) + " are accepted");
  }
  if (id.type == "permanent-identifier") {
    const std::size_t slash = v.find('/');
    const std::string device = v.substr(0, slash);
    if (device.empty()) {
      return Error::make("malformed",
                         "permanent-identifier " + in_quotes(v) + " has an empty device part");
    }
    if (!is_printable_token(device)) {
      return Error::make("malformed",
                         "permanent-identifier device part " + in_quotes(device) +
                             " contains whitespace, control characters or invalid UTF-8");
    }
    if (slash != std::string::npos && !is_dotted_oid(std::string_view(v).substr(slash + 1))) {
      return Error::make("malformed",
                         "permanent-identifier assigner " + in_quotes(v.substr(slash + 1)) +
                             " is not a dotted OID (value is device-part [\"/\" assigner-OID])");
    }
    return ok();
  }
  if (id.type == "hardware-module") {
    const std::size_t slash = v.find('/');
    if (slash == std::string::npos) {
      return Error::make("malformed", "hardware-module " + in_quotes(v) +
                                          " is not serial \"/\" hw-type-OID (no \"/\")");
    }
    const std::string serial = v.substr(0, slash);
    if (serial.empty())
      return Error::make("malformed", "hardware-module " + in_quotes(v) + " has an empty serial");
    if (!is_printable_token(serial)) {
      return Error::make("malformed",
                         "hardware-module serial " + in_quotes(serial) +
                             " contains whitespace, control characters or invalid UTF-8");
    }
    if (!is_dotted_oid(std::string_view(v).substr(slash + 1))) {
      return Error::make("malformed", "hardware-module hw-type " + in_quotes(v.substr(slash + 1)) +
                                          " is not a dotted OID");
    }
    return ok();
  }
  return Error::make("unsupportedIdentifier", "identifier type " + in_quotes(id.type) +
                                                  " is not a device identifier "
                                                  "(permanent-identifier, hardware-module)");
}

}  // namespace attestlab::server

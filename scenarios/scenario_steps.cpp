// Parsing of a scenario's steps (scenarios/FORMAT.md "steps"): each step type's members,
// the expectations it may check, payload options, fleets, and the cross-references
// between steps and devices.
#include <algorithm>

#include "scenarios/json_fields.h"
#include "scenarios/scenario.h"
#include "scenarios/scenario_parse.h"
#include "sim/device/client_faults.h"

namespace attestlab::scenarios::detail {

namespace {

// Which expectation members each step type may check.
std::vector<std::string> expectation_members(StepType type) {
  switch (type) {
    case StepType::MdmEnroll:
      return {"error", "status"};
    case StepType::InstallProfile:
      return {"issued",           "error",          "status",          "failed_step",
              "challenge_status", "command_status", "network_requests"};
    case StepType::DeviceInformation:
      return {"mdm_verdict", "command_status", "error"};
    case StepType::AcmeEnroll:
      return {"issued", "error", "status", "failed_step", "challenge_status", "network_requests"};
    case StepType::AcmeRenew:
      return {"issued",           "error",            "status",     "failed_step",
              "challenge_status", "network_requests", "ari_renewal"};
    case StepType::Revoke:
      return {"revoked", "error", "status", "network_requests"};
    case StepType::CheckCertificate:
      return {"revoked"};
    case StepType::CheckKey:
      return {"key_usable"};
    case StepType::Hijack:
      return {"error", "status", "revoked", "network_requests"};
    case StepType::Fleet:  // per device class, see parse_fleet
      return {"issued",      "error",          "failed_step", "challenge_status",
              "mdm_verdict", "command_status", "ari_renewal"};
    default:
      return {};
  }
}

const std::vector<std::string> kEnrollSteps = {"payload",  "account",  "order",     "authz",
                                               "key",      "attest",   "challenge", "csr",
                                               "finalize", "download", "install"};
const std::vector<std::string> kChallengeStatuses = {"pending", "processing", "valid", "invalid"};

std::optional<Expectation> parse_expectation(const Json& obj, const std::string& path,
                                             StepType type, FieldErrors& errors) {
  Fields f(obj, path, errors);
  const std::vector<std::string> allowed = expectation_members(type);
  auto allowed_here = [&](const char* key) {
    if (!f.has(key)) return false;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      f.fail(key, std::string("cannot be checked by ") + to_string(type) + " steps");
      return false;
    }
    return true;
  };
  Expectation e;
  if (allowed_here("issued")) e.issued = f.boolean("issued");
  if (allowed_here("error")) {
    if (auto v = f.string_or_strings("error")) e.error = *v;
  }
  if (allowed_here("status")) {
    if (auto v = f.integer("status", false, 100, 599)) e.status = static_cast<int>(*v);
  }
  if (allowed_here("failed_step")) e.failed_step = f.choice("failed_step", kEnrollSteps);
  if (allowed_here("challenge_status"))
    e.challenge_status = f.choice("challenge_status", kChallengeStatuses);
  if (allowed_here("mdm_verdict")) e.mdm_verdict = f.string("mdm_verdict");
  if (allowed_here("command_status")) {
    e.command_status =
        f.choice("command_status", {"Acknowledged", "Error", "CommandFormatError", "NotNow"});
  }
  if (allowed_here("revoked")) e.revoked = f.boolean("revoked");
  if (allowed_here("key_usable")) e.key_usable = f.boolean("key_usable");
  if (allowed_here("network_requests"))
    e.network_requests = f.integer("network_requests", false, 0);
  if (allowed_here("ari_renewal")) e.ari_renewal = f.boolean("ari_renewal");
  f.reject_unknown("is not an expectation (see scenarios/FORMAT.md)");
  if (errors.failed()) return std::nullopt;
  if (e.issued.value_or(false) && (!e.error.empty() || e.failed_step)) {
    f.fail("issued", "true contradicts an expected error or failed_step");
  } else if (e.status && e.error.empty()) {
    f.fail("status", "needs an expected error");
  } else if (e.empty()) {
    errors.fail(path, "must check at least one thing");
  }
  if (errors.failed()) return std::nullopt;
  if (!e.error.empty() || e.failed_step) e.issued = e.issued.value_or(false);
  return e;
}

void parse_payload(const Json& obj, const std::string& path, PayloadOptions& p,
                   FieldErrors& errors) {
  Fields f(obj, path, errors);
  p.key_type = f.choice("key_type", {"RSA", "ECSECPrimeRandom"});
  p.key_size = f.integer("key_size", false, 1, 16384);
  p.hardware_bound = f.boolean("hardware_bound");
  p.attest = f.boolean("attest");
  p.key_is_extractable = f.boolean("key_is_extractable");
  p.client_identifier = f.string("client_identifier");
  if (p.client_identifier) {
    const std::string& c = *p.client_identifier;
    const bool ok = c == "serial" || c == "udid" || c.rfind("serial:", 0) == 0 ||
                    c.rfind("udid:", 0) == 0 || (c.rfind("literal:", 0) == 0 && c.size() > 8);
    if (!ok) {
      f.fail(
          "client_identifier",
          "must be \"serial\", \"udid\", \"serial:DEVICE\", \"udid:DEVICE\" or \"literal:TEXT\"");
    }
  }
  f.reject_unknown("is not a payload option (see scenarios/FORMAT.md)");
}

std::optional<StepType> parse_action(const std::string& name) {
  auto t = parse_step_type(name);
  if (t && (*t == StepType::MdmEnroll || *t == StepType::InstallProfile ||
            *t == StepType::DeviceInformation || *t == StepType::AcmeEnroll ||
            *t == StepType::AcmeRenew)) {
    return t;
  }
  return std::nullopt;
}

void parse_fleet(Fields& f, Step& s, FieldErrors& errors) {
  if (auto n = f.integer("count", true, 1, 10000)) s.fleet.count = *n;
  if (const Json* kinds = f.object("kinds")) {
    s.fleet.weights.assign(sim::all_device_kinds().size(), 0);
    for (auto it = kinds->begin(); it != kinds->end(); ++it) {
      auto kind = sim::parse_device_kind(it.key());
      const std::string at = f.at("kinds") + "." + it.key();
      if (!kind) {
        errors.fail(at, "is not a device kind");
        return;
      }
      if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 1000000) {
        errors.fail(at, "must be a weight between 0 and 1000000");
        return;
      }
      const auto& all = sim::all_device_kinds();
      const auto index = std::find(all.begin(), all.end(), *kind) - all.begin();
      s.fleet.weights[static_cast<std::size_t>(index)] = it->get<unsigned>();
    }
  }
  if (auto v = f.boolean("include_legacy")) s.fleet.include_legacy = *v;
  if (auto v = f.integer("parallel", false, 1, 256)) s.fleet.parallel = *v;
  if (auto actions = f.strings("actions", true, true)) {
    for (std::size_t i = 0; i < actions->size(); ++i) {
      auto t = parse_action((*actions)[i]);
      if (!t) {
        errors.fail(index_path(f.at("actions"), i),
                    "must be mdm_enroll, install_profile, device_information, acme_enroll or "
                    "acme_renew");
        return;
      }
      s.fleet.actions.push_back(*t);
    }
  }
  if (const Json* expect = f.object("expect")) {
    Fields e(*expect, f.at("expect"), errors);
    if (const Json* v = e.object("capable"))
      s.fleet.capable = parse_expectation(*v, e.at("capable"), StepType::Fleet, errors);
    if (const Json* v = e.object("legacy"))
      s.fleet.legacy = parse_expectation(*v, e.at("legacy"), StepType::Fleet, errors);
    if (auto v = e.boolean("spread_windows")) s.fleet.spread_windows = *v;
    e.reject_unknown("is not a fleet device class (capable, legacy) or spread_windows");
    if (!errors.failed() && !s.fleet.capable && !s.fleet.legacy) {
      errors.fail(f.at("expect"), "must check \"capable\" or \"legacy\" devices");
    }
  }
}

}  // namespace

void parse_step(const Json& obj, const std::string& path, Step& s, FieldErrors& errors) {
  if (!obj.is_object()) {
    errors.fail(path, "must be an object");
    return;
  }
  Fields f(obj, path, errors);
  auto type_name = f.choice("type", step_type_names(), true);
  if (!type_name) return;
  s.type = *parse_step_type(*type_name);
  if (auto t = f.string("title")) s.title = *t;

  const bool has_device = s.type != StepType::AdvanceClock &&
                          s.type != StepType::AttestationOutage && s.type != StepType::Fleet;
  if (has_device) {
    if (auto d = f.string("device", true)) s.device = *d;
  }
  switch (s.type) {
    case StepType::InstallProfile:
      if (const Json* p = f.object("payload"))
        parse_payload(*p, f.at("payload"), s.payload, errors);
      break;
    case StepType::AcmeEnroll:
    case StepType::AcmeRenew:
      if (const Json* p = f.object("payload"))
        parse_payload(*p, f.at("payload"), s.payload, errors);
      if (auto faults = f.strings("client_faults")) {
        sim::ClientFaults probe;
        for (std::size_t i = 0; i < faults->size(); ++i) {
          if (!sim::set_client_fault(probe, (*faults)[i])) {
            errors.fail(
                index_path(f.at("client_faults"), i),
                "unknown client fault \"" + (*faults)[i] + "\" (see sim/device/client_faults.h)");
          }
        }
        s.client_faults = *faults;
      }
      if (auto v = f.string("other_device")) s.other_device = *v;
      if (s.type == StepType::AcmeEnroll) {
        if (auto v = f.boolean("reuse_key")) s.reuse_key = *v;
      } else {
        s.reuse_key = true;  // a renewal keeps the installed identity's key
      }
      break;
    case StepType::DeviceInformation:
      if (auto v = f.choice("nonce", {"fresh", "none", "repeat"})) s.nonce = *v;
      break;
    case StepType::AdvanceClock: {
      auto secs = f.integer("seconds", false, 1, 10LL * 365 * 86400);
      auto days = f.integer("days", false, 1, 10LL * 365);
      if (errors.failed()) return;
      if (secs.has_value() == days.has_value()) {
        errors.fail(path, "advance_clock needs exactly one of \"seconds\" and \"days\"");
        return;
      }
      s.seconds = secs ? *secs : *days * 86400;
      if (auto v = f.boolean("server")) s.server_clock = *v;
      break;
    }
    case StepType::Revoke:
      if (auto v = f.choice("by", {"account", "certificate-key"})) s.revoke_by = *v;
      s.reason = f.integer("reason", false, 0, 10);
      [[fallthrough]];
    case StepType::CheckCertificate:
    case StepType::CheckKey:
      if (auto v = f.choice("certificate", {"current", "previous"})) {
        s.certificate = *v == "previous" ? CertificateRef::Previous : CertificateRef::Current;
      }
      break;
    case StepType::AttestationOutage:
      if (auto v = f.choice("mode", {"off", "server-error", "connection"}, true)) s.outage = *v;
      break;
    case StepType::UpdateDevice:
      if (const Json* v = f.object("identity"))
        parse_identity(*v, f.at("identity"), s.identity, errors);
      if (const Json* v = f.object("posture")) {
        s.posture = PostureOverrides{};
        parse_posture(*v, f.at("posture"), *s.posture, errors);
      }
      if (const Json* v = f.object("claims")) {
        s.claims = sim::ClaimOverrides{};
        parse_claims(*v, f.at("claims"), *s.claims, errors);
      }
      if (!errors.failed() && !f.has("identity") && !f.has("posture") && !f.has("claims")) {
        errors.fail(path, "update_device needs \"identity\", \"posture\" or \"claims\"");
      }
      break;
    case StepType::Fleet:
      parse_fleet(f, s, errors);
      break;
    case StepType::Hijack:
      if (auto v = f.string("attacker", true)) s.attacker = *v;
      if (auto v = f.choice("action", {"respond_challenge", "finalize", "revoke"}, true))
        s.hijack = *v;
      if (const Json* p = f.object("payload"))
        parse_payload(*p, f.at("payload"), s.payload, errors);
      break;
    default:
      break;
  }
  if (s.type != StepType::Fleet) {
    const bool checkable = !expectation_members(s.type).empty();
    if (checkable) {
      if (const Json* e = f.object("expect"))
        s.expect = parse_expectation(*e, f.at("expect"), s.type, errors);
    }
    if (s.type == StepType::CheckCertificate || s.type == StepType::CheckKey) {
      if (!errors.failed() && !s.expect)
        f.fail("expect", "is required for " + std::string(to_string(s.type)));
    }
  }
  f.reject_unknown(std::string("is not a member of ") + to_string(s.type) + " steps");
}

// Cross-references: devices named by steps exist, advance_clock's server flag is declared.
void check_references(const Scenario& sc, FieldErrors& errors) {
  for (std::size_t i = 0; i < sc.steps.size() && !errors.failed(); ++i) {
    const Step& s = sc.steps[i];
    const std::string path = index_path("steps", i);
    auto known = [&](const std::string& id, const std::string& member) {
      if (sc.find_device(id) != nullptr) return true;
      errors.fail(path + "." + member, "no device \"" + id + "\" in devices");
      return false;
    };
    if (!s.device.empty() && !known(s.device, "device")) return;
    if (!s.other_device.empty()) {
      if (!known(s.other_device, "other_device")) return;
      if (s.other_device == s.device) {
        errors.fail(path + ".other_device", "must be another device than \"device\"");
        return;
      }
    }
    if (!s.attacker.empty()) {
      if (!known(s.attacker, "attacker")) return;
      if (s.attacker == s.device) {
        errors.fail(path + ".attacker", "must be another device than \"device\"");
        return;
      }
    }
    if (s.payload.client_identifier) {
      const std::string& c = *s.payload.client_identifier;
      const auto colon = c.find(':');
      if (colon != std::string::npos && c.rfind("literal:", 0) != 0) {
        if (!known(c.substr(colon + 1), "payload.client_identifier")) return;
      }
    }
    if (s.server_clock && !sc.needs(kRequiresServerClock)) {
      errors.fail(path + ".server", "moving the server's clock needs \"server-clock\" in requires");
      return;
    }
    auto wants_ari = [](const std::optional<Expectation>& e) {
      return e && e->ari_renewal.value_or(false);
    };
    if ((wants_ari(s.expect) || wants_ari(s.fleet.capable) || s.fleet.spread_windows) &&
        !sc.needs(kRequiresAri)) {
      errors.fail(path, "checking renewals through ARI needs \"ari\" in requires");
      return;
    }
  }
}

}  // namespace attestlab::scenarios::detail

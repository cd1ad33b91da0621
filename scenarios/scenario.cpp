// The scenario model's small functions and the document parser (name, metadata, devices);
// steps are parsed in scenario_steps.cpp.
#include "scenarios/scenario.h"

#include <algorithm>
#include <set>

#include "core/enum_names.h"
#include "core/pki.h"
#include "scenarios/json_fields.h"
#include "scenarios/scenario_parse.h"
#include "sim/device/apple_format.h"

namespace attestlab::scenarios {

namespace {

using detail::is_name;
using detail::parse_claims;
using detail::parse_identity;
using detail::parse_posture;

struct StepTypeName {
  StepType type;
  const char* name;
};

const std::vector<StepTypeName>& step_types() {
  static const std::vector<StepTypeName> t = {
      {StepType::MdmEnroll, "mdm_enroll"},
      {StepType::InstallProfile, "install_profile"},
      {StepType::DeviceInformation, "device_information"},
      {StepType::AcmeEnroll, "acme_enroll"},
      {StepType::AcmeRenew, "acme_renew"},
      {StepType::Restore, "restore"},
      {StepType::AdvanceClock, "advance_clock"},
      {StepType::Revoke, "revoke"},
      {StepType::CheckCertificate, "check_certificate"},
      {StepType::CheckKey, "check_key"},
      {StepType::AttestationOutage, "attestation_outage"},
      {StepType::UpdateDevice, "update_device"},
      {StepType::Fleet, "fleet"},
      {StepType::Hijack, "hijack"},
  };
  return t;
}

std::optional<bool> read_secure_boot(Fields& f, const char* key,
                                     std::optional<sim::SecureBootLevel>& out) {
  auto v =
      f.choice(key, {sim::kSecureBootFull, sim::kSecureBootReduced, sim::kSecureBootPermissive});
  if (v) out = sim::parse_secure_boot_level(*v);
  return v.has_value();
}

constexpr EnumName<InventoryMembership> kInventoryNames[] = {
    {InventoryMembership::Active, "active"},
    {InventoryMembership::Retired, "retired"},
    {InventoryMembership::Unknown, "unknown"},
    {InventoryMembership::PairMismatch, "pair-mismatch"}};

std::vector<std::string> kind_names() {
  std::vector<std::string> names;
  for (auto k : sim::all_device_kinds()) names.emplace_back(sim::to_string(k));
  return names;
}

void parse_device(const Json& obj, const std::string& path, DeviceSpec& d, FieldErrors& errors) {
  Fields f(obj, path, errors);
  if (!obj.is_object()) {
    errors.fail(path, "must be an object");
    return;
  }
  if (auto id = f.string("id", true)) {
    if (!is_name(*id, true)) f.fail("id", "must be 1-64 characters of a-z, 0-9, '-' or '_'");
    d.id = *id;
  }
  if (auto kind = f.choice("kind", kind_names(), true)) d.kind = *sim::parse_device_kind(*kind);
  if (const Json* v = f.object("identity"))
    parse_identity(*v, f.at("identity"), d.identity, errors);
  if (const Json* v = f.object("posture")) parse_posture(*v, f.at("posture"), d.posture, errors);
  if (const Json* v = f.object("claims")) parse_claims(*v, f.at("claims"), d.claims, errors);
  if (auto v = f.choice("inventory", all_names(kInventoryNames)))
    d.inventory = *value_named(kInventoryNames, *v);
  if (auto v = f.choice("enrollment", {"device", "user"})) {
    d.enrollment = *v == "user" ? EnrollmentType::User : EnrollmentType::Device;
  }
  f.reject_unknown("is not a device member (see scenarios/FORMAT.md)");
}

}  // namespace

namespace detail {

bool is_name(const std::string& s, bool allow_underscore) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           (allow_underscore && c == '_');
  });
}

void parse_identity(const Json& obj, const std::string& path, IdentityOverrides& id,
                    FieldErrors& errors) {
  Fields f(obj, path, errors);
  for (const char* generated : {"serial", "udid", "enrollment_id"}) {
    if (f.has(generated)) {
      f.fail(generated,
             "is generated for every run (unique in the target's inventory) and cannot be set");
      return;
    }
  }
  id.model = f.string("model");
  id.product_name = f.string("product_name");
  id.os_version = f.string("os_version");
  id.build_version = f.string("build_version");
  id.sepos_version = f.string("sepos_version");
  id.llb_version = f.string("llb_version");
  f.reject_unknown();
}

void parse_posture(const Json& obj, const std::string& path, PostureOverrides& p,
                   FieldErrors& errors) {
  Fields f(obj, path, errors);
  p.sip_enabled = f.boolean("sip_enabled");
  read_secure_boot(f, "secure_boot", p.secure_boot);
  p.third_party_kexts_allowed = f.boolean("third_party_kexts_allowed");
  p.jailbroken = f.boolean("jailbroken");
  f.reject_unknown();
}

void parse_claims(const Json& obj, const std::string& path, sim::ClaimOverrides& c,
                  FieldErrors& errors) {
  Fields f(obj, path, errors);
  c.serial = f.string("serial");
  c.udid = f.string("udid");
  c.model = f.string("model");
  c.product_name = f.string("product_name");
  c.os_version = f.string("os_version");
  c.build_version = f.string("build_version");
  c.sip_enabled = f.boolean("sip_enabled");
  read_secure_boot(f, "secure_boot", c.secure_boot);
  c.third_party_kexts_allowed = f.boolean("third_party_kexts_allowed");
  c.jailbroken = f.boolean("jailbroken");
  f.reject_unknown();
}

}  // namespace detail

void PostureOverrides::apply_to(sim::Posture& posture) const {
  if (sip_enabled) posture.sip_enabled = *sip_enabled;
  if (secure_boot) posture.secure_boot = *secure_boot;
  if (third_party_kexts_allowed) posture.third_party_kexts_allowed = *third_party_kexts_allowed;
  if (jailbroken) posture.jailbroken = *jailbroken;
}

void merge_claims(sim::ClaimOverrides& claims, const sim::ClaimOverrides& u) {
  if (u.serial) claims.serial = u.serial;
  if (u.udid) claims.udid = u.udid;
  if (u.model) claims.model = u.model;
  if (u.product_name) claims.product_name = u.product_name;
  if (u.os_version) claims.os_version = u.os_version;
  if (u.build_version) claims.build_version = u.build_version;
  if (u.sip_enabled) claims.sip_enabled = u.sip_enabled;
  if (u.secure_boot) claims.secure_boot = u.secure_boot;
  if (u.third_party_kexts_allowed) claims.third_party_kexts_allowed = u.third_party_kexts_allowed;
  if (u.jailbroken) claims.jailbroken = u.jailbroken;
}

const std::vector<std::string>& requirement_names() {
  static const std::vector<std::string> names = {kRequiresServerClock, kRequiresInventory,
                                                 kRequiresPolicy, kRequiresAri};
  return names;
}

const char* to_string(InventoryMembership m) {
  return name_of(kInventoryNames, m, "active");
}

const char* to_string(StepType type) {
  for (const auto& t : step_types())
    if (t.type == type) return t.name;
  return "?";
}

std::optional<StepType> parse_step_type(const std::string& name) {
  for (const auto& t : step_types())
    if (name == t.name) return t.type;
  return std::nullopt;
}

const std::vector<std::string>& step_type_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& t : step_types()) n.emplace_back(t.name);
    return n;
  }();
  return names;
}

bool Expectation::empty() const {
  return !issued && error.empty() && !status && !failed_step && !challenge_status && !mdm_verdict &&
         !command_status && !revoked && !key_usable && !network_requests && !ari_renewal;
}

std::string Expectation::describe() const {
  std::vector<std::string> parts;
  if (!error.empty()) {
    std::string e = "refused with ";
    for (std::size_t i = 0; i < error.size(); ++i) e += (i ? " or " : "") + error[i];
    if (status) e += " (HTTP " + std::to_string(*status) + ")";
    parts.push_back(e);
  } else if (issued) {
    parts.push_back(*issued ? "certificate issued" : "no certificate issued");
  }
  if (failed_step) parts.push_back("failing at step " + *failed_step);
  if (challenge_status) parts.push_back("challenge " + *challenge_status);
  if (mdm_verdict) parts.push_back("MDM verdict " + *mdm_verdict);
  if (command_status) parts.push_back("command status " + *command_status);
  if (revoked) parts.push_back(*revoked ? "certificate revoked" : "certificate not revoked");
  if (key_usable) parts.push_back(*key_usable ? "key usable" : "key unusable");
  if (network_requests) parts.push_back(std::to_string(*network_requests) + " network requests");
  if (ari_renewal) {
    parts.push_back(*ari_renewal ? "renewed through ARI (replaces honoured)"
                                 : "renewed without ARI");
  }
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

const DeviceSpec* Scenario::find_device(const std::string& id) const {
  for (const auto& d : devices)
    if (d.id == id) return &d;
  return nullptr;
}

bool Scenario::needs(const std::string& requirement) const {
  return std::find(requirements.begin(), requirements.end(), requirement) != requirements.end();
}

Result<Scenario> parse_scenario(const Json& doc, const std::string& file) {
  FieldErrors errors(file);
  if (!doc.is_object())
    return Error::make("malformed", file + ": a scenario must be a JSON object");
  Scenario sc;
  sc.source = file;
  Fields f(doc, "", errors);
  if (auto v = f.string("name", true)) {
    if (!detail::is_name(*v, false)) f.fail("name", "must be 1-64 characters of a-z, 0-9 and '-'");
    sc.name = *v;
  }
  if (auto v = f.string("summary", true)) {
    if (v->empty()) f.fail("summary", "must not be empty");
    sc.summary = *v;
  }
  if (auto v = f.string("threat", true)) {
    if (v->empty()) f.fail("threat", "must not be empty");
    sc.threat = *v;
  }
  if (auto v = f.strings("spec", true, true)) sc.spec = *v;
  if (auto v = f.choice("level", {"MUST", "SHOULD", "policy"})) sc.level = *v;
  if (auto v = f.strings("requires")) {
    for (std::size_t i = 0; i < v->size(); ++i) {
      const auto& names = requirement_names();
      if (std::find(names.begin(), names.end(), (*v)[i]) == names.end()) {
        errors.fail(index_path(f.at("requires"), i),
                    "must be server-clock, inventory, policy or ari");
      }
    }
    sc.requirements = *v;
  }
  if (const Json* p = f.object("assumes_policy")) {
    sc.assumes_policy = *p;
    if (!p->empty() && !sc.needs(kRequiresPolicy)) sc.requirements.push_back(kRequiresPolicy);
  }
  if (const Json* devices = f.array("devices", true)) {
    std::set<std::string> ids;
    for (std::size_t i = 0; i < devices->size() && !errors.failed(); ++i) {
      DeviceSpec d;
      parse_device((*devices)[i], index_path("devices", i), d, errors);
      if (!errors.failed() && !ids.insert(d.id).second) {
        errors.fail(index_path("devices", i) + ".id", "\"" + d.id + "\" is used twice");
      }
      sc.devices.push_back(std::move(d));
    }
  }
  if (const Json* steps = f.array("steps", true)) {
    if (steps->empty()) f.fail("steps", "must not be empty");
    for (std::size_t i = 0; i < steps->size() && !errors.failed(); ++i) {
      Step s;
      detail::parse_step((*steps)[i], index_path("steps", i), s, errors);
      sc.steps.push_back(std::move(s));
    }
  }
  f.reject_unknown("is not a scenario member (see scenarios/FORMAT.md)");
  if (!errors.failed()) detail::check_references(sc, errors);
  if (errors.failed()) return errors.error();
  return sc;
}

Result<Scenario> parse_scenario_text(const std::string& text, const std::string& file) {
  auto doc = parse_json(text);
  if (!doc) return Error::make("malformed", file + ": not valid JSON: " + doc.error().detail);
  return parse_scenario(*doc, file);
}

Result<Scenario> load_scenario_file(const std::string& path) {
  auto text = pki::read_file(path);
  if (!text) return Error::make("malformed", text.error().detail);
  return parse_scenario_text(*text, path);
}

}  // namespace attestlab::scenarios

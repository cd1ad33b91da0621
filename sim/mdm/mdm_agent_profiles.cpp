// The agent's profile commands: InstallProfile, RemoveProfile, ProfileList.
#include <algorithm>

#include "sim/mdm/mdm_agent_impl.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/profile_lint.h"

namespace attestlab::sim::mdm_agent_detail {
namespace {

namespace errs = mdm_agent_errors;

mdm::MdmError installation_failed() {
  return {errs::kInstallationFailed, errs::kInstallationDomain, "Profile Installation Failed",
          "Profile Installation Failed"};
}

}  // namespace

void AgentRecords::put_profile(InstalledProfile profile) {
  profiles.erase(
      std::remove_if(profiles.begin(), profiles.end(),
                     [&](const InstalledProfile& p) { return p.identifier == profile.identifier; }),
      profiles.end());
  profiles.push_back(std::move(profile));
}

InstalledProfile installed_profile(const ProfileSummary& summary, Json profile, std::int64_t now) {
  InstalledProfile installed;
  installed.identifier = summary.identifier;
  installed.uuid = summary.uuid;
  installed.display_name = summary.display_name;
  installed.profile = std::move(profile);
  installed.installed_at = now;
  return installed;
}

Outcome install_profile(CommandContext& ctx, const mdm::MdmCommand& c) {
  const Bytes* payload = plist_bytes(c.fields, "Payload");
  if (payload == nullptr) return format_error("InstallProfile needs Payload (data)");
  const std::string_view text(reinterpret_cast<const char*>(payload->data()), payload->size());
  auto profile = parse_profile(text);
  if (!profile) {
    return failed({installation_failed(),
                   {errs::kProfileUnreadable, errs::kProfileDomain,
                    "The profile cannot be read: " + profile.error().detail, ""}});
  }
  for (const auto& problem : lint_profile(text)) {
    if (problem.severity != ProfileProblem::Severity::Error) continue;
    return failed({installation_failed(),
                   {errs::kProfileInvalid, errs::kProfileDomain, describe(problem), ""}});
  }
  const ProfileSummary summary = summarize_profile(*profile);
  for (const auto& p : summary.payloads) {
    if (p.type == kMdmPayloadType) {
      return failed({installation_failed(),
                     {errs::kInstallationNotAllowed, errs::kInstallationDomain,
                      "An MDM payload cannot be installed with InstallProfile", ""}});
    }
  }
  std::optional<InstalledProfile> old;
  {
    std::lock_guard lock(ctx.records.mutex);
    for (const auto& p : ctx.records.profiles)
      if (p.identifier == summary.identifier) old = p;
  }
  if (old && old->mdm_enrollment) {
    return failed({installation_failed(),
                   {errs::kInstallationNotAllowed, errs::kInstallationDomain,
                    "The enrollment profile cannot be replaced with InstallProfile", ""}});
  }

  Outcome outcome;
  std::vector<std::string> identities;
  {
    TrustFile trust(ctx.options.acme.trust_ca_pem_file, profile_trust_anchors(*profile));
    EnrollOptions acme_options = ctx.options.acme;
    acme_options.trust_ca_pem_file = trust.path();
    std::lock_guard lock(ctx.device.mutex);
    IdentityEnrollment enrolled =
        enroll_identities(ctx.device, profile_acme_payloads(*profile), acme_options);
    if (!enrolled.ok()) {
      const std::string summary_line = enrolled.attempts.back().summary();
      const std::string step = enrolled.attempts.back().failed_step;
      Outcome failure =
          failed({installation_failed(),
                  {errs::acme_error_code(step), errs::kAcmeDomain,
                   "The ACME certificate could not be obtained: " + summary_line, ""}});
      failure.executed.acme = std::move(enrolled.attempts);
      return failure;
    }
    outcome.executed.acme = std::move(enrolled.attempts);
    identities = std::move(enrolled.payload_uuids);
    if (old) {
      // Identities of the replaced profile that the new one does not own any more.
      for (const auto& uuid : old->acme_payload_uuids) {
        if (std::find(identities.begin(), identities.end(), uuid) == identities.end()) {
          (void)ctx.device.keychain.remove(uuid);
        }
      }
    }
  }
  InstalledProfile installed = installed_profile(summary, std::move(*profile), ctx.now());
  installed.acme_payload_uuids = std::move(identities);
  std::lock_guard lock(ctx.records.mutex);
  ctx.records.put_profile(std::move(installed));
  return outcome;
}

Outcome remove_profile(CommandContext& ctx, const mdm::MdmCommand& c) {
  const std::string* identifier = plist_string(c.fields, "Identifier");
  if (identifier == nullptr || identifier->empty())
    return format_error("RemoveProfile needs Identifier (string)");
  std::optional<InstalledProfile> removed;
  {
    std::lock_guard lock(ctx.records.mutex);
    auto& profiles = ctx.records.profiles;
    auto it = std::find_if(profiles.begin(), profiles.end(),
                           [&](const InstalledProfile& p) { return p.identifier == *identifier; });
    if (it == profiles.end()) {
      return failed({{errs::kProfileNotInstalled, errs::kProfileDomain,
                      "The profile \"" + *identifier + "\" is not installed", ""}});
    }
    if (it->mdm_enrollment) {
      return failed({{errs::kInstallationNotAllowed, errs::kInstallationDomain,
                      "The MDM enrollment profile cannot be removed with RemoveProfile", ""}});
    }
    removed = *it;
    profiles.erase(it);
  }
  std::lock_guard lock(ctx.device.mutex);
  for (const auto& uuid : removed->acme_payload_uuids) (void)ctx.device.keychain.remove(uuid);
  return Outcome{};
}

Outcome profile_list(CommandContext& ctx) {
  Json list = Json::array();
  std::lock_guard lock(ctx.records.mutex);
  for (const auto& p : ctx.records.profiles) {
    const ProfileSummary s = summarize_profile(p.profile);
    Json content = Json::array();
    for (const auto& payload : s.payloads) {
      content.push_back({{"PayloadType", payload.type},
                         {"PayloadIdentifier", payload.identifier},
                         {"PayloadUUID", payload.uuid},
                         {"PayloadDisplayName", payload.display_name},
                         {"PayloadVersion", payload.version}});
    }
    list.push_back({{"PayloadIdentifier", s.identifier},
                    {"PayloadUUID", s.uuid},
                    {"PayloadDisplayName", s.display_name},
                    {"PayloadVersion", s.version},
                    {"IsManaged", true},
                    {"IsEncrypted", false},
                    {"HasRemovalPasscode", false},
                    {"PayloadRemovalDisallowed", false},
                    {"PayloadContent", std::move(content)}});
  }
  Outcome o;
  o.results["ProfileList"] = std::move(list);
  return o;
}

}  // namespace attestlab::sim::mdm_agent_detail

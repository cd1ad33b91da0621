// The agent's check-in channel: enrollment (the enrollment profile, the MDM identity,
// Authenticate, TokenUpdate) and CheckOut.
#include <algorithm>

#include "sim/mdm/mdm_agent_impl.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/profile_lint.h"

namespace attestlab::sim {
namespace {

using mdm_agent_detail::body_excerpt;
using mdm_agent_detail::IdentityEnrollment;

constexpr std::size_t kPushTokenSize = 32;

// What the device says about itself in Authenticate: its SELF-REPORTED properties, so a
// lying device lies here.
mdm::CheckinMessage authenticate_message(const Device& device, const std::string& topic,
                                         const std::string& device_name) {
  const SelfReport report = device.self_report();
  const bool user_enrollment = device.user_enrollment();
  mdm::CheckinMessage auth;
  auth.message_type = mdm::kAuthenticate;
  auth.topic = topic;
  if (user_enrollment) {
    auth.enrollment_id = report.identity.enrollment_id;
  } else {
    auth.udid = report.identity.udid;
    auth.serial_number = report.identity.serial;
  }
  auth.os_version = report.identity.os_version;
  auth.build_version = report.identity.build_version;
  auth.product_name = report.identity.product_name;
  auth.model = report.identity.model;
  auth.device_name = !device_name.empty() ? device_name
                                          : report.identity.product_name + " " +
                                                (user_enrollment ? "" : report.identity.serial);
  return auth;
}

}  // namespace

Result<void> MdmAgent::Impl::enroll() {
  std::lock_guard session(session_mutex);
  auto fetched = client->request("GET", options.enroll_url, {{"user-agent", options.user_agent}});
  if (!fetched) return remember(fetched.error());
  if (fetched->status != 200) {
    return remember(
        Error::make("unauthorized",
                    "GET " + options.enroll_url + " answered " + std::to_string(fetched->status),
                    fetched->status));
  }
  auto profile = parse_profile(fetched->body);
  if (!profile)
    return remember(Error::make(
        "malformed", "the enrollment profile cannot be read: " + profile.error().detail));
  for (const auto& problem : lint_profile(fetched->body)) {
    if (problem.severity == ProfileProblem::Severity::Error) {
      return remember(Error::make(
          "malformed", "the device refuses the enrollment profile: " + describe(problem)));
    }
  }
  const Json* mdm_payload = nullptr;
  const auto payloads = profile_payloads(*profile);
  for (const auto& p : payloads) {
    const std::string* type = plist_string(p, "PayloadType");
    if (type != nullptr && *type == kMdmPayloadType) mdm_payload = &p;
  }
  if (mdm_payload == nullptr)
    return remember(
        Error::make("malformed", "the enrollment profile has no com.apple.mdm payload"));
  const std::string new_server_url = *plist_string(*mdm_payload, "ServerURL");  // lint checked it
  const std::string* check_in = plist_string(*mdm_payload, "CheckInURL");
  const std::string new_check_in = check_in != nullptr ? *check_in : new_server_url;
  const std::string new_topic = *plist_string(*mdm_payload, "Topic");

  InstalledProfile installed =
      mdm_agent_detail::installed_profile(summarize_profile(*profile), *profile, now());
  installed.mdm_enrollment = true;

  // The MDM identity, when the profile makes it with ACME: enrolled before check-in. Lint
  // refused duplicate PayloadUUIDs, so at most one payload is the identity.
  std::vector<AcmePayload> identity;
  if (const std::string* identity_uuid = plist_string(*mdm_payload, "IdentityCertificateUUID")) {
    for (auto& acme : profile_acme_payloads(*profile))
      if (acme.payload_uuid == *identity_uuid) identity.push_back(std::move(acme));
  }
  mdm::CheckinMessage auth;
  {
    std::lock_guard lock(device.mutex);
    IdentityEnrollment enrolled =
        mdm_agent_detail::enroll_identities(device, identity, options.acme);
    if (!enrolled.ok()) {
      const EnrollmentResult& result = enrolled.attempts.back();
      return remember(Error::make(result.error->type,
                                  "MDM identity enrollment failed: " + result.summary(),
                                  result.error->status));
    }
    installed.acme_payload_uuids = std::move(enrolled.payload_uuids);
    auth = authenticate_message(device.device, new_topic, options.device_name);
  }

  auto sent = put_plist(new_check_in, mdm::checkin_to_plist(auth), mdm::kCheckinContentType);
  if (!sent) return remember(sent.error());
  if (sent->status != 200) {
    return remember(Error::make("unauthorized",
                                "Authenticate refused with " + std::to_string(sent->status) + ": " +
                                    body_excerpt(sent->body),
                                sent->status));
  }

  mdm::CheckinMessage token_update;
  token_update.message_type = mdm::kTokenUpdate;
  token_update.topic = new_topic;
  token_update.udid = auth.udid;
  token_update.enrollment_id = auth.enrollment_id;
  token_update.token = random_bytes(kPushTokenSize);
  token_update.push_magic = new_payload_uuid();
  token_update.awaiting_configuration = false;
  // Register before the TokenUpdate: the server pushes as soon as it has the token.
  if (options.push) options.push->register_device(token_update.token, wake);
  sent = put_plist(new_check_in, mdm::checkin_to_plist(token_update), mdm::kCheckinContentType);
  if (!sent || sent->status != 200) {
    if (options.push) options.push->unregister_device(token_update.token);
    if (!sent) return remember(sent.error());
    return remember(Error::make("unauthorized",
                                "TokenUpdate refused with " + std::to_string(sent->status) + ": " +
                                    body_excerpt(sent->body),
                                sent->status));
  }

  std::lock_guard lock(records.mutex);
  if (!records.push_token.empty() && records.push_token != token_update.token && options.push) {
    options.push->unregister_device(records.push_token);
  }
  records.enrolled = true;
  records.reported_udid = auth.udid;
  records.reported_enrollment_id = auth.enrollment_id;
  records.server_url = new_server_url;
  records.check_in_url = new_check_in;
  records.topic = new_topic;
  records.push_token = token_update.token;
  records.push_magic = token_update.push_magic;
  records.put_profile(std::move(installed));
  records.last_error.reset();
  return ok();
}

Result<void> MdmAgent::Impl::check_out() {
  std::lock_guard session(session_mutex);
  mdm::CheckinMessage m;
  std::string url;
  {
    std::lock_guard lock(records.mutex);
    if (!records.enrolled) return Error::make("malformed", "the device is not enrolled");
    m = checkin_base(mdm::kCheckOut);
    url = records.check_in_url;
  }
  auto sent = put_plist(url, mdm::checkin_to_plist(m), mdm::kCheckinContentType);
  {
    std::lock_guard lock(records.mutex);
    records.enrolled = false;
    if (options.push && !records.push_token.empty())
      options.push->unregister_device(records.push_token);
    records.push_token.clear();
    auto& profiles = records.profiles;
    profiles.erase(std::remove_if(profiles.begin(), profiles.end(),
                                  [](const InstalledProfile& p) { return p.mdm_enrollment; }),
                   profiles.end());
  }
  if (!sent) return remember(sent.error());
  if (sent->status != 200) {
    return remember(Error::make("unauthorized", "CheckOut answered " + std::to_string(sent->status),
                                sent->status));
  }
  return ok();
}

}  // namespace attestlab::sim

#include "sim/mdm/mdm_agent.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/bytes.h"
#include "core/pki.h"
#include "sim/device/acme_payload.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/profile.h"
#include "sim/mdm/profile_lint.h"

namespace attestlab::sim {

namespace mdm_agent_errors {
std::int64_t acme_error_code(const std::string& failed_step) {
  static const char* steps[] = {
      enroll_step::kPayload,  enroll_step::kAccount,  enroll_step::kOrder,     enroll_step::kAuthz,
      enroll_step::kKey,      enroll_step::kAttest,   enroll_step::kChallenge, enroll_step::kCsr,
      enroll_step::kFinalize, enroll_step::kDownload, enroll_step::kInstall};
  for (std::size_t i = 0; i < std::size(steps); ++i)
    if (failed_step == steps[i]) return static_cast<std::int64_t>(i) + 1;
  return 99;
}
}  // namespace mdm_agent_errors

namespace {

namespace errs = mdm_agent_errors;
using mdm::MdmCommand;
using mdm::MdmError;

constexpr std::size_t kPushTokenSize = 32;

mdm::MdmError installation_failed() {
  return {errs::kInstallationFailed, errs::kInstallationDomain, "Profile Installation Failed",
          "Profile Installation Failed"};
}

std::string body_excerpt(const std::string& body) {
  std::string text = body.substr(0, 200);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

bool blank(const std::string& body) {
  return std::all_of(body.begin(), body.end(),
                     [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
}

// What executing one command produced: the report to send and the history entry.
struct Outcome {
  std::string status = mdm::kStatusAcknowledged;
  std::vector<MdmError> error_chain;
  Json results = Json::object();
  ExecutedCommand executed;
};

Outcome format_error(const std::string& why) {
  Outcome o;
  o.status = mdm::kStatusCommandFormatError;
  o.error_chain.push_back({12021, "MCMDMErrorDomain", why, why});
  return o;
}

Outcome failed(std::vector<MdmError> chain) {
  Outcome o;
  o.status = mdm::kStatusError;
  o.error_chain = std::move(chain);
  return o;
}

// The com.apple.security.root certificates of a profile (DER), which a device installs
// before anything else in the profile uses the network.
std::vector<Bytes> profile_trust_anchors(const Json& profile) {
  std::vector<Bytes> anchors;
  for (const auto& payload : profile_payloads(profile)) {
    const std::string* type = plist_string(payload, "PayloadType");
    const Bytes* der = plist_bytes(payload, "PayloadContent");
    if (type != nullptr && *type == kRootCertificatePayloadType && der != nullptr)
      anchors.push_back(*der);
  }
  return anchors;
}

// The TLS trust for one profile's ACME enrollments: the configured PEM file, plus the
// profile's root payloads written next to it into a temporary bundle that lives as long
// as this object.
class TrustFile {
 public:
  TrustFile(const std::string& configured, const std::vector<Bytes>& anchors) : path_(configured) {
    if (anchors.empty()) return;
    std::string bundle;
    if (!configured.empty()) {
      auto pem = pki::read_file(configured);
      if (pem) bundle = *pem + "\n";
    }
    for (const auto& der : anchors) {
      auto cert = pki::Certificate::from_der(der);
      if (cert) bundle += cert->to_pem();
    }
    static std::atomic<std::uint64_t> counter{0};
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("attestlab-agent-trust-" + std::to_string(::getpid()) + "-" +
                               std::to_string(counter++) + ".pem"))
                                 .string();
    if (pki::write_file(path, bundle)) temporary_ = path_ = path;
  }
  ~TrustFile() {
    if (!temporary_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(temporary_, ignored);
    }
  }
  TrustFile(const TrustFile&) = delete;
  TrustFile& operator=(const TrustFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temporary_;
};

}  // namespace

struct MdmAgent::Impl {
  Impl(Device d, std::shared_ptr<AppleAttestationServers> servers, MdmAgentOptions o)
      : options(std::move(o)),
        apple(std::move(servers)),
        device(std::move(d)),
        attestation(apple, options.attestation) {
    http::ClientOptions client_options;
    client_options.trust_ca_pem_file = options.trust_ca_pem_file;
    client_options.timeout = options.http_timeout;
    client = std::make_unique<http::Client>(client_options);
  }

  MdmAgentOptions options;
  std::shared_ptr<AppleAttestationServers> apple;

  // Lock order: session_mutex, then device_mutex, then record_mutex.
  std::mutex session_mutex;  // one protocol exchange sequence at a time; guards client
  std::unique_ptr<http::Client> client;

  mutable std::mutex device_mutex;
  Device device;
  AttestationService attestation;
  DeviceKeychain keychain;

  mutable std::mutex record_mutex;
  bool enrolled = false;
  std::string reported_udid, reported_enrollment_id;
  std::string server_url, check_in_url, topic;
  Bytes push_token;
  std::string push_magic;
  std::vector<ExecutedCommand> history;
  std::vector<InstalledProfile> profiles;
  std::optional<Error> last_error;
  std::uint64_t sessions = 0;

  std::atomic<bool> locked{false};
  std::shared_ptr<WakeSignal> wake = std::make_shared<WakeSignal>();
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};

  std::int64_t now() const { return apple->now(); }

  Error remember(Error e) {
    std::lock_guard lock(record_mutex);
    last_error = e;
    return e;
  }

  Result<http::Response> put_plist(const std::string& url, const Json& body,
                                   const char* content_type) {
    http::Headers headers{{"content-type", content_type}, {"user-agent", options.user_agent}};
    return client->request("PUT", url, headers, json_to_plist_xml(body));
  }

  mdm::CheckinMessage checkin_base(const std::string& type) const {
    mdm::CheckinMessage m;
    m.message_type = type;
    m.topic = topic;
    m.udid = reported_udid;
    m.enrollment_id = reported_enrollment_id;
    return m;
  }

  // --- enrollment ---------------------------------------------------------------------------

  Result<void> enroll() {
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

    InstalledProfile installed;
    const ProfileSummary summary = summarize_profile(*profile);
    installed.identifier = summary.identifier;
    installed.uuid = summary.uuid;
    installed.display_name = summary.display_name;
    installed.profile = *profile;
    installed.mdm_enrollment = true;
    installed.installed_at = now();

    mdm::CheckinMessage auth;
    {
      std::lock_guard lock(device_mutex);
      keychain.forget_if_erased(device);
      // The MDM identity, when the profile makes it with ACME: enrolled before check-in.
      if (const std::string* identity_uuid =
              plist_string(*mdm_payload, "IdentityCertificateUUID")) {
        for (const auto& acme : profile_acme_payloads(*profile)) {
          if (acme.payload_uuid != *identity_uuid) continue;
          EnrollmentResult result = sim::enroll(device, attestation, keychain, acme, options.acme);
          if (!result.ok()) {
            return remember(Error::make(result.error->type,
                                        "MDM identity enrollment failed: " + result.summary(),
                                        result.error->status));
          }
          installed.acme_payload_uuids.push_back(*identity_uuid);
        }
      }
      const SelfReport report = device.self_report();
      const bool user_enrollment = device.user_enrollment();
      auth.message_type = mdm::kAuthenticate;
      auth.topic = new_topic;
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
      auth.device_name = !options.device_name.empty()
                             ? options.device_name
                             : report.identity.product_name + " " +
                                   (user_enrollment ? "" : report.identity.serial);
    }

    auto sent = put_plist(new_check_in, mdm::checkin_to_plist(auth), mdm::kCheckinContentType);
    if (!sent) return remember(sent.error());
    if (sent->status != 200) {
      return remember(Error::make("unauthorized",
                                  "Authenticate refused with " + std::to_string(sent->status) +
                                      ": " + body_excerpt(sent->body),
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
                                  "TokenUpdate refused with " + std::to_string(sent->status) +
                                      ": " + body_excerpt(sent->body),
                                  sent->status));
    }

    std::lock_guard lock(record_mutex);
    if (!push_token.empty() && push_token != token_update.token && options.push) {
      options.push->unregister_device(push_token);
    }
    enrolled = true;
    reported_udid = auth.udid;
    reported_enrollment_id = auth.enrollment_id;
    server_url = new_server_url;
    check_in_url = new_check_in;
    topic = new_topic;
    push_token = token_update.token;
    push_magic = token_update.push_magic;
    profiles.erase(std::remove_if(profiles.begin(), profiles.end(),
                                  [&](const InstalledProfile& p) {
                                    return p.identifier == installed.identifier;
                                  }),
                   profiles.end());
    profiles.push_back(std::move(installed));
    last_error.reset();
    return ok();
  }

  Result<void> check_out() {
    std::lock_guard session(session_mutex);
    mdm::CheckinMessage m;
    std::string url;
    {
      std::lock_guard lock(record_mutex);
      if (!enrolled) return Error::make("malformed", "the device is not enrolled");
      m = checkin_base(mdm::kCheckOut);
      url = check_in_url;
    }
    auto sent = put_plist(url, mdm::checkin_to_plist(m), mdm::kCheckinContentType);
    {
      std::lock_guard lock(record_mutex);
      enrolled = false;
      if (options.push && !push_token.empty()) options.push->unregister_device(push_token);
      push_token.clear();
      profiles.erase(std::remove_if(profiles.begin(), profiles.end(),
                                    [](const InstalledProfile& p) { return p.mdm_enrollment; }),
                     profiles.end());
    }
    if (!sent) return remember(sent.error());
    if (sent->status != 200) {
      return remember(Error::make(
          "unauthorized", "CheckOut answered " + std::to_string(sent->status), sent->status));
    }
    return ok();
  }

  // --- polling session ------------------------------------------------------------------------

  Result<std::size_t> run_until_idle() {
    std::lock_guard session(session_mutex);
    mdm::CommandReport report;
    std::string url;
    {
      std::lock_guard lock(record_mutex);
      if (!enrolled) return Error::make("malformed", "the device is not enrolled");
      report.udid = reported_udid;
      report.enrollment_id = reported_enrollment_id;
      url = server_url;
    }
    report.status = mdm::kStatusIdle;
    std::size_t executed = 0;
    for (;;) {
      auto answer = put_plist(url, mdm::report_to_plist(report), mdm::kCommandContentType);
      if (!answer) return remember(answer.error());
      if (answer->status != 200) {
        if (answer->status == 401) {
          std::lock_guard lock(record_mutex);
          enrolled = false;
        }
        return remember(Error::make("unauthorized",
                                    "the MDM answered " + std::to_string(answer->status) + ": " +
                                        body_excerpt(answer->body),
                                    answer->status));
      }
      if (blank(answer->body)) break;
      if (executed >= options.max_commands_per_session) {
        return remember(
            Error::make("serverInternal", "the MDM sent more than " +
                                              std::to_string(options.max_commands_per_session) +
                                              " commands in one session"));
      }
      auto json = plist_to_json(answer->body);
      if (!json)
        return remember(Error::make("malformed", "the MDM sent a command that is not a plist"));
      Outcome outcome;
      auto command = mdm::parse_command(*json);
      if (!command) {
        const std::string* uuid = plist_string(*json, "CommandUUID");
        if (uuid == nullptr)
          return remember(Error::make("malformed", "the MDM sent a command without CommandUUID"));
        outcome = format_error(command.error().detail);
        outcome.executed.command_uuid = *uuid;
      } else {
        outcome = execute(*command);
        outcome.executed.command_uuid = command->command_uuid;
        outcome.executed.request_type = command->request_type;
      }
      outcome.executed.status = outcome.status;
      outcome.executed.error_chain = outcome.error_chain;
      outcome.executed.executed_at = now();
      report.status = outcome.status;
      report.command_uuid = outcome.executed.command_uuid;
      report.error_chain = outcome.error_chain;
      report.results = outcome.results;
      {
        std::lock_guard lock(record_mutex);
        history.push_back(std::move(outcome.executed));
      }
      ++executed;
    }
    std::lock_guard lock(record_mutex);
    ++sessions;
    last_error.reset();
    return executed;
  }

  Outcome execute(const MdmCommand& c) {
    if (locked && options.deferred_while_locked.count(c.request_type) != 0) {
      Outcome o;
      o.status = mdm::kStatusNotNow;
      return o;
    }
    if (c.request_type == mdm::kInstallProfile) return install_profile(c);
    if (c.request_type == mdm::kRemoveProfile) return remove_profile(c);
    if (c.request_type == mdm::kProfileList) return profile_list();
    if (c.request_type == mdm::kCertificateList) return certificate_list();
    if (c.request_type == mdm::kDeviceInformation) return device_information(c);
    return format_error("unknown RequestType " + c.request_type);
  }

  Outcome install_profile(const MdmCommand& c) {
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
      std::lock_guard lock(record_mutex);
      for (const auto& p : profiles)
        if (p.identifier == summary.identifier) old = p;
    }
    if (old && old->mdm_enrollment) {
      return failed({installation_failed(),
                     {errs::kInstallationNotAllowed, errs::kInstallationDomain,
                      "The enrollment profile cannot be replaced with InstallProfile", ""}});
    }

    Outcome outcome;
    InstalledProfile installed;
    {
      TrustFile trust(options.acme.trust_ca_pem_file, profile_trust_anchors(*profile));
      EnrollOptions acme_options = options.acme;
      acme_options.trust_ca_pem_file = trust.path();
      std::lock_guard lock(device_mutex);
      keychain.forget_if_erased(device);
      for (const auto& acme : profile_acme_payloads(*profile)) {
        EnrollmentResult result = sim::enroll(device, attestation, keychain, acme, acme_options);
        const bool good = result.ok();
        const std::string summary_line = result.summary();
        const std::string step = result.failed_step;
        outcome.executed.acme.push_back(std::move(result));
        if (!good) {
          // Nothing of a failed installation stays behind.
          for (const auto& uuid : installed.acme_payload_uuids) (void)keychain.remove(uuid);
          Outcome failure =
              failed({installation_failed(),
                      {errs::acme_error_code(step), errs::kAcmeDomain,
                       "The ACME certificate could not be obtained: " + summary_line, ""}});
          failure.executed = std::move(outcome.executed);
          return failure;
        }
        installed.acme_payload_uuids.push_back(acme.payload_uuid.value_or(""));
      }
      if (old) {
        for (const auto& uuid : old->acme_payload_uuids) {
          if (std::find(installed.acme_payload_uuids.begin(), installed.acme_payload_uuids.end(),
                        uuid) == installed.acme_payload_uuids.end()) {
            (void)keychain.remove(uuid);
          }
        }
      }
    }
    installed.identifier = summary.identifier;
    installed.uuid = summary.uuid;
    installed.display_name = summary.display_name;
    installed.profile = std::move(*profile);
    installed.installed_at = now();
    std::lock_guard lock(record_mutex);
    profiles.erase(std::remove_if(profiles.begin(), profiles.end(),
                                  [&](const InstalledProfile& p) {
                                    return p.identifier == installed.identifier;
                                  }),
                   profiles.end());
    profiles.push_back(std::move(installed));
    return outcome;
  }

  Outcome remove_profile(const MdmCommand& c) {
    const std::string* identifier = plist_string(c.fields, "Identifier");
    if (identifier == nullptr || identifier->empty())
      return format_error("RemoveProfile needs Identifier (string)");
    std::optional<InstalledProfile> removed;
    {
      std::lock_guard lock(record_mutex);
      auto it = std::find_if(profiles.begin(), profiles.end(), [&](const InstalledProfile& p) {
        return p.identifier == *identifier;
      });
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
    std::lock_guard lock(device_mutex);
    for (const auto& uuid : removed->acme_payload_uuids) (void)keychain.remove(uuid);
    return Outcome{};
  }

  Outcome profile_list() {
    Json list = Json::array();
    std::lock_guard lock(record_mutex);
    for (const auto& p : profiles) {
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

  Outcome certificate_list() {
    Json list = Json::array();
    std::lock_guard lock(device_mutex);
    keychain.forget_if_erased(device);
    for (const auto& identity : keychain.identities()) {
      std::string common_name = identity.certificate.subject();
      if (auto pos = common_name.find("CN="); pos != std::string::npos) {
        auto end = common_name.find(',', pos);
        common_name = common_name.substr(
            pos + 3, end == std::string::npos ? std::string::npos : end - pos - 3);
      }
      list.push_back({{"CommonName", common_name},
                      {"Data", plist_data(identity.certificate.to_der())},
                      {"IsIdentity", true}});
    }
    Outcome o;
    o.results["CertificateList"] = std::move(list);
    return o;
  }

  Outcome device_information(const MdmCommand& c) {
    const Json* queries = plist_array(c.fields, "Queries");
    if (queries == nullptr)
      return format_error("DeviceInformation needs Queries (array of strings)");
    for (const auto& q : *queries)
      if (!q.is_string()) return format_error("DeviceInformation Queries must be strings");
    std::optional<Bytes> nonce;
    if (c.fields.contains("DeviceAttestationNonce")) {
      const Bytes* data = plist_bytes(c.fields, "DeviceAttestationNonce");
      if (data == nullptr) return format_error("DeviceAttestationNonce must be data");
      nonce = *data;
    }

    Outcome o;
    Json responses = Json::object();
    std::lock_guard lock(device_mutex);
    const SelfReport report = device.self_report();
    const bool user_enrollment = device.user_enrollment();
    for (const auto& q : *queries) {
      const std::string query = q.get<std::string>();
      if (query == mdm::kQueryUdid && !user_enrollment) responses[query] = report.identity.udid;
      if (query == mdm::kQuerySerialNumber && !user_enrollment)
        responses[query] = report.identity.serial;
      if (query == mdm::kQueryEnrollmentId && user_enrollment)
        responses[query] = report.identity.enrollment_id;
      if (query == mdm::kQueryOsVersion) responses[query] = report.identity.os_version;
      if (query == mdm::kQueryBuildVersion) responses[query] = report.identity.build_version;
      if (query == mdm::kQueryProductName) responses[query] = report.identity.product_name;
      if (query == mdm::kQueryModel) responses[query] = report.identity.model;
      if (query == mdm::kQueryDeviceName) {
        responses[query] =
            options.device_name.empty() ? report.identity.product_name : options.device_name;
      }
      if (query == mdm::kQueryDevicePropertiesAttestation && device.supports_attestation()) {
        auto answer = attestation.device_attestation(device, nonce);
        if (!answer) {
          const Error& e = answer.error();
          std::int64_t code = errs::kAttestationOther;
          if (e.type == "malformed") code = errs::kAttestationBadNonce;
          if (e.type == "connection") code = errs::kAttestationUnreachable;
          if (e.type == "serverInternal") code = errs::kAttestationServiceError;
          return failed(
              {{code, errs::kAttestationDomain, "Device attestation failed: " + e.detail, ""}});
        }
        Json chain = Json::array();
        for (const auto& der : answer->chain.x5c()) chain.push_back(plist_data(der));
        responses[query] = std::move(chain);
        o.executed.attestation = *answer;
      }
    }
    o.results["QueryResponses"] = std::move(responses);
    return o;
  }

  void loop() {
    {
      bool need_enroll;
      {
        std::lock_guard lock(record_mutex);
        need_enroll = !enrolled;
      }
      if (need_enroll) (void)enroll();
    }
    while (!stopping) {
      bool is_enrolled;
      {
        std::lock_guard lock(record_mutex);
        is_enrolled = enrolled;
      }
      if (is_enrolled) (void)run_until_idle();
      wake->wait_for(options.poll_interval);
    }
  }
};

MdmAgent::MdmAgent(Device device, std::shared_ptr<AppleAttestationServers> apple,
                   MdmAgentOptions options)
    : impl_(std::make_unique<Impl>(std::move(device), std::move(apple), std::move(options))) {}

MdmAgent::~MdmAgent() {
  stop();
  std::lock_guard lock(impl_->record_mutex);
  if (impl_->options.push && !impl_->push_token.empty())
    impl_->options.push->unregister_device(impl_->push_token);
}

Result<void> MdmAgent::enroll() {
  return impl_->enroll();
}

bool MdmAgent::enrolled() const {
  std::lock_guard lock(impl_->record_mutex);
  return impl_->enrolled;
}

Result<std::size_t> MdmAgent::run_until_idle() {
  return impl_->run_until_idle();
}
Result<void> MdmAgent::check_out() {
  return impl_->check_out();
}

void MdmAgent::start() {
  if (impl_->running.exchange(true)) return;
  impl_->stopping = false;
  impl_->thread = std::thread([this] { impl_->loop(); });
}

void MdmAgent::stop() {
  if (!impl_->running.exchange(false)) return;
  impl_->stopping = true;
  impl_->wake->notify();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool MdmAgent::running() const {
  return impl_->running;
}
void MdmAgent::wake() {
  impl_->wake->notify();
}

void MdmAgent::set_locked(bool locked) {
  const bool was = impl_->locked.exchange(locked);
  if (was && !locked) impl_->wake->notify();
}

bool MdmAgent::locked() const {
  return impl_->locked;
}

std::string MdmAgent::device_id() const {
  std::lock_guard lock(impl_->record_mutex);
  return impl_->reported_udid.empty() ? impl_->reported_enrollment_id : impl_->reported_udid;
}

std::string MdmAgent::server_url() const {
  std::lock_guard lock(impl_->record_mutex);
  return impl_->server_url;
}

std::string MdmAgent::check_in_url() const {
  std::lock_guard lock(impl_->record_mutex);
  return impl_->check_in_url;
}

std::vector<ExecutedCommand> MdmAgent::history() const {
  std::lock_guard lock(impl_->record_mutex);
  return impl_->history;
}

std::vector<InstalledProfile> MdmAgent::profiles() const {
  std::lock_guard lock(impl_->record_mutex);
  return impl_->profiles;
}

std::vector<KeychainIdentity> MdmAgent::identities() const {
  std::lock_guard lock(impl_->device_mutex);
  return impl_->keychain.identities();
}

std::optional<Error> MdmAgent::last_error() const {
  std::lock_guard lock(impl_->record_mutex);
  return impl_->last_error;
}

std::uint64_t MdmAgent::sessions() const {
  std::lock_guard lock(impl_->record_mutex);
  return impl_->sessions;
}

void MdmAgent::with_device(
    const std::function<void(Device&, AttestationService&, DeviceKeychain&)>& fn) {
  std::lock_guard lock(impl_->device_mutex);
  fn(impl_->device, impl_->attestation, impl_->keychain);
}

}  // namespace attestlab::sim

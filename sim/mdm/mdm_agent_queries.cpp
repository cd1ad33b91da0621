// The agent's device queries: CertificateList, and DeviceInformation with the device's
// self-reported facts (Device::self_report(): a lying device lies here) and its
// DevicePropertiesAttestation from the AttestationService.
#include "sim/mdm/mdm_agent_impl.h"
#include "sim/mdm/mdm_plist.h"

namespace attestlab::sim::mdm_agent_detail {
namespace {

namespace errs = mdm_agent_errors;

}  // namespace

Outcome certificate_list(CommandContext& ctx) {
  Json list = Json::array();
  std::lock_guard lock(ctx.device.mutex);
  ctx.device.keychain.forget_if_erased(ctx.device.device);
  for (const auto& identity : ctx.device.keychain.identities()) {
    std::string common_name = identity.certificate.subject();
    if (auto pos = common_name.find("CN="); pos != std::string::npos) {
      auto end = common_name.find(',', pos);
      common_name =
          common_name.substr(pos + 3, end == std::string::npos ? std::string::npos : end - pos - 3);
    }
    list.push_back({{"CommonName", common_name},
                    {"Data", plist_data(identity.certificate.to_der())},
                    {"IsIdentity", true}});
  }
  Outcome o;
  o.results["CertificateList"] = std::move(list);
  return o;
}

Outcome device_information(CommandContext& ctx, const mdm::MdmCommand& c) {
  const Json* queries = plist_array(c.fields, "Queries");
  if (queries == nullptr) return format_error("DeviceInformation needs Queries (array of strings)");
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
  std::lock_guard lock(ctx.device.mutex);
  Device& device = ctx.device.device;
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
          ctx.options.device_name.empty() ? report.identity.product_name : ctx.options.device_name;
    }
    if (query == mdm::kQueryDevicePropertiesAttestation && device.supports_attestation()) {
      auto answer = ctx.device.attestation.device_attestation(device, nonce);
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

}  // namespace attestlab::sim::mdm_agent_detail

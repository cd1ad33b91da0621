// The ACME enrollments an MDM profile triggers on the device: the trust its root payloads
// add, and one enrollment (sim/device/device_acme.h) per ACMECertificate payload.
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "core/pki.h"
#include "sim/mdm/mdm_agent_impl.h"
#include "sim/mdm/mdm_plist.h"

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

namespace mdm_agent_detail {

IdentityEnrollment enroll_identities(AgentDevice& device, const std::vector<AcmePayload>& payloads,
                                     const EnrollOptions& options) {
  IdentityEnrollment out;
  device.keychain.forget_if_erased(device.device);
  for (const auto& acme : payloads) {
    out.attempts.push_back(
        sim::enroll(device.device, device.attestation, device.keychain, acme, options));
    if (!out.attempts.back().ok()) {
      for (const auto& uuid : out.payload_uuids) (void)device.keychain.remove(uuid);
      out.payload_uuids.clear();
      return out;
    }
    out.payload_uuids.push_back(acme.payload_uuid.value_or(""));
  }
  return out;
}

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

TrustFile::TrustFile(const std::string& configured, const std::vector<Bytes>& anchors)
    : path_(configured) {
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

TrustFile::~TrustFile() {
  if (!temporary_.empty()) {
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
  }
}

}  // namespace mdm_agent_detail
}  // namespace attestlab::sim

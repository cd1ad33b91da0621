// AcmeClient's ACME Renewal Information request (RFC 9773 §4).
#include <chrono>

#include "client/acme_client.h"
#include "core/ari_cert_id.h"

namespace attestlab::client {

Result<RenewalInfo> AcmeClient::renewal_info(const pki::Certificate& certificate) {
  auto id = ari::cert_id(certificate);
  if (!id.ok()) return Error::make(kErrorClientUsage, id.error().detail);
  return renewal_info(*id);
}

Result<RenewalInfo> AcmeClient::renewal_info(const std::string& cert_id) {
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  if (dir->renewal_info.empty()) {
    return Error::make(kErrorClientUsage, "the directory has no renewalInfo (RFC 9773 §3)");
  }
  auto r = get(dir->renewal_info + "/" + cert_id);
  auto json = expect_json(r, 200, 200);
  if (!json.ok()) return json.error();
  auto info = RenewalInfo::from_json(*json);
  if (!info.ok()) return info.error();
  if (auto value = r->header("retry-after")) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    info->retry_after = parse_retry_after(*value, now);
  }
  return info;
}

}  // namespace attestlab::client

// The MDM emulator's self-signed TLS identity, for when it is given none.
#include <arpa/inet.h>

#include <algorithm>

#include "sim/mdm/mdm_server.h"

namespace attestlab::sim {
namespace {

bool is_ip_address(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

Result<std::pair<std::string, std::string>> make_self_signed_tls(
    const std::vector<std::string>& hosts, std::int64_t now) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) return key.error();
  pki::CertificateSpec spec;
  spec.subject = {{"CN", hosts.empty() ? std::string("attestlab MDM") : hosts.front()},
                  {"O", "attestlab MDM emulator"}};
  for (const auto& host : hosts) {
    auto& list = is_ip_address(host) ? spec.sans.ip : spec.sans.dns;
    if (std::find(list.begin(), list.end(), host) == list.end()) list.push_back(host);
  }
  spec.not_before = now - 3600;
  spec.not_after = now + 365 * 24 * 3600;
  spec.key_usage_digital_signature = true;
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.1"};
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  if (!cert) return cert.error();
  return std::make_pair(cert->to_pem(), key->to_pem());
}

}  // namespace attestlab::sim

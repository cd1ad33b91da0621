#include "scenarios/preflight.h"

#include "core/pki.h"

namespace attestlab::scenarios {

namespace {

// Problem types by which a server says it does not take an identifier type.
bool is_identifier_refusal(const std::string& type) {
  return type.find("unsupportedIdentifier") != std::string::npos ||
         type.find("rejectedIdentifier") != std::string::npos ||
         type.find("malformed") != std::string::npos;
}

client::AcmeClient preflight_client(const Target& target) {
  client::AcmeClientOptions options;
  options.trust_ca_pem_file = target.trust_ca_pem_file;
  options.timeout = std::chrono::milliseconds(target.http_timeout_ms);
  options.log_label = "preflight";
  return client::AcmeClient(target.directory_url, options);
}

}  // namespace

Result<std::optional<std::string>> missing_ari(const Target& target) {
  client::AcmeClient client = preflight_client(target);
  auto dir = client.directory();
  if (!dir) {
    return Error::make(dir.error().type, "preflight: cannot read the directory: " + dir.error().detail);
  }
  if (!dir->renewal_info.empty()) return std::optional<std::string>();
  return std::optional<std::string>(
      "the target's directory offers no renewalInfo (RFC 9773 §3; requires ari)");
}

Result<std::optional<std::string>> missing_device_attestation(const Target& target) {
  client::AcmeClient client = preflight_client(target);
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) return key.error();
  client::NewAccountRequest account;
  account.eab = target.eab;
  auto created = client.new_account(*key, account);
  if (!created) {
    return Error::make(created.error().type,
                       "preflight: cannot create an account: " + created.error().detail);
  }
  auto order = client.new_order({client::Identifier{"permanent-identifier", "ATTESTLABPROBE1"}});
  if (!order) {
    if (is_identifier_refusal(order.error().type)) {
      return std::optional<std::string>("the target refused a permanent-identifier order (" +
                                        order.error().type + ": " + order.error().detail + ")");
    }
    return Error::make(order.error().type, "preflight: newOrder failed: " + order.error().detail);
  }
  if (order->authorizations.empty()) return std::optional<std::string>();
  auto authz = client.get_authz(order->authorizations.front());
  if (!authz) {
    return Error::make(authz.error().type,
                       "preflight: cannot fetch the authorization: " + authz.error().detail);
  }
  if (authz->find("device-attest-01") != nullptr) return std::optional<std::string>();
  std::string offered;
  for (const auto& c : authz->challenges) offered += (offered.empty() ? "" : ", ") + c.type;
  return std::optional<std::string>(
      "the target's authorization for a permanent-identifier offers no device-attest-01 "
      "challenge (offers: " +
      (offered.empty() ? std::string("none") : offered) + ")");
}

}  // namespace attestlab::scenarios

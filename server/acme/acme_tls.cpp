#include "server/acme/acme_tls.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/pki.h"
#include "server/acme/acme_syntax.h"

namespace attestlab::server {

namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kTlsLifetime = 5 * 365 * 24 * 3600;

Result<TlsIdentity> read_identity(const std::string& cert_file, const std::string& key_file) {
  auto cert = pki::read_file(cert_file);
  if (!cert) return cert.error();
  auto key = pki::read_file(key_file);
  if (!key) return key.error();
  auto parsed_cert = pki::Certificate::from_pem(*cert);
  if (!parsed_cert)
    return Error::make("serverInternal", cert_file + ": " + parsed_cert.error().detail);
  auto parsed_key = pki::PrivateKey::from_pem(*key);
  if (!parsed_key)
    return Error::make("serverInternal", key_file + ": " + parsed_key.error().detail);
  if (!parsed_key->public_key().equals(parsed_cert->public_key())) {
    return Error::make("serverInternal", key_file + ": key does not match " + cert_file);
  }
  return TlsIdentity{std::move(*cert), std::move(*key)};
}

}  // namespace

Result<TlsIdentity> load_or_create_tls_identity(const ServerConfig& config, std::int64_t now) {
  if (!config.tls_cert_file.empty() || !config.tls_key_file.empty()) {
    if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
      return Error::make("malformed", "--tls-cert and --tls-key go together");
    }
    return read_identity(config.tls_cert_file, config.tls_key_file);
  }
  std::string dir = config.data_dir + "/tls";
  std::string cert_file = dir + "/cert.pem";
  std::string key_file = dir + "/key.pem";
  std::error_code ec;
  if (fs::exists(cert_file, ec) && fs::exists(key_file, ec))
    return read_identity(cert_file, key_file);

  fs::create_directories(dir, ec);
  if (ec) return Error::make("serverInternal", dir + ": " + ec.message());
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) return key.error();
  pki::CertificateSpec spec;
  spec.subject = {{"O", "attestlab"}, {"CN", "attestlab TLS " + config.listen_host}};
  spec.sans.ip = {"127.0.0.1"};
  spec.sans.dns = {"localhost"};
  if (auto ip = canonical_ip(config.listen_host)) {
    if (std::find(spec.sans.ip.begin(), spec.sans.ip.end(), *ip) == spec.sans.ip.end())
      spec.sans.ip.push_back(*ip);
  } else if (!config.listen_host.empty() && config.listen_host != "localhost") {
    spec.sans.dns.push_back(config.listen_host);
  }
  spec.not_before = now - 3600;
  spec.not_after = now + kTlsLifetime;
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.1"};
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  if (!cert) return cert.error();
  TlsIdentity identity{cert->to_pem(), key->to_pem()};
  ATTESTLAB_TRY(pki::write_file(key_file, identity.key_pem, true));
  ATTESTLAB_TRY(pki::write_file(cert_file, identity.cert_pem));
  return identity;
}

}  // namespace attestlab::server

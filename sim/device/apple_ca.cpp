#include "sim/device/apple_ca.h"

#include <filesystem>
#include <system_error>
#include <utility>

namespace attestlab::sim {
namespace {

constexpr std::int64_t kDay = 24 * 3600;
constexpr std::int64_t kYear = 365 * kDay;
// Backdating keeps a fresh CA usable by virtual clocks that start a little in the past.
constexpr std::int64_t kCaBackdate = 30 * kDay;

constexpr const char* kRootFile = "root.pem";
constexpr const char* kRootKeyFile = "root.key";
constexpr const char* kIntermediateFile = "intermediate.pem";
constexpr const char* kIntermediateKeyFile = "intermediate.key";

pki::DistinguishedName mock_name(const char* common_name) {
  return {{"CN", common_name}, {"O", kMockOrganization}, {"ST", "California"}};
}

std::string path_in(const std::string& dir, const char* file) {
  return (std::filesystem::path(dir) / file).string();
}

// First 10 bytes of SHA-256 over the SPKI, as hex: stable per key, meaningless otherwise
// (Apple's leaves also carry an opaque hex common name).
std::string leaf_common_name(const pki::PublicKey& key) {
  Bytes digest = sha256(key.spki_der());
  digest.resize(10);
  return hex_encode(digest);
}

}  // namespace

Result<AppleCa> AppleCa::create(std::int64_t now) {
  const std::int64_t from = now - kCaBackdate;
  return issue({mock_name(kMockRootCommonName), from, from + 25 * kYear},
               {mock_name(kMockIntermediateCommonName), from, from + 20 * kYear});
}

Result<AppleCa> AppleCa::issue(const CaCertificate& root, const CaCertificate& intermediate) {
  auto root_key = pki::PrivateKey::generate(pki::KeySpec::p384());
  if (!root_key) return root_key.error();
  auto intermediate_key = pki::PrivateKey::generate(pki::KeySpec::p384());
  if (!intermediate_key) return intermediate_key.error();

  pki::CertificateSpec root_spec;
  root_spec.subject = root.subject;
  root_spec.not_before = root.not_before;
  root_spec.not_after = root.not_after;
  root_spec.is_ca = true;
  root_spec.key_usage_digital_signature = false;
  root_spec.key_usage_cert_sign = true;
  root_spec.authority_key_id = false;
  auto root_cert = pki::issue_certificate(root_spec, root_key->public_key(), nullptr, *root_key);
  if (!root_cert) return root_cert.error();

  pki::CertificateSpec sub_spec;
  sub_spec.subject = intermediate.subject;
  sub_spec.not_before = intermediate.not_before;
  sub_spec.not_after = intermediate.not_after;
  sub_spec.is_ca = true;
  sub_spec.path_len = 0;
  sub_spec.key_usage_digital_signature = false;
  sub_spec.key_usage_cert_sign = true;
  auto sub_cert =
      pki::issue_certificate(sub_spec, intermediate_key->public_key(), &*root_cert, *root_key);
  if (!sub_cert) return sub_cert.error();

  return from_parts(std::move(*root_cert), std::move(*root_key), std::move(*sub_cert),
                    std::move(*intermediate_key));
}

Result<AppleCa> AppleCa::from_parts(pki::Certificate root, pki::PrivateKey root_key,
                                    pki::Certificate intermediate,
                                    pki::PrivateKey intermediate_key) {
  if (!root.valid() || !root_key.valid() || !intermediate.valid() || !intermediate_key.valid()) {
    return Error::make("serverInternal", "mock Apple CA: missing certificate or key");
  }
  if (!root.public_key().equals(root_key.public_key())) {
    return Error::make("serverInternal", "mock Apple CA: root key does not match root certificate");
  }
  if (!intermediate.public_key().equals(intermediate_key.public_key())) {
    return Error::make("serverInternal",
                       "mock Apple CA: intermediate key does not match intermediate certificate");
  }
  if (!intermediate.signed_by(root.public_key())) {
    return Error::make("serverInternal", "mock Apple CA: intermediate is not signed by the root");
  }
  AppleCa ca;
  ca.root_ = std::move(root);
  ca.root_key_ = std::move(root_key);
  ca.intermediate_ = std::move(intermediate);
  ca.intermediate_key_ = std::move(intermediate_key);
  return ca;
}

bool AppleCa::exists_in(const std::string& dir) {
  std::error_code ec;
  for (const char* file : {kRootFile, kRootKeyFile, kIntermediateFile, kIntermediateKeyFile}) {
    if (std::filesystem::exists(path_in(dir, file), ec)) return true;
  }
  return false;
}

Result<void> AppleCa::save(const std::string& dir, bool overwrite) const {
  if (!overwrite && exists_in(dir)) {
    return Error::make("malformed", dir + " already holds a CA");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::make("serverInternal", dir + ": " + ec.message());
  // Keys first and private: a crash in between leaves no world-readable key behind.
  ATTESTLAB_TRY(pki::write_file(path_in(dir, kRootKeyFile), root_key_.to_pem(), true));
  ATTESTLAB_TRY(
      pki::write_file(path_in(dir, kIntermediateKeyFile), intermediate_key_.to_pem(), true));
  ATTESTLAB_TRY(pki::write_file(path_in(dir, kRootFile), root_.to_pem()));
  ATTESTLAB_TRY(pki::write_file(path_in(dir, kIntermediateFile), intermediate_.to_pem()));
  return ok();
}

Result<AppleCa> AppleCa::load(const std::string& dir) {
  auto read_cert = [&](const char* file) -> Result<pki::Certificate> {
    const std::string path = path_in(dir, file);
    auto text = pki::read_file(path);
    if (!text) return text.error();
    auto cert = pki::Certificate::from_pem(*text);
    if (!cert) return Error::make("serverInternal", path + ": " + cert.error().detail);
    return cert;
  };
  auto read_key = [&](const char* file) -> Result<pki::PrivateKey> {
    const std::string path = path_in(dir, file);
    auto text = pki::read_file(path);
    if (!text) return text.error();
    auto key = pki::PrivateKey::from_pem(*text);
    if (!key) return Error::make("serverInternal", path + ": " + key.error().detail);
    return key;
  };
  auto root = read_cert(kRootFile);
  if (!root) return root.error();
  auto root_key = read_key(kRootKeyFile);
  if (!root_key) return root_key.error();
  auto intermediate = read_cert(kIntermediateFile);
  if (!intermediate) return intermediate.error();
  auto intermediate_key = read_key(kIntermediateKeyFile);
  if (!intermediate_key) return intermediate_key.error();
  auto ca = from_parts(std::move(*root), std::move(*root_key), std::move(*intermediate),
                       std::move(*intermediate_key));
  if (!ca) return Error::make("serverInternal", dir + ": " + ca.error().detail);
  return ca;
}

LeafSpec AppleCa::honest_leaf(const pki::PublicKey& key, const DeviceFacts& facts,
                              const std::optional<Bytes>& freshness, std::int64_t now) {
  LeafSpec spec;
  spec.key = key;
  spec.extensions = encode_apple_extensions(facts, freshness);
  spec.not_before = now;
  spec.not_after = now + kAttestationValiditySeconds;
  return spec;
}

Result<AttestationChain> AppleCa::issue_attestation(const pki::PublicKey& key,
                                                    const DeviceFacts& facts,
                                                    const std::optional<Bytes>& freshness,
                                                    std::int64_t now) const {
  return issue_leaf(honest_leaf(key, facts, freshness, now));
}

Result<AttestationChain> AppleCa::issue_leaf(const LeafSpec& spec) const {
  if (!spec.key.valid()) return Error::make("serverInternal", "attestation leaf: no public key");
  pki::CertificateSpec cert;
  cert.subject = {{"CN", spec.common_name.empty() ? leaf_common_name(spec.key) : spec.common_name}};
  cert.not_before = spec.not_before;
  cert.not_after = spec.not_after;
  cert.key_usage_digital_signature = true;
  cert.extra_extensions = spec.extensions;
  // Apple's leaves carry no key identifiers; the chain is built by names and signatures.
  cert.subject_key_id = false;
  cert.authority_key_id = false;
  auto leaf = pki::issue_certificate(cert, spec.key, &intermediate_, intermediate_key_);
  if (!leaf) return leaf.error();
  return AttestationChain{leaf->to_der(), intermediate_.to_der()};
}

}  // namespace attestlab::sim

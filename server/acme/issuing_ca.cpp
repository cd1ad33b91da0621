#include "server/acme/issuing_ca.h"

#include <filesystem>
#include <memory>
#include <system_error>

#include "core/bytes.h"

namespace attestlab::server {

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kDay = 24 * 3600;
constexpr std::int64_t kRootLifetime = 20 * 365 * kDay;
constexpr std::int64_t kIntermediateLifetime = 10 * 365 * kDay;
// Clients with a slightly slow clock must still accept a freshly created CA.
constexpr std::int64_t kBackdate = 3600;
constexpr const char* kOidRsaEncryption = "1.2.840.113549.1.1.1";

struct CaFiles {
  std::string root_cert, root_key, intermediate_cert, intermediate_key, chain;
  explicit CaFiles(const std::string& dir)
      : root_cert(dir + "/root.pem"),
        root_key(dir + "/root.key"),
        intermediate_cert(dir + "/intermediate.pem"),
        intermediate_key(dir + "/intermediate.key"),
        chain(dir + "/chain.pem") {}
};

Result<void> create_ca(const std::string& dir, const CaFiles& files, std::int64_t now) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::make("serverInternal", dir + ": " + ec.message());

  auto root_key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!root_key) return root_key.error();
  auto intermediate_key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!intermediate_key) return intermediate_key.error();

  // A per-installation suffix keeps CAs of different data dirs apart in trust stores.
  std::string suffix = hex_encode(random_bytes(4));
  pki::CertificateSpec root_spec;
  root_spec.subject = {{"O", "attestlab"}, {"CN", "attestlab root CA " + suffix}};
  root_spec.not_before = now - kBackdate;
  root_spec.not_after = now + kRootLifetime;
  root_spec.is_ca = true;
  root_spec.key_usage_cert_sign = true;
  root_spec.key_usage_digital_signature = true;
  root_spec.authority_key_id = false;
  auto root = pki::issue_certificate(root_spec, root_key->public_key(), nullptr, *root_key);
  if (!root) return root.error();

  pki::CertificateSpec intermediate_spec;
  intermediate_spec.subject = {{"O", "attestlab"}, {"CN", "attestlab intermediate CA " + suffix}};
  intermediate_spec.not_before = now - kBackdate;
  intermediate_spec.not_after = now + kIntermediateLifetime;
  intermediate_spec.is_ca = true;
  intermediate_spec.path_len = 0;
  intermediate_spec.key_usage_cert_sign = true;
  intermediate_spec.key_usage_digital_signature = true;
  auto intermediate =
      pki::issue_certificate(intermediate_spec, intermediate_key->public_key(), &*root, *root_key);
  if (!intermediate) return intermediate.error();

  // Keys first, certificates last: a crash in between leaves an incomplete CA that the
  // next start reports instead of silently replacing.
  ATTESTLAB_TRY(pki::write_file(files.root_key, root_key->to_pem(), true));
  ATTESTLAB_TRY(pki::write_file(files.intermediate_key, intermediate_key->to_pem(), true));
  ATTESTLAB_TRY(pki::write_file(files.root_cert, root->to_pem()));
  ATTESTLAB_TRY(pki::write_file(files.intermediate_cert, intermediate->to_pem()));
  ATTESTLAB_TRY(pki::write_file(files.chain, intermediate->to_pem() + root->to_pem()));
  return ok();
}

}  // namespace

Result<std::unique_ptr<IssuingCa>> IssuingCa::load_or_create(const std::string& dir,
                                                             std::int64_t now) {
  CaFiles files(dir);
  bool any = false, all = true;
  for (const auto* path : {&files.root_cert, &files.root_key, &files.intermediate_cert,
                           &files.intermediate_key, &files.chain}) {
    std::error_code ec;
    bool exists = fs::exists(*path, ec);
    any = any || exists;
    all = all && exists;
  }
  if (any && !all) {
    return Error::make("serverInternal",
                       dir +
                           ": incomplete CA (some of root.pem, root.key, "
                           "intermediate.pem, intermediate.key, chain.pem missing)");
  }
  if (!any) ATTESTLAB_TRY(create_ca(dir, files, now));

  auto root_pem = pki::read_file(files.root_cert);
  if (!root_pem) return root_pem.error();
  auto intermediate_pem = pki::read_file(files.intermediate_cert);
  if (!intermediate_pem) return intermediate_pem.error();
  auto key_pem = pki::read_file(files.intermediate_key);
  if (!key_pem) return key_pem.error();
  auto chain_pem = pki::read_file(files.chain);
  if (!chain_pem) return chain_pem.error();

  auto ca = std::make_unique<IssuingCa>();
  auto root = pki::Certificate::from_pem(*root_pem);
  if (!root) return Error::make("serverInternal", files.root_cert + ": " + root.error().detail);
  auto intermediate = pki::Certificate::from_pem(*intermediate_pem);
  if (!intermediate) {
    return Error::make("serverInternal",
                       files.intermediate_cert + ": " + intermediate.error().detail);
  }
  auto key = pki::PrivateKey::from_pem(*key_pem);
  if (!key)
    return Error::make("serverInternal", files.intermediate_key + ": " + key.error().detail);
  if (!key->public_key().equals(intermediate->public_key())) {
    return Error::make("serverInternal",
                       files.intermediate_key + ": does not match intermediate.pem");
  }
  ca->root_ = std::move(*root);
  ca->intermediate_ = std::move(*intermediate);
  ca->intermediate_key_ = std::move(*key);
  ca->intermediate_pem_ = ca->intermediate_.to_pem();
  ca->chain_pem_ = std::move(*chain_pem);
  return ca;
}

Result<pki::IssuedCertificate> IssuingCa::issue(const LeafRequest& request) const {
  pki::CertificateSpec spec;
  if (!request.common_name.empty()) spec.subject = {{"CN", request.common_name}};
  spec.sans = request.sans;  // critical when there is no subject CN (issue_certificate)
  spec.not_before = request.not_before;
  spec.not_after = request.not_after;
  // keyEncipherment only for rsaEncryption keys; a CSR's key is judged by its SPKI OID, so
  // RSA-PSS keys (signature only) do not get it.
  spec.key_usage_key_encipherment = request.csr != nullptr
                                        ? request.csr->public_key_algorithm() == kOidRsaEncryption
                                        : request.key.spec().kind == pki::KeyKind::RSA;
  spec.extended_key_usages = request.extended_key_usages;
  // Leaves have always been signed with SHA-256, whatever key a replaced intermediate has.
  spec.signature_digest = pki::Digest::SHA256;

  const Bytes spki = request.csr != nullptr ? request.csr->spki_der() : request.key.spki_der();
  auto leaf = pki::issue_certificate_der(spec, spki, &intermediate_, intermediate_key_);
  if (!leaf) return Error::make("serverInternal", "issuing: " + leaf.error().detail);
  return leaf;
}

}  // namespace attestlab::server

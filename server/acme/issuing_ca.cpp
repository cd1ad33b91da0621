#include "server/acme/issuing_ca.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>
#include <span>
#include <system_error>

#include "core/bytes.h"
#include "core/der.h"

namespace attestlab::server {

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kDay = 24 * 3600;
constexpr std::int64_t kRootLifetime = 20 * 365 * kDay;
constexpr std::int64_t kIntermediateLifetime = 10 * 365 * kDay;
// Clients with a slightly slow clock must still accept a freshly created CA.
constexpr std::int64_t kBackdate = 3600;

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
  // Leaves name the intermediate by its subject key id (or, lacking one, the SHA-1 of its key).
  Bytes issuer_key_id;
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca->intermediate_.get())) {
    issuer_key_id.assign(ASN1_STRING_get0_data(ski),
                         ASN1_STRING_get0_data(ski) + ASN1_STRING_length(ski));
  } else {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_pubkey_digest(ca->intermediate_.get(), EVP_sha1(), md, &len);
    issuer_key_id.assign(md, md + len);
  }
  ca->authority_key_id_value_ =
      der::tlv(der::kSequence, der::tlv(der::kContext | 0, issuer_key_id));
  ca->chain_pem_ = std::move(*chain_pem);
  return ca;
}

namespace {

using OctetsPtr = std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)>;

Error openssl_failure(const std::string& what) {
  return Error::make("serverInternal", "issuing: " + what + ": " + ossl::last_error());
}

Result<void> add_extension(X509* cert, int nid, bool critical, const Bytes& value) {
  OctetsPtr octets(ASN1_OCTET_STRING_new(), &ASN1_OCTET_STRING_free);
  if (!octets ||
      ASN1_OCTET_STRING_set(octets.get(), value.data(), static_cast<int>(value.size())) != 1) {
    return openssl_failure("extension value");
  }
  ossl::ExtPtr ext(X509_EXTENSION_create_by_NID(nullptr, nid, critical ? 1 : 0, octets.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return openssl_failure("adding extension");
  return ok();
}

// Copies the CSR's SubjectPublicKeyInfo into the certificate field by field.
Result<void> copy_public_key(X509* cert, X509_REQ* req) {
  X509_PUBKEY* source = X509_REQ_get_X509_PUBKEY(req);
  ASN1_OBJECT* algorithm = nullptr;
  const unsigned char* key_bits = nullptr;
  int key_len = 0;
  X509_ALGOR* algor = nullptr;
  if (!source || X509_PUBKEY_get0_param(&algorithm, &key_bits, &key_len, &algor, source) != 1 ||
      key_len <= 0) {
    return openssl_failure("reading CSR public key");
  }
  int param_type = V_ASN1_UNDEF;
  const void* param = nullptr;
  X509_ALGOR_get0(nullptr, &param_type, &param, algor);
  void* param_copy = nullptr;
  if (param_type == V_ASN1_OBJECT) {
    param_copy = OBJ_dup(static_cast<const ASN1_OBJECT*>(param));
  } else if (param_type == V_ASN1_SEQUENCE) {
    param_copy = ASN1_STRING_dup(static_cast<const ASN1_STRING*>(param));
  } else if (param_type != V_ASN1_NULL && param_type != V_ASN1_UNDEF) {
    return Error::make("badCSR", "unsupported public key parameters");
  }
  if (param != nullptr && param_copy == nullptr) return openssl_failure("copying key parameters");
  auto* bits_copy =
      static_cast<unsigned char*>(OPENSSL_memdup(key_bits, static_cast<std::size_t>(key_len)));
  ASN1_OBJECT* algorithm_copy = OBJ_dup(algorithm);
  if (!bits_copy || !algorithm_copy ||
      X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), algorithm_copy, param_type, param_copy,
                             bits_copy, key_len) != 1) {
    OPENSSL_free(bits_copy);
    ASN1_OBJECT_free(algorithm_copy);
    if (param_type == V_ASN1_OBJECT) ASN1_OBJECT_free(static_cast<ASN1_OBJECT*>(param_copy));
    if (param_type == V_ASN1_SEQUENCE) ASN1_STRING_free(static_cast<ASN1_STRING*>(param_copy));
    return openssl_failure("setting public key");
  }
  return ok();
}

// GeneralNames (RFC 5280 §4.2.1.6) with the device-attest otherNames (RFC 4043, 4108).
Result<Bytes> general_names(const pki::SubjectAltNames& sans) {
  Bytes names;
  for (const auto& dns : sans.dns) der::append(names, der::tlv(der::kContext | 2, dns));
  for (const auto& ip : sans.ip) {
    OctetsPtr raw(a2i_IPADDRESS(ip.c_str()), &ASN1_OCTET_STRING_free);
    if (!raw) return Error::make("serverInternal", "issuing: bad IP address " + ip);
    der::append(names, der::tlv(der::kContext | 7,
                                std::span<const std::uint8_t>(
                                    ASN1_STRING_get0_data(raw.get()),
                                    static_cast<std::size_t>(ASN1_STRING_length(raw.get())))));
  }
  auto other_name = [&](const char* type_oid, const Bytes& value) -> Result<void> {
    auto type = der::oid(type_oid);
    if (!type) return type.error();
    Bytes content = *type;
    der::append(content, der::tlv(der::kContextConstructed | 0, value));
    der::append(names, der::tlv(der::kContextConstructed | 0, content));
    return ok();
  };
  for (const auto& id : sans.permanent_ids) {
    Bytes seq;
    if (!id.value.empty()) der::append(seq, der::tlv(der::kUtf8String, id.value));
    if (id.assigner) {
      auto assigner = der::oid(*id.assigner);
      if (!assigner) return Error::make("serverInternal", "issuing: bad assigner OID");
      der::append(seq, *assigner);
    }
    ATTESTLAB_TRY(other_name(pki::kOidPermanentIdentifier, der::tlv(der::kSequence, seq)));
  }
  for (const auto& hw : sans.hardware_modules) {
    auto type = der::oid(hw.hw_type);
    if (!type) return Error::make("serverInternal", "issuing: bad hwType OID");
    Bytes seq = *type;
    der::append(seq, der::tlv(der::kOctetString, hw.serial));
    ATTESTLAB_TRY(other_name(pki::kOidHardwareModuleName, der::tlv(der::kSequence, seq)));
  }
  return der::tlv(der::kSequence, names);
}

Result<Bytes> extended_key_usages(const std::vector<std::string>& oids) {
  Bytes content;
  for (const auto& oid : oids) {
    auto encoded = der::oid(oid);
    if (!encoded) return Error::make("serverInternal", "issuing: bad EKU OID " + oid);
    der::append(content, *encoded);
  }
  return der::tlv(der::kSequence, content);
}

// KeyUsage BIT STRING: digitalSignature (bit 0), keyEncipherment (bit 2).
Bytes key_usage(bool key_encipherment) {
  std::uint8_t bits = 0x80;
  if (key_encipherment) bits |= 0x20;
  std::uint8_t unused = key_encipherment ? 5 : 7;
  return der::tlv(der::kBitString, Bytes{unused, bits});
}

}  // namespace

Result<pki::Certificate> IssuingCa::issue(const LeafRequest& request) const {
  ossl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
    return openssl_failure("allocating");

  Bytes serial = random_bytes(16);
  serial[0] =
      static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x40);  // positive, 16 significant bytes
  ossl::BnPtr serial_bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!serial_bn || !BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get()))) {
    return openssl_failure("serial");
  }
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(request.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(request.not_after))) {
    return openssl_failure("validity");
  }
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(intermediate_.get())) != 1) {
    return openssl_failure("issuer name");
  }
  if (!request.common_name.empty() &&
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(request.common_name.data()),
                                 static_cast<int>(request.common_name.size()), -1, 0) != 1) {
    return openssl_failure("subject name");
  }

  bool rsa = false;
  if (request.csr != nullptr) {
    ATTESTLAB_TRY(copy_public_key(cert.get(), request.csr->get()));
    ASN1_OBJECT* algorithm = nullptr;
    X509_PUBKEY_get0_param(&algorithm, nullptr, nullptr, nullptr, X509_get_X509_PUBKEY(cert.get()));
    rsa = OBJ_obj2nid(algorithm) == NID_rsaEncryption;
  } else {
    if (!request.key.valid() || X509_set_pubkey(cert.get(), request.key.get()) != 1) {
      return openssl_failure("public key");
    }
    rsa = request.key.spec().kind == pki::KeyKind::RSA;
  }

  ATTESTLAB_TRY(
      add_extension(cert.get(), NID_basic_constraints, true, der::tlv(der::kSequence, Bytes{})));
  ATTESTLAB_TRY(add_extension(cert.get(), NID_key_usage, true, key_usage(rsa)));
  if (!request.extended_key_usages.empty()) {
    auto eku = extended_key_usages(request.extended_key_usages);
    if (!eku) return eku.error();
    ATTESTLAB_TRY(add_extension(cert.get(), NID_ext_key_usage, false, *eku));
  }
  unsigned char key_id[EVP_MAX_MD_SIZE];
  unsigned int key_id_len = 0;
  if (X509_pubkey_digest(cert.get(), EVP_sha1(), key_id, &key_id_len) != 1)
    return openssl_failure("key id");
  ATTESTLAB_TRY(add_extension(
      cert.get(), NID_subject_key_identifier, false,
      der::tlv(der::kOctetString, std::span<const std::uint8_t>(key_id, key_id_len))));
  ATTESTLAB_TRY(
      add_extension(cert.get(), NID_authority_key_identifier, false, authority_key_id_value_));
  if (!request.sans.empty()) {
    auto names = general_names(request.sans);
    if (!names) return names.error();
    ATTESTLAB_TRY(
        add_extension(cert.get(), NID_subject_alt_name, request.common_name.empty(), *names));
  }

  if (X509_sign(cert.get(), intermediate_key_.get(), EVP_sha256()) <= 0)
    return openssl_failure("signing");
  return pki::Certificate(std::move(cert));
}

Bytes certificate_spki_der(const pki::Certificate& certificate) {
  if (!certificate.valid()) return {};
  unsigned char* out = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate.get()), &out);
  if (len <= 0) return {};
  Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

}  // namespace attestlab::server

// Certificate: parsing, inspection and issuance.
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/der.h"
#include "core/pki_internal.h"

namespace attestlab::pki {
namespace {

ossl::X509Ptr up_ref(X509* cert) {
  if (cert != nullptr) X509_up_ref(cert);
  return ossl::X509Ptr(cert);
}

std::int64_t to_epoch(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

Error internal(const std::string& what) {
  return Error::make("serverInternal", what + ": " + ossl::last_error());
}

Result<void> add_extension(X509* cert, const std::string& oid, const Bytes& value, bool critical) {
  auto ext = detail::make_extension(oid, value, critical);
  if (!ext.ok()) return ext.error();
  if (X509_add_ext(cert, ext->get(), -1) != 1) return internal("adding extension " + oid);
  return ok();
}

// SHA-1 of the subjectPublicKey BIT STRING (RFC 5280 §4.2.1.2 method 1).
Result<Bytes> key_id_of(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1) return internal("hashing public key");
  return Bytes(md, md + len);
}

Bytes serial_bytes(const Bytes& requested) {
  if (!requested.empty()) return requested;
  Bytes serial = random_bytes(16);
  // Positive (RFC 5280 §4.1.2.2) and exactly 16 significant bytes.
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x40);
  return serial;
}

Result<void> add_standard_extensions(X509* cert, const CertificateSpec& spec,
                                     const Certificate* issuer) {
  Bytes basic_constraints;
  if (spec.is_ca) {
    basic_constraints = der::tlv(der::kBoolean, Bytes{0xff});
    if (spec.path_len >= 0)
      der::append(basic_constraints, der::integer(static_cast<std::uint64_t>(spec.path_len)));
  }
  ATTESTLAB_TRY(
      add_extension(cert, "2.5.29.19", der::tlv(der::kSequence, basic_constraints), true));

  const bool cert_sign = spec.key_usage_cert_sign || spec.is_ca;
  if (spec.key_usage_digital_signature || spec.key_usage_key_encipherment || cert_sign)
    ATTESTLAB_TRY(add_extension(cert, "2.5.29.15",
                                detail::key_usage_value(spec.key_usage_digital_signature,
                                                        spec.key_usage_key_encipherment, cert_sign),
                                true));

  if (!spec.extended_key_usages.empty()) {
    auto eku = detail::extended_key_usage_value(spec.extended_key_usages);
    if (!eku.ok()) return eku.error();
    ATTESTLAB_TRY(add_extension(cert, "2.5.29.37", *eku, false));
  }

  auto own_id = key_id_of(cert);
  if (!own_id.ok()) return own_id.error();
  if (spec.subject_key_id)
    ATTESTLAB_TRY(add_extension(cert, "2.5.29.14", der::tlv(der::kOctetString, *own_id), false));
  if (spec.authority_key_id) {
    Bytes authority_id = *own_id;
    if (issuer != nullptr) {
      if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer->get())) {
        authority_id = detail::asn1_bytes(ski);
      } else {
        auto issuer_id = key_id_of(issuer->get());
        if (!issuer_id.ok()) return issuer_id.error();
        authority_id = *issuer_id;
      }
    }
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING, ... }
    ATTESTLAB_TRY(add_extension(cert, "2.5.29.35",
                                der::tlv(der::kSequence, der::tlv(der::kContext | 0, authority_id)),
                                false));
  }

  if (!spec.sans.empty()) {
    auto names = detail::encode_general_names(spec.sans);
    if (!names.ok()) return names.error();
    // RFC 5280 §4.2.1.6: critical when the subject is empty.
    ATTESTLAB_TRY(add_extension(cert, "2.5.29.17", *names, spec.subject.empty()));
  }

  for (const auto& extra : spec.extra_extensions)
    ATTESTLAB_TRY(add_extension(cert, extra.oid, extra.value, extra.critical));
  return ok();
}

}  // namespace

Certificate::Certificate(ossl::X509Ptr cert) : cert_(std::move(cert)) {}
Certificate::Certificate(const Certificate& other) : cert_(up_ref(other.cert_.get())) {}
Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) cert_ = up_ref(other.cert_.get());
  return *this;
}

Result<Certificate> Certificate::from_der(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != der.data() + der.size()) {
    ossl::last_error();
    return Error::make("malformed", "invalid DER certificate");
  }
  return Certificate(std::move(cert));
}

Result<Certificate> Certificate::from_pem(const std::string& pem) {
  auto bio = detail::read_bio(pem);
  ossl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ossl::last_error();
    return Error::make("malformed", "invalid PEM certificate");
  }
  return Certificate(std::move(cert));
}

Result<std::vector<Certificate>> Certificate::bundle_from_pem(const std::string& pem) {
  auto bio = detail::read_bio(pem);
  std::vector<Certificate> certs;
  while (true) {
    ossl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    certs.emplace_back(std::move(cert));
  }
  ossl::last_error();  // the end of the bundle reads as "no start line"
  if (certs.empty()) return Error::make("malformed", "no certificate in PEM bundle");
  return certs;
}

Bytes Certificate::to_der() const {
  if (!cert_) return {};
  unsigned char* out = nullptr;
  const int len = i2d_X509(cert_.get(), &out);
  if (len <= 0) return {};
  Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

std::string Certificate::to_pem() const {
  if (!cert_) return {};
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return {};
  return detail::bio_contents(bio.get());
}

namespace {
std::string name_rfc2253(const X509_NAME* name) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || name == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0)
    return {};
  return detail::bio_contents(bio.get());
}
}  // namespace

std::string Certificate::subject() const {
  return cert_ ? name_rfc2253(X509_get_subject_name(cert_.get())) : std::string();
}
std::string Certificate::issuer() const {
  return cert_ ? name_rfc2253(X509_get_issuer_name(cert_.get())) : std::string();
}

std::string Certificate::serial_hex() const {
  if (!cert_) return {};
  ossl::BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
  if (!bn) return {};
  if (BN_is_zero(bn.get())) return "0";
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return {};
  std::string out(hex);
  OPENSSL_free(hex);
  const bool negative = !out.empty() && out[0] == '-';
  std::string digits = negative ? out.substr(1) : out;
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
  std::transform(digits.begin(), digits.end(), digits.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return negative ? "-" + digits : digits;
}

std::int64_t Certificate::not_before() const {
  return cert_ ? to_epoch(X509_get0_notBefore(cert_.get())) : 0;
}
std::int64_t Certificate::not_after() const {
  return cert_ ? to_epoch(X509_get0_notAfter(cert_.get())) : 0;
}

PublicKey Certificate::public_key() const {
  if (!cert_) return {};
  return PublicKey(ossl::PKey(X509_get_pubkey(cert_.get())));
}

// Undecodable SAN extensions read as no SANs: the certificate already parsed, and callers
// that must tell the difference look at extension_value("2.5.29.17").
SubjectAltNames Certificate::subject_alt_names() const {
  auto value = extension_value("2.5.29.17");
  if (!value) return {};
  auto names = detail::decode_general_names(*value);
  return names.ok() ? std::move(*names) : SubjectAltNames{};
}

bool Certificate::is_ca() const {
  if (!cert_) return false;
  return (X509_get_extension_flags(cert_.get()) & EXFLAG_CA) != 0;
}

std::vector<std::string> Certificate::extended_key_usages() const {
  std::vector<std::string> out;
  auto value = extension_value("2.5.29.37");
  if (!value) return out;
  der::Reader outer(*value);
  auto seq = outer.next(der::kSequence);
  if (!seq.ok()) return out;
  der::Reader r(seq->content);
  while (!r.done()) {
    auto oid = r.next(der::kOid);
    if (!oid.ok()) return {};
    auto dotted = der::oid_to_string(oid->content);
    if (!dotted.ok()) return {};
    out.push_back(std::move(*dotted));
  }
  return out;
}

std::optional<Bytes> Certificate::extension_value(const std::string& oid) const {
  if (!cert_) return std::nullopt;
  ossl::AsnObjPtr obj(OBJ_txt2obj(oid.c_str(), 1));
  if (!obj) {
    ossl::last_error();
    return std::nullopt;
  }
  const int index = X509_get_ext_by_OBJ(cert_.get(), obj.get(), -1);
  if (index < 0) return std::nullopt;
  X509_EXTENSION* ext = X509_get_ext(cert_.get(), index);
  if (ext == nullptr) return std::nullopt;
  return detail::asn1_bytes(X509_EXTENSION_get_data(ext));
}

Bytes Certificate::fingerprint_sha256() const {
  return sha256(to_der());
}

bool Certificate::signed_by(const PublicKey& issuer_key) const {
  if (!cert_ || !issuer_key.valid()) return false;
  const bool good = X509_verify(cert_.get(), issuer_key.get()) == 1;
  ossl::last_error();
  return good;
}

Result<Certificate> issue_certificate(const CertificateSpec& spec, const PublicKey& subject_key,
                                      const Certificate* issuer, const PrivateKey& issuer_key) {
  if (!subject_key.valid() || !issuer_key.valid())
    return Error::make("serverInternal", "issue_certificate: missing key");
  if (issuer == nullptr && !issuer_key.public_key().equals(subject_key))
    return Error::make("serverInternal", "self-signed certificate: key pair mismatch");
  if (issuer != nullptr &&
      (!issuer->valid() || X509_check_private_key(issuer->get(), issuer_key.get()) != 1)) {
    ossl::last_error();
    return Error::make("serverInternal", "issuer key does not match issuer certificate");
  }

  ossl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
    return internal("allocating X509");

  const Bytes serial = serial_bytes(spec.serial);
  ossl::BnPtr serial_bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!serial_bn ||
      BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return internal("setting serial");

  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after)) == nullptr)
    return internal("setting validity");

  auto subject = detail::build_name(spec.subject);
  if (!subject.ok()) return subject.error();
  if (X509_set_subject_name(cert.get(), subject->get()) != 1 ||
      X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer->get())
                                                         : subject->get()) != 1)
    return internal("setting names");
  if (X509_set_pubkey(cert.get(), subject_key.get()) != 1) return internal("setting public key");

  ATTESTLAB_TRY(add_standard_extensions(cert.get(), spec, issuer));

  if (X509_sign(cert.get(), issuer_key.get(), detail::signing_digest(issuer_key)) <= 0)
    return internal("signing certificate");
  return Certificate(std::move(cert));
}

}  // namespace attestlab::pki

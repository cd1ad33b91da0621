// Certificate issuance: writes a v3 certificate's DER from a CertificateSpec and signs it.
// The TBSCertificate is written here rather than through OpenSSL's X509 object: building
// one field by field, signing it with X509_sign and encoding it again for the PEM costs
// about as much as the signature (a leaf's issuance is part of every finalize). The name
// is still encoded by OpenSSL (its string types per attribute), the signature made by
// PrivateKey::sign.
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "core/clock.h"
#include "core/der.h"
#include "core/pki_internal.h"

namespace attestlab::pki {
namespace {

using detail::internal;

// The extensions' OIDs (id-ce, RFC 5280 §4.2.1), as DER.
constexpr std::uint8_t kSubjectKeyIdentifier[] = {0x06, 0x03, 0x55, 0x1d, 0x0e};
constexpr std::uint8_t kKeyUsage[] = {0x06, 0x03, 0x55, 0x1d, 0x0f};
constexpr std::uint8_t kSubjectAltName[] = {0x06, 0x03, 0x55, 0x1d, 0x11};
constexpr std::uint8_t kBasicConstraints[] = {0x06, 0x03, 0x55, 0x1d, 0x13};
constexpr std::uint8_t kAuthorityKeyIdentifier[] = {0x06, 0x03, 0x55, 0x1d, 0x23};
constexpr std::uint8_t kExtKeyUsage[] = {0x06, 0x03, 0x55, 0x1d, 0x25};

// Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }:
// DER leaves out a FALSE critical.
void append_extension(Bytes& out, std::span<const std::uint8_t> oid, const Bytes& value,
                      bool critical) {
  Bytes body(oid.begin(), oid.end());
  if (critical) der::append(body, der::tlv(der::kBoolean, Bytes{0xff}));
  der::append(body, der::tlv(der::kOctetString, value));
  der::append(out, der::tlv(der::kSequence, body));
}

// The serial as a positive INTEGER (the bytes are its magnitude, as BN_bin2bn reads them)
// and as Certificate::serial_hex writes it.
struct Serial {
  Bytes der;
  std::string hex;
};

Serial serial_of(const Bytes& requested) {
  const Bytes bytes = requested.empty() ? new_serial() : requested;  // never empty
  std::string hex = hex_encode(bytes);
  hex.erase(0, std::min(hex.find_first_not_of('0'), hex.size() - 1));
  return Serial{der::unsigned_integer(bytes), std::move(hex)};
}

// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (and, as OpenSSL's
// ASN1_TIME_set writes it, before 1950).
Result<Bytes> validity_time(std::int64_t when) {
  const auto t = static_cast<time_t>(when);
  std::tm tm{};
  if (static_cast<std::int64_t>(t) != when || gmtime_r(&t, &tm) == nullptr)
    return Error::make("malformed", "certificate time out of range");
  const long year = static_cast<long>(tm.tm_year) + 1900;
  if (year < 0 || year > 9999) return Error::make("malformed", "certificate time out of range");
  const bool utc = year >= 1950 && year < 2050;
  // YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ, written digit by digit (snprintf was most of its cost).
  std::string text;
  append_zero_padded(text, utc ? year % 100 : year, utc ? 2 : 4);
  for (const long field :
       {static_cast<long>(tm.tm_mon) + 1, static_cast<long>(tm.tm_mday),
        static_cast<long>(tm.tm_hour), static_cast<long>(tm.tm_min), static_cast<long>(tm.tm_sec)})
    append_zero_padded(text, field, 2);
  text += 'Z';
  return der::tlv(utc ? 0x17 : 0x18, text);
}

// The subjectPublicKey bits of a SubjectPublicKeyInfo, checked as a certificate may carry
// them: the algorithm's parameters absent, NULL, an OID or a SEQUENCE (else badCSR, the key
// being a CSR's), no unused bits.
Result<std::span<const std::uint8_t>> subject_key_bits(const Bytes& spki) {
  der::Reader outer(spki);
  auto info = outer.next(der::kSequence);
  if (!info || !outer.done()) return Error::make("serverInternal", "subject key is not an SPKI");
  der::Reader fields(info->content);
  auto algorithm = fields.next(der::kSequence);
  auto bits = algorithm ? fields.next(der::kBitString) : algorithm;
  if (!algorithm || !bits || !fields.done())
    return Error::make("serverInternal", "subject key is not an SPKI");
  der::Reader algorithm_fields(algorithm->content);
  if (!algorithm_fields.next(der::kOid)) return Error::make("badCSR", "unreadable key algorithm");
  if (!algorithm_fields.done()) {
    auto parameters = algorithm_fields.next();
    const bool null = parameters && parameters->tag == 0x05 && parameters->content.empty();
    if (!parameters || !algorithm_fields.done() ||
        !(null || parameters->tag == der::kOid || parameters->tag == der::kSequence))
      return Error::make("badCSR", "unsupported public key parameters");
  }
  if (bits->content.size() < 2 || bits->content[0] != 0)
    return Error::make("badCSR", "the public key's BIT STRING is empty or has unused bits");
  return bits->content.subspan(1);
}

// SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1).
Result<Bytes> key_id_of(std::span<const std::uint8_t> key_bits) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(key_bits.data(), key_bits.size(), md, &len, EVP_sha1(), nullptr) != 1)
    return internal("hashing public key");
  return Bytes(md, md + len);
}

// The issuer's key identifier: its subjectKeyIdentifier, else computed as for a new one.
Result<Bytes> issuer_key_id(const Certificate& issuer) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer.get()))
    return detail::asn1_bytes(ski);
  const unsigned char* bits = nullptr;
  int length = 0;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &length, nullptr,
                             X509_get_X509_PUBKEY(issuer.get())) != 1 ||
      length <= 0)
    return internal("reading the issuer's public key");
  return key_id_of({bits, static_cast<std::size_t>(length)});
}

Result<Bytes> extensions_of(const CertificateSpec& spec, const Bytes& own_id,
                            const Bytes& authority_id) {
  Bytes out;
  Bytes basic_constraints;
  if (spec.is_ca) {
    basic_constraints = der::tlv(der::kBoolean, Bytes{0xff});
    if (spec.path_len >= 0)
      der::append(basic_constraints, der::integer(static_cast<std::uint64_t>(spec.path_len)));
  }
  append_extension(out, kBasicConstraints, der::tlv(der::kSequence, basic_constraints), true);

  const bool cert_sign = spec.key_usage_cert_sign || spec.is_ca;
  if (spec.key_usage_digital_signature || spec.key_usage_key_encipherment || cert_sign)
    append_extension(out, kKeyUsage,
                     detail::key_usage_value(spec.key_usage_digital_signature,
                                             spec.key_usage_key_encipherment, cert_sign),
                     true);

  if (!spec.extended_key_usages.empty()) {
    auto eku = detail::extended_key_usage_value(spec.extended_key_usages);
    if (!eku.ok()) return eku.error();
    append_extension(out, kExtKeyUsage, *eku, false);
  }
  if (spec.subject_key_id)
    append_extension(out, kSubjectKeyIdentifier, der::tlv(der::kOctetString, own_id), false);
  // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING, ... }
  if (spec.authority_key_id)
    append_extension(out, kAuthorityKeyIdentifier,
                     der::tlv(der::kSequence, der::tlv(der::kContext | 0, authority_id)), false);
  if (!spec.sans.empty()) {
    auto names = detail::encode_general_names(spec.sans);
    if (!names.ok()) return names.error();
    // RFC 5280 §4.2.1.6: critical when the subject is empty.
    append_extension(out, kSubjectAltName, *names, spec.subject.empty());
  }
  for (const auto& extra : spec.extra_extensions) {
    auto oid = der::oid(extra.oid);
    if (!oid.ok()) return Error::make("malformed", "invalid extension OID " + extra.oid);
    append_extension(out, *oid, extra.value, extra.critical);
  }
  return out;
}

// The digest to sign with: spec.signature_digest when set (it must suit the key: none
// exactly for Ed25519), else the default for the issuer key.
Result<Digest> certificate_digest(const CertificateSpec& spec, const PrivateKey& key) {
  if (!spec.signature_digest) return detail::signing_digest(key);
  const bool pure = key.spec().kind == KeyKind::Ed25519;
  if ((*spec.signature_digest == Digest::None) != pure)
    return Error::make("malformed",
                       "signature digest does not suit the " + key.spec().name() + " issuer key");
  return *spec.signature_digest;
}

// The AlgorithmIdentifier of the signature (RFC 5758 §3.2 ECDSA, RFC 4055 §5 RSA with its
// NULL parameters, RFC 8410 §3 Ed25519).
Result<Bytes> signature_algorithm(KeyKind kind, Digest digest) {
  const char* oid = nullptr;
  const int index = digest == Digest::SHA256 ? 0 : digest == Digest::SHA384 ? 1 : 2;
  static constexpr const char* kEcdsa[] = {"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3",
                                           "1.2.840.10045.4.3.4"};
  static constexpr const char* kRsa[] = {"1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12",
                                         "1.2.840.113549.1.1.13"};
  if (kind == KeyKind::Ed25519) oid = "1.3.101.112";
  if (kind == KeyKind::EC && digest != Digest::None) oid = kEcdsa[index];
  if (kind == KeyKind::RSA && digest != Digest::None) oid = kRsa[index];
  if (oid == nullptr) return Error::make("malformed", "no signature algorithm for this issuer key");
  auto encoded = der::oid(oid);
  if (!encoded.ok()) return encoded.error();
  if (kind == KeyKind::RSA) der::append(*encoded, Bytes{0x05, 0x00});
  return der::tlv(der::kSequence, *encoded);
}

Result<void> check_issuer(const Certificate& issuer, const PrivateKey& issuer_key) {
  if (!issuer.valid() || X509_check_private_key(issuer.get(), issuer_key.get()) != 1) {
    ossl::last_error();
    return Error::make("serverInternal", "issuer key does not match issuer certificate");
  }
  return ok();
}

}  // namespace

std::string IssuedCertificate::to_pem() const {
  return der.empty() ? std::string() : pem_encode("CERTIFICATE", der);
}

Bytes new_serial(std::int64_t unix_millis) {
  Bytes serial{0x40};
  const Bytes body = time_ordered_bytes(unix_millis, 9);
  serial.insert(serial.end(), body.begin(), body.end());
  return serial;
}

Bytes new_serial() {
  return new_serial(system_millis());
}

Result<IssuedCertificate> issue_certificate_der(const CertificateSpec& spec,
                                                const Bytes& subject_spki,
                                                const Certificate* issuer,
                                                const PrivateKey& issuer_key) {
  if (subject_spki.empty() || !issuer_key.valid())
    return Error::make("serverInternal", "issue_certificate: missing key");
  if (issuer != nullptr) {
    ATTESTLAB_TRY(check_issuer(*issuer, issuer_key));
  } else if (issuer_key.public_key().spki_der() != subject_spki) {
    return Error::make("serverInternal", "self-signed certificate: key pair mismatch");
  }
  // An RSA-PSS key signs with PSS, which needs its own AlgorithmIdentifier parameters
  // (RFC 4055 §3.1): refused rather than declared as PKCS#1 v1.5.
  if (EVP_PKEY_get_base_id(issuer_key.get()) == EVP_PKEY_RSA_PSS)
    return Error::make("serverInternal", "RSA-PSS issuer keys are not supported");
  auto digest = certificate_digest(spec, issuer_key);
  if (!digest.ok()) return digest.error();
  auto algorithm = signature_algorithm(issuer_key.spec().kind, *digest);
  if (!algorithm.ok()) return algorithm.error();
  auto key_bits = subject_key_bits(subject_spki);
  if (!key_bits.ok()) return key_bits.error();
  auto own_id = key_id_of(*key_bits);
  if (!own_id.ok()) return own_id.error();
  auto authority_id = issuer != nullptr ? issuer_key_id(*issuer) : own_id;
  if (!authority_id.ok()) return authority_id.error();

  auto subject = detail::build_name(spec.subject);
  if (!subject.ok()) return subject.error();
  const Bytes subject_der = detail::i2d_bytes(i2d_X509_NAME, subject->get());
  const Bytes issuer_der =
      issuer != nullptr ? detail::i2d_bytes(i2d_X509_NAME, X509_get_subject_name(issuer->get()))
                        : subject_der;
  if (subject_der.empty() || issuer_der.empty()) return internal("encoding a name");
  auto not_before = validity_time(spec.not_before);
  auto not_after = validity_time(spec.not_after);
  if (!not_before.ok() || !not_after.ok()) return Error::make("malformed", "setting validity");
  auto extensions = extensions_of(spec, *own_id, *authority_id);
  if (!extensions.ok()) return extensions.error();

  const Serial serial = serial_of(spec.serial);
  Bytes validity = *not_before;
  der::append(validity, *not_after);
  // TBSCertificate (RFC 5280 §4.1): version [0] v3, serial, signature, issuer, validity,
  // subject, subjectPublicKeyInfo, extensions [3].
  Bytes tbs_body{0xa0, 0x03, 0x02, 0x01, 0x02};
  tbs_body.reserve(tbs_body.size() + serial.der.size() + algorithm->size() + issuer_der.size() +
                   validity.size() + 2 + subject_der.size() + subject_spki.size() +
                   extensions->size() + 8);
  der::append(tbs_body, serial.der);
  der::append(tbs_body, *algorithm);
  der::append(tbs_body, issuer_der);
  der::append(tbs_body, der::tlv(der::kSequence, validity));
  der::append(tbs_body, subject_der);
  der::append(tbs_body, subject_spki);
  if (!extensions->empty())
    der::append(tbs_body,
                der::tlv(der::kContextConstructed | 3, der::tlv(der::kSequence, *extensions)));
  Bytes tbs = der::tlv(der::kSequence, tbs_body);

  auto signature = issuer_key.sign(tbs, *digest);
  if (!signature.ok()) return signature.error();
  Bytes signature_bits{0x00};
  der::append(signature_bits, *signature);
  Bytes body = std::move(tbs);
  der::append(body, *algorithm);
  der::append(body, der::tlv(der::kBitString, signature_bits));

  IssuedCertificate issued;
  issued.der = der::tlv(der::kSequence, body);
  issued.spki_der = subject_spki;
  issued.serial_hex = serial.hex;
  issued.not_before = spec.not_before;
  issued.not_after = spec.not_after;
  return issued;
}

Result<Certificate> issue_certificate(const CertificateSpec& spec, const PublicKey& subject_key,
                                      const Certificate* issuer, const PrivateKey& issuer_key) {
  if (!subject_key.valid() || !issuer_key.valid())
    return Error::make("serverInternal", "issue_certificate: missing key");
  auto issued = issue_certificate_der(spec, subject_key.spki_der(), issuer, issuer_key);
  if (!issued.ok()) return issued.error();
  return Certificate::from_der(issued->der);
}

Result<Certificate> issue_certificate(const CertificateSpec& spec, const Csr& subject_csr,
                                      const Certificate& issuer, const PrivateKey& issuer_key) {
  if (subject_csr.get() == nullptr || !issuer_key.valid())
    return Error::make("serverInternal", "issue_certificate: missing key");
  auto issued = issue_certificate_der(spec, subject_csr.spki_der(), &issuer, issuer_key);
  if (!issued.ok()) return issued.error();
  return Certificate::from_der(issued->der);
}

}  // namespace attestlab::pki

// Certificate issuance: builds a v3 certificate from a CertificateSpec and signs it.
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "core/clock.h"
#include "core/der.h"
#include "core/pki_internal.h"

namespace attestlab::pki {
namespace {

Error internal(const std::string& what) {
  return Error::make("serverInternal", what + ": " + ossl::last_error());
}

// oid: dotted text, or the NID of an extension OpenSSL knows.
template <class Oid>
Result<void> add_extension(X509* cert, const Oid& oid, const Bytes& value, bool critical) {
  auto ext = detail::make_extension(oid, value, critical);
  if (!ext.ok()) return ext.error();
  if (X509_add_ext(cert, ext->get(), -1) != 1) return internal("adding an extension");
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
  return requested.empty() ? new_serial() : requested;
}

Result<void> add_standard_extensions(X509* cert, const CertificateSpec& spec,
                                     const Certificate* issuer) {
  Bytes basic_constraints;
  if (spec.is_ca) {
    basic_constraints = der::tlv(der::kBoolean, Bytes{0xff});
    if (spec.path_len >= 0)
      der::append(basic_constraints, der::integer(static_cast<std::uint64_t>(spec.path_len)));
  }
  ATTESTLAB_TRY(add_extension(cert, NID_basic_constraints,
                              der::tlv(der::kSequence, basic_constraints), true));

  const bool cert_sign = spec.key_usage_cert_sign || spec.is_ca;
  if (spec.key_usage_digital_signature || spec.key_usage_key_encipherment || cert_sign)
    ATTESTLAB_TRY(add_extension(cert, NID_key_usage,
                                detail::key_usage_value(spec.key_usage_digital_signature,
                                                        spec.key_usage_key_encipherment, cert_sign),
                                true));

  if (!spec.extended_key_usages.empty()) {
    auto eku = detail::extended_key_usage_value(spec.extended_key_usages);
    if (!eku.ok()) return eku.error();
    ATTESTLAB_TRY(add_extension(cert, NID_ext_key_usage, *eku, false));
  }

  auto own_id = key_id_of(cert);
  if (!own_id.ok()) return own_id.error();
  if (spec.subject_key_id)
    ATTESTLAB_TRY(add_extension(cert, NID_subject_key_identifier,
                                der::tlv(der::kOctetString, *own_id), false));
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
    ATTESTLAB_TRY(add_extension(cert, NID_authority_key_identifier,
                                der::tlv(der::kSequence, der::tlv(der::kContext | 0, authority_id)),
                                false));
  }

  if (!spec.sans.empty()) {
    auto names = detail::encode_general_names(spec.sans);
    if (!names.ok()) return names.error();
    // RFC 5280 §4.2.1.6: critical when the subject is empty.
    ATTESTLAB_TRY(add_extension(cert, NID_subject_alt_name, *names, spec.subject.empty()));
  }

  for (const auto& extra : spec.extra_extensions)
    ATTESTLAB_TRY(add_extension(cert, extra.oid, extra.value, extra.critical));
  return ok();
}

// The digest X509_sign gets: spec.signature_digest when set (it must suit the key: none
// exactly for Ed25519), else the default for the issuer key.
Result<const EVP_MD*> certificate_digest(const CertificateSpec& spec, const PrivateKey& key) {
  if (!spec.signature_digest) return detail::signing_digest(key);
  const bool pure = key.spec().kind == KeyKind::Ed25519;
  if ((*spec.signature_digest == Digest::None) != pure)
    return Error::make("malformed",
                       "signature digest does not suit the " + key.spec().name() + " issuer key");
  return detail::evp_digest(*spec.signature_digest);
}

// Copies a SubjectPublicKeyInfo into cert field by field, so the key is never decoded or
// re-encoded. Each copy is owned by a handle until X509_PUBKEY_set0_param succeeds, which
// takes all of them (it takes none when it fails).
Result<void> copy_spki(X509* cert, const X509_PUBKEY* source) {
  ASN1_OBJECT* algorithm = nullptr;
  const unsigned char* key_bits = nullptr;
  int key_len = 0;
  X509_ALGOR* algor = nullptr;
  if (source == nullptr ||
      X509_PUBKEY_get0_param(&algorithm, &key_bits, &key_len, &algor, source) != 1 || key_len <= 0)
    return internal("reading the subject public key");
  int param_type = V_ASN1_UNDEF;
  const void* param = nullptr;
  X509_ALGOR_get0(nullptr, &param_type, &param, algor);

  ossl::AsnObjPtr param_oid;
  ossl::Asn1StringPtr param_sequence;
  void* param_copy = nullptr;
  if (param_type == V_ASN1_OBJECT) {
    param_oid.reset(OBJ_dup(static_cast<const ASN1_OBJECT*>(param)));
    param_copy = param_oid.get();
  } else if (param_type == V_ASN1_SEQUENCE) {
    param_sequence.reset(ASN1_STRING_dup(static_cast<const ASN1_STRING*>(param)));
    param_copy = param_sequence.get();
  } else if (param_type != V_ASN1_NULL && param_type != V_ASN1_UNDEF) {
    return Error::make("badCSR", "unsupported public key parameters");
  }
  if (param != nullptr && param_copy == nullptr) return internal("copying key parameters");
  ossl::AsnObjPtr algorithm_copy(OBJ_dup(algorithm));
  ossl::BufPtr bits_copy(
      static_cast<unsigned char*>(OPENSSL_memdup(key_bits, static_cast<std::size_t>(key_len))));
  if (!algorithm_copy || !bits_copy ||
      X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), algorithm_copy.get(), param_type,
                             param_copy, bits_copy.get(), key_len) != 1)
    return internal("setting public key");
  (void)algorithm_copy.release();
  (void)param_oid.release();
  (void)param_sequence.release();
  (void)bits_copy.release();
  return ok();
}

// The subject key of a new certificate: a key object, or a SubjectPublicKeyInfo to copy.
struct SubjectKey {
  EVP_PKEY* key = nullptr;
  const X509_PUBKEY* spki = nullptr;
};

// Whom the new certificate goes to first: `Shared` ones may be handed to other threads as
// they are (a root, an intermediate, a TLS certificate); a `Single` owner takes a
// Certificate::unshared (an ACME client's leaf, which goes out as DER and PEM).
enum class Owners { Shared, Single };

Result<Certificate> build_and_sign(const CertificateSpec& spec, const SubjectKey& subject_key,
                                   const Certificate* issuer, const PrivateKey& issuer_key,
                                   Owners owners) {
  auto digest = certificate_digest(spec, issuer_key);
  if (!digest.ok()) return digest.error();

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

  // Written in place: copying an X509_NAME in costs an encode and a decode.
  ATTESTLAB_TRY(detail::add_name_entries(X509_get_subject_name(cert.get()), spec.subject));
  const X509_NAME* issuer_name =
      X509_get_subject_name(issuer != nullptr ? issuer->get() : cert.get());
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return internal("setting issuer name");
  if (subject_key.spki != nullptr) {
    ATTESTLAB_TRY(copy_spki(cert.get(), subject_key.spki));
  } else if (X509_set_pubkey(cert.get(), subject_key.key) != 1) {
    return internal("setting public key");
  }

  ATTESTLAB_TRY(add_standard_extensions(cert.get(), spec, issuer));

  if (X509_sign(cert.get(), issuer_key.get(), *digest) <= 0) return internal("signing certificate");
  return owners == Owners::Single ? Certificate::unshared(std::move(cert))
                                  : Certificate(std::move(cert));
}

Result<void> check_issuer(const Certificate& issuer, const PrivateKey& issuer_key) {
  if (!issuer.valid() || X509_check_private_key(issuer.get(), issuer_key.get()) != 1) {
    ossl::last_error();
    return Error::make("serverInternal", "issuer key does not match issuer certificate");
  }
  return ok();
}

}  // namespace

Bytes new_serial(std::int64_t unix_millis) {
  Bytes serial{0x40};
  const Bytes body = time_ordered_bytes(unix_millis, 9);
  serial.insert(serial.end(), body.begin(), body.end());
  return serial;
}

Bytes new_serial() {
  return new_serial(system_millis());
}

Result<Certificate> issue_certificate(const CertificateSpec& spec, const PublicKey& subject_key,
                                      const Certificate* issuer, const PrivateKey& issuer_key) {
  if (!subject_key.valid() || !issuer_key.valid())
    return Error::make("serverInternal", "issue_certificate: missing key");
  if (issuer == nullptr && !issuer_key.public_key().equals(subject_key))
    return Error::make("serverInternal", "self-signed certificate: key pair mismatch");
  if (issuer != nullptr) ATTESTLAB_TRY(check_issuer(*issuer, issuer_key));
  return build_and_sign(spec, SubjectKey{subject_key.get(), nullptr}, issuer, issuer_key,
                        Owners::Shared);
}

Result<Certificate> issue_certificate(const CertificateSpec& spec, const Csr& subject_csr,
                                      const Certificate& issuer, const PrivateKey& issuer_key) {
  if (subject_csr.get() == nullptr || !issuer_key.valid())
    return Error::make("serverInternal", "issue_certificate: missing key");
  ATTESTLAB_TRY(check_issuer(issuer, issuer_key));
  return build_and_sign(spec, SubjectKey{nullptr, X509_REQ_get_X509_PUBKEY(subject_csr.get())},
                        &issuer, issuer_key, Owners::Single);
}

}  // namespace attestlab::pki

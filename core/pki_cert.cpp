// Certificate: parsing and inspection (issuance is in pki_issue.cpp).
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

// OpenSSL fills an X509's extension cache (key identifiers, flags, its SHA-1 fingerprint)
// lazily, on first use, and two threads verifying against one shared certificate (an
// attestation root) then race inside it (found by TSan:
// Validator.DecisionLogIsJsonLinesUnderConcurrency). It is filled while the object still
// has one owner: on construction, or for a certificate parsed by from_der_lean on the
// first copy. On a filled certificate this is a lock and a flag test.
void fill_extension_cache(X509* cert) {
  if (cert != nullptr) (void)X509_check_purpose(cert, -1, 0);
}

// Another owner of cert, which may go to another thread: filled first.
ossl::X509Ptr shared_ref(X509* cert) {
  if (cert == nullptr) return nullptr;
  fill_extension_cache(cert);
  X509_up_ref(cert);
  return ossl::X509Ptr(cert);
}

std::int64_t to_epoch(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

Certificate::Certificate(ossl::X509Ptr cert) : cert_(std::move(cert)) {
  fill_extension_cache(cert_.get());
}
Certificate::Certificate(const Certificate& other)
    : cert_(shared_ref(other.cert_.get())), key_(other.key_), lean_(other.lean_) {}
Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) {
    cert_ = shared_ref(other.cert_.get());
    key_ = other.key_;
    lean_ = other.lean_;
  }
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

Result<Certificate> Certificate::from_der_lean(const Bytes& der) {
  OSSL_LIB_CTX* undecoding = detail::undecoding_context();
  if (undecoding == nullptr) return Error::make("serverInternal", "no OpenSSL null provider");
  const unsigned char* p = der.data();
  ossl::X509Ptr parsed(reinterpret_cast<X509*>(ASN1_item_d2i_ex(
      nullptr, &p, static_cast<long>(der.size()), ASN1_ITEM_rptr(X509), undecoding, nullptr)));
  if (!parsed || p != der.data() + der.size()) {
    ossl::last_error();
    return Error::make("malformed", "invalid DER certificate");
  }
  Certificate cert(std::move(parsed));
  // The extension cache's SHA-1 fingerprint cannot be fetched in that context (the cache
  // records that, and fingerprint_sha256 does not use it); its error is not this caller's.
  ossl::last_error();
  // An undecodable or unsupported key leaves the key empty, as d2i_X509 does.
  auto key = PublicKey::from_spki_der(cert.spki_der());
  ossl::last_error();
  if (key.ok()) cert.key_ = std::move(*key);
  cert.lean_ = true;
  return cert;
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
  return detail::i2d_bytes(i2d_X509, cert_.get());
}

Bytes Certificate::spki_der() const {
  if (!cert_) return {};
  return detail::i2d_bytes(i2d_X509_PUBKEY, X509_get_X509_PUBKEY(cert_.get()));
}

std::string Certificate::to_pem() const {
  if (!cert_) return {};
  // The DER armoured here: PEM_write_bio_X509 writes the same text through a BIO in 48-byte
  // pieces, at several times the cost (a leaf is stored and served as PEM at every issuance).
  const Bytes der = to_der();
  return der.empty() ? std::string() : pem_encode("CERTIFICATE", der);
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
  if (lean_) return key_;
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
  if (lean_) {
    auto full = from_der(to_der());
    return full.ok() && full->signed_by(issuer_key);
  }
  const bool good = X509_verify(cert_.get(), issuer_key.get()) == 1;
  ossl::last_error();
  return good;
}

}  // namespace attestlab::pki

// Certificate signing requests (PKCS#10): parsing, inspection and building.
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>

#include "core/pki_internal.h"

namespace attestlab::pki {
namespace {

struct ExtensionStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
using ExtensionStack = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackFree>;

Error bad_csr(const std::string& detail) {
  ossl::last_error();
  return Error::make("badCSR", detail);
}

Result<void> push_extension(STACK_OF(X509_EXTENSION) * exts, const std::string& oid,
                            const Bytes& value, bool critical) {
  auto ext = detail::make_extension(oid, value, critical);
  if (!ext.ok()) return ext.error();
  if (sk_X509_EXTENSION_push(exts, ext->get()) <= 0)
    return Error::make("serverInternal", "building CSR extensions");
  ext->release();  // now owned by the stack
  return ok();
}

// Puts `key` in the request as its SubjectPublicKeyInfo. A named-curve EC key is written from
// its point: X509_REQ_set_pubkey encodes the key through a provider encoder built per call
// (OpenSSL 3.0), a third of what a load generator spends on a CSR. The request's own key is
// then left undecoded, as Csr::from_der leaves it; the Csr carries `key` beside it.
bool set_public_key(X509_REQ* req, const PublicKey& key) {
  auto named = detail::named_ec_point(key.get());
  const int curve = !named               ? NID_undef
                    : named->bits == 256 ? NID_X9_62_prime256v1
                    : named->bits == 384 ? NID_secp384r1
                    : named->bits == 521 ? NID_secp521r1
                                         : NID_undef;
  if (curve == NID_undef) return X509_REQ_set_pubkey(req, key.get()) == 1;
  auto* bits =
      static_cast<unsigned char*>(OPENSSL_memdup(named->point.data(), named->point.size()));
  if (bits == nullptr) return false;
  if (X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                             V_ASN1_OBJECT, OBJ_nid2obj(curve), bits,
                             static_cast<int>(named->point.size())) != 1) {
    OPENSSL_free(bits);
    return false;
  }
  return true;
}

PublicKey key_of(X509_REQ* req) {
  PublicKey key;
  if (EVP_PKEY* decoded = X509_REQ_get0_pubkey(req)) {
    EVP_PKEY_up_ref(decoded);
    key = PublicKey(ossl::PKey(decoded));
  }
  ossl::last_error();
  return key;
}

}  // namespace

Csr::Csr(ossl::ReqPtr req) : req_(std::move(req)) {
  if (req_) key_ = key_of(req_.get());
}

Csr::Csr(ossl::ReqPtr req, PublicKey key) : req_(std::move(req)), key_(std::move(key)) {}

Result<Csr> Csr::from_der(const Bytes& der) {
  OSSL_LIB_CTX* undecoding = detail::undecoding_context();
  if (undecoding == nullptr) return Error::make("serverInternal", "no OpenSSL null provider");
  const unsigned char* p = der.data();
  ossl::ReqPtr req(reinterpret_cast<X509_REQ*>(
      ASN1_item_d2i_ex(nullptr, &p, static_cast<long>(der.size()), ASN1_ITEM_rptr(X509_REQ),
                       undecoding, nullptr)));
  if (!req) return bad_csr("CSR is not valid DER PKCS#10");
  if (p != der.data() + der.size()) return bad_csr("trailing data after CSR");
  // Undecodable or unsupported keys leave the key empty, as d2i_X509_REQ does: the CSR
  // parses and the caller's key checks refuse it.
  const Bytes spki = detail::i2d_bytes(i2d_X509_PUBKEY, X509_REQ_get_X509_PUBKEY(req.get()));
  auto key = PublicKey::from_spki_der(spki);
  ossl::last_error();
  return Csr(std::move(req), key.ok() ? std::move(key).value() : PublicKey());
}

Result<Csr> Csr::from_pem(const std::string& pem) {
  auto bio = detail::read_bio(pem);
  ossl::ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return bad_csr("CSR is not valid PEM PKCS#10");
  return Csr(std::move(req));
}

Bytes Csr::to_der() const {
  return detail::i2d_bytes(i2d_X509_REQ, req_.get());
}

std::string Csr::to_pem() const {
  if (!req_) return {};
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req_.get()) != 1) return {};
  return detail::bio_contents(bio.get());
}

bool Csr::verify_signature() const {
  if (!req_ || !key_.valid()) return false;
  // ECDSA with SHA-2 is checked over the request's own bytes with the key the Csr carries
  // (for P-384 through Nettle, pki_p384.cpp); other algorithms are OpenSSL's.
  const X509_ALGOR* algorithm = nullptr;
  X509_REQ_get0_signature(req_.get(), nullptr, &algorithm);
  if (auto digest = detail::ecdsa_sha2_digest(X509_REQ_get_signature_nid(req_.get()), algorithm))
    return detail::signature_over_tbs_holds(to_der(), *digest, key_);
  // The default library context, not the CSR's (from_der parsed it in one without providers).
  const bool good = X509_REQ_verify_ex(req_.get(), key_.get(), nullptr, nullptr) == 1;
  ossl::last_error();
  return good;
}

PublicKey Csr::public_key() const {
  return key_;
}

DistinguishedName Csr::subject() const {
  return req_ ? detail::read_name(X509_REQ_get_subject_name(req_.get())) : DistinguishedName{};
}

// The most specific (last) CN, as Go's crypto/x509 reads it.
std::optional<std::string> Csr::common_name() const {
  std::optional<std::string> cn;
  for (auto& [field, value] : subject())
    if (field == "CN") cn = value;
  return cn;
}

Result<SubjectAltNames> Csr::subject_alt_names() const {
  if (!req_) return bad_csr("empty CSR");
  // NULL means the extensionRequest attribute exists but does not decode.
  ExtensionStack exts(X509_REQ_get_extensions(req_.get()));
  if (!exts) return bad_csr("undecodable extensionRequest attribute");
  const int index = X509v3_get_ext_by_NID(exts.get(), NID_subject_alt_name, -1);
  if (index < 0) return SubjectAltNames{};
  if (X509v3_get_ext_by_NID(exts.get(), NID_subject_alt_name, index) >= 0)
    return bad_csr("more than one subjectAltName extension");
  X509_EXTENSION* ext = X509v3_get_ext(exts.get(), index);
  auto names = detail::decode_general_names(detail::asn1_bytes(X509_EXTENSION_get_data(ext)));
  if (!names.ok()) return bad_csr("undecodable subjectAltName: " + names.error().detail);
  return names;
}

std::string Csr::signature_algorithm() const {
  if (!req_) return {};
  const ASN1_BIT_STRING* sig = nullptr;
  const X509_ALGOR* alg = nullptr;
  X509_REQ_get0_signature(req_.get(), &sig, &alg);
  if (alg == nullptr) return {};
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  const int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) return OBJ_nid2ln(nid);
  char buf[128];
  const int len = OBJ_obj2txt(buf, sizeof buf, obj, 1);
  return len > 0 ? std::string(buf, std::min<std::size_t>(len, sizeof buf - 1)) : std::string();
}

std::string Csr::public_key_algorithm() const {
  if (!req_) return {};
  ASN1_OBJECT* algorithm = nullptr;
  if (X509_PUBKEY_get0_param(&algorithm, nullptr, nullptr, nullptr,
                             X509_REQ_get_X509_PUBKEY(req_.get())) != 1)
    return {};
  return detail::oid_text(algorithm);
}

Bytes Csr::spki_der() const {
  if (!req_) return {};
  return detail::i2d_bytes(i2d_X509_PUBKEY, X509_REQ_get_X509_PUBKEY(req_.get()));
}

Result<Csr> build_csr(const CsrSpec& spec, const PrivateKey& key) {
  if (!key.valid()) return Error::make("serverInternal", "build_csr: missing key");
  ossl::ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1)
    return Error::make("serverInternal", "allocating CSR: " + ossl::last_error());
  auto subject = detail::build_name(spec.subject);
  if (!subject.ok()) return subject.error();
  const PublicKey pub = key.public_key();
  if (!pub.valid() || X509_REQ_set_subject_name(req.get(), subject->get()) != 1 ||
      !set_public_key(req.get(), pub))
    return Error::make("serverInternal", "filling CSR: " + ossl::last_error());

  ExtensionStack exts(sk_X509_EXTENSION_new_null());
  if (!exts) return Error::make("serverInternal", "allocating CSR extensions");
  if (!spec.sans.empty()) {
    auto names = detail::encode_general_names(spec.sans);
    if (!names.ok()) return names.error();
    ATTESTLAB_TRY(push_extension(exts.get(), "2.5.29.17", *names, spec.subject.empty()));
  }
  if (spec.key_usage_digital_signature || spec.key_usage_key_encipherment)
    ATTESTLAB_TRY(push_extension(exts.get(), "2.5.29.15",
                                 detail::key_usage_value(spec.key_usage_digital_signature,
                                                         spec.key_usage_key_encipherment, false),
                                 true));
  if (!spec.extended_key_usages.empty()) {
    auto eku = detail::extended_key_usage_value(spec.extended_key_usages);
    if (!eku.ok()) return eku.error();
    ATTESTLAB_TRY(push_extension(exts.get(), "2.5.29.37", *eku, false));
  }
  if (sk_X509_EXTENSION_num(exts.get()) > 0 && X509_REQ_add_extensions(req.get(), exts.get()) != 1)
    return Error::make("serverInternal", "adding CSR extensions: " + ossl::last_error());

  if (X509_REQ_sign(req.get(), key.get(), detail::evp_digest(detail::signing_digest(key))) <= 0)
    return Error::make("serverInternal", "signing CSR: " + ossl::last_error());
  return Csr(std::move(req), pub);
}

}  // namespace attestlab::pki

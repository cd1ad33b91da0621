// Small OpenSSL glue shared by the certificate and CSR code (see pki_internal.h).
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/provider.h>

#include "core/der.h"
#include "core/pki_internal.h"

namespace attestlab::pki::detail {

// Parsing a CSR or a certificate in this context leaves its SubjectPublicKeyInfo undecoded
// (OpenSSL 3.0 otherwise decodes it during d2i through a provider decoder context built for
// every key, a fifth of a finalize request's CPU); the key is then built by
// PublicKey::from_spki_der from the received bytes. Never freed.
OSSL_LIB_CTX* undecoding_context() {
  static OSSL_LIB_CTX* const ctx = [] {
    OSSL_LIB_CTX* made = OSSL_LIB_CTX_new();
    if (made != nullptr && OSSL_PROVIDER_load(made, "null") == nullptr) {
      OSSL_LIB_CTX_free(made);
      made = nullptr;
    }
    return made;
  }();
  return ctx;
}

ossl::BioPtr read_bio(const std::string& data) {
  return ossl::BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(len));
}

Digest signing_digest(const PrivateKey& key) {
  const KeySpec spec = key.spec();
  if (spec.kind == KeyKind::Ed25519) return Digest::None;
  if (spec.kind == KeyKind::EC && spec.bits > 256) return Digest::SHA384;
  return Digest::SHA256;
}

const EVP_MD* evp_digest(Digest d) {
  switch (d) {
    case Digest::SHA256:
      return EVP_sha256();
    case Digest::SHA384:
      return EVP_sha384();
    case Digest::SHA512:
      return EVP_sha512();
    case Digest::None:
      break;
  }
  return nullptr;
}

Result<void> add_name_entries(X509_NAME* name, const DistinguishedName& dn) {
  for (const auto& [field, value] : dn) {
    if (X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      ossl::last_error();
      return Error::make("malformed", "invalid distinguished name attribute " + field);
    }
  }
  return ok();
}

Result<ossl::X509NamePtr> build_name(const DistinguishedName& dn) {
  ossl::X509NamePtr name(X509_NAME_new());
  if (!name) return Error::make("serverInternal", "allocating X509_NAME");
  ATTESTLAB_TRY(add_name_entries(name.get(), dn));
  return name;
}

DistinguishedName read_name(const X509_NAME* name) {
  DistinguishedName dn;
  if (name == nullptr) return dn;
  const int count = X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
    std::string field;
    const int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) {
      field = OBJ_nid2sn(nid);
    } else {
      char buf[128];
      const int len = OBJ_obj2txt(buf, sizeof buf, obj, 1);
      if (len > 0) field.assign(buf, std::min<std::size_t>(len, sizeof buf - 1));
    }
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    std::string value;
    if (len >= 0 && utf8 != nullptr) value.assign(reinterpret_cast<char*>(utf8), len);
    OPENSSL_free(utf8);
    dn.emplace_back(std::move(field), std::move(value));
  }
  return dn;
}

std::string oid_text(const ASN1_OBJECT* obj) {
  if (obj == nullptr) return {};
  const int len = OBJ_obj2txt(nullptr, 0, obj, 1);
  if (len <= 0) return {};
  std::string text(static_cast<std::size_t>(len) + 1, '\0');
  if (OBJ_obj2txt(text.data(), len + 1, obj, 1) != len) return {};
  text.resize(static_cast<std::size_t>(len));
  return text;
}

namespace {

// create_by_OBJ copies both the object and the data.
Result<ossl::ExtPtr> extension_of(const ASN1_OBJECT* obj, const Bytes& value, bool critical) {
  ossl::Asn1StringPtr data(ASN1_OCTET_STRING_new());
  if (!data || ASN1_OCTET_STRING_set(data.get(), value.data(), static_cast<int>(value.size())) != 1)
    return Error::make("serverInternal", "building extension: " + ossl::last_error());
  ossl::ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj, critical ? 1 : 0, data.get()));
  if (!ext) return Error::make("serverInternal", "building extension: " + ossl::last_error());
  return ext;
}

}  // namespace

Result<ossl::ExtPtr> make_extension(const std::string& oid, const Bytes& value, bool critical) {
  ossl::AsnObjPtr obj(OBJ_txt2obj(oid.c_str(), 1));
  if (!obj) {
    ossl::last_error();
    return Error::make("malformed", "invalid extension OID " + oid);
  }
  return extension_of(obj.get(), value, critical);
}

Bytes asn1_bytes(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  const unsigned char* p = ASN1_STRING_get0_data(s);
  const int len = ASN1_STRING_length(s);
  if (p == nullptr || len <= 0) return {};
  return Bytes(p, p + len);
}

std::optional<Digest> ecdsa_sha2_digest(int nid, const X509_ALGOR* alg) {
  Digest digest = Digest::None;
  switch (nid) {
    case NID_ecdsa_with_SHA256:
      digest = Digest::SHA256;
      break;
    case NID_ecdsa_with_SHA384:
      digest = Digest::SHA384;
      break;
    case NID_ecdsa_with_SHA512:
      digest = Digest::SHA512;
      break;
    default:
      return std::nullopt;
  }
  int param_type = V_ASN1_UNDEF;
  X509_ALGOR_get0(nullptr, &param_type, nullptr, alg);
  if (param_type != V_ASN1_UNDEF) return std::nullopt;
  return digest;
}

bool signature_over_tbs_holds(const Bytes& der, Digest digest, const PublicKey& key) {
  der::Reader top(der);
  auto signed_object = top.next(der::kSequence);
  if (!signed_object.ok() || !top.done()) return false;
  der::Reader parts(signed_object->content);
  auto tbs = parts.next(der::kSequence);
  if (!tbs.ok()) return false;
  const std::size_t tbs_size = static_cast<std::size_t>(tbs->content.data() + tbs->content.size() -
                                                        signed_object->content.data());
  const Bytes tbs_der(signed_object->content.data(), signed_object->content.data() + tbs_size);
  if (!parts.next(der::kSequence).ok()) return false;
  auto bits = parts.next(der::kBitString);
  if (!bits.ok() || !parts.done() || bits->content.empty() || bits->content[0] != 0) return false;
  const Bytes value(bits->content.begin() + 1, bits->content.end());
  return key.verify(tbs_der, value, digest);
}

}  // namespace attestlab::pki::detail

#include "sim/device/forgery.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <utility>

namespace attestlab::sim::forge {
namespace {

constexpr std::int64_t kDay = 24 * 3600;

// The subject of `cert`, attribute by attribute in order, so that a certificate issued
// with it carries an equal name (works for a CA loaded from disk with other names too).
pki::DistinguishedName subject_of(const pki::Certificate& cert) {
  pki::DistinguishedName out;
  const X509_NAME* name = X509_get_subject_name(cert.get());
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
    std::string type;
    const int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) {
      type = OBJ_nid2sn(nid);
    } else {
      char buf[128];
      OBJ_obj2txt(buf, sizeof buf, obj, 1);
      type = buf;
    }
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len < 0) continue;
    out.emplace_back(
        type, std::string(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len)));
    OPENSSL_free(utf8);
  }
  return out;
}

}  // namespace

Result<AppleCa> rogue_ca(const AppleCa& genuine, std::int64_t now) {
  return AppleCa::issue(
      {subject_of(genuine.root()), std::min(genuine.root().not_before(), now - kDay),
       genuine.root().not_after()},
      {subject_of(genuine.intermediate()),
       std::min(genuine.intermediate().not_before(), now - kDay),
       genuine.intermediate().not_after()});
}

LeafSpec expired(LeafSpec spec, std::int64_t now) {
  spec.not_before = now - 8 * kDay;
  spec.not_after = now - kDay;
  return spec;
}

LeafSpec not_yet_valid(LeafSpec spec, std::int64_t now) {
  spec.not_before = now + kDay;
  spec.not_after = now + 8 * kDay;
  return spec;
}

LeafSpec without_extension(LeafSpec spec, const std::string& oid) {
  std::erase_if(spec.extensions, [&](const pki::RawExtension& e) { return e.oid == oid; });
  return spec;
}

LeafSpec with_extension_value(LeafSpec spec, const std::string& oid, Bytes value) {
  for (auto& e : spec.extensions) {
    if (e.oid == oid) {
      e.value = std::move(value);
      return spec;
    }
  }
  spec.extensions.push_back(pki::RawExtension{oid, std::move(value), false});
  return spec;
}

LeafSpec with_critical_extension(LeafSpec spec, const std::string& oid) {
  for (auto& e : spec.extensions) {
    if (e.oid == oid) e.critical = true;
  }
  return spec;
}

LeafSpec for_other_key(LeafSpec spec, pki::PublicKey other) {
  spec.key = std::move(other);
  spec.common_name.clear();  // the name follows the certified key, as in an honest leaf
  return spec;
}

Result<LeafSpec> for_fresh_key(LeafSpec spec) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p384());
  if (!key) return key.error();
  return for_other_key(std::move(spec), key->public_key());
}

}  // namespace attestlab::sim::forge

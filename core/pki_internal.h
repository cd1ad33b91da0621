// Helpers shared by the pki_*.cpp files; not part of the public contract.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <optional>
#include <string>

#include "core/pki.h"

namespace attestlab::pki::detail {

inline constexpr const char* kOidNtPrincipalName = "1.3.6.1.4.1.311.20.2.3";

// A read-only memory BIO over `data` (which must outlive it).
ossl::BioPtr read_bio(const std::string& data);
// Everything written to a memory BIO.
std::string bio_contents(BIO* bio);

// The digest attestlab signs certificates and CSRs with for this key: SHA-384 for
// P-384/P-521, none for Ed25519, SHA-256 otherwise.
Digest signing_digest(const PrivateKey& key);

// OpenSSL's digest for d; nullptr for Digest::None.
const EVP_MD* evp_digest(Digest d);

// "serverInternal" with `what` and the reason OpenSSL queued (which it clears).
inline Error internal(const std::string& what) {
  return Error::make("serverInternal", what + ": " + ossl::last_error());
}

bool is_ed25519(EVP_PKEY* key);
bool is_rsa(EVP_PKEY* key);  // PKCS#1 or RSA-PSS

// "malformed" for unknown attribute names or values OpenSSL refuses (e.g. C of length 3).
Result<ossl::X509NamePtr> build_name(const DistinguishedName& dn);
// Appends dn's attributes to name (same errors); on error name may hold some of them.
Result<void> add_name_entries(X509_NAME* name, const DistinguishedName& dn);
DistinguishedName read_name(const X509_NAME* name);

// The dotted form of an OID, whatever its length ("" for nullptr).
std::string oid_text(const ASN1_OBJECT* obj);

// An extension whose extnValue OCTET STRING contains exactly `value`.
Result<ossl::ExtPtr> make_extension(const std::string& oid, const Bytes& value, bool critical);

// GeneralNames (RFC 5280 §4.2.1.6) DER, to and from attestlab's SubjectAltNames.
// Encoding errors (bad IP text, bad OID) and decoding errors are Error("malformed").
Result<Bytes> encode_general_names(const SubjectAltNames& sans);
Result<SubjectAltNames> decode_general_names(const Bytes& der);

// Extension values built with der.h.
Bytes key_usage_value(bool digital_signature, bool key_encipherment, bool cert_sign);
Result<Bytes> extended_key_usage_value(const std::vector<std::string>& oids);

// A library context with only OpenSSL's "null" provider: what is parsed in it keeps its
// public key undecoded (OpenSSL 3.0 builds a provider decoder context per key otherwise),
// and nothing can be verified or digested through it. nullptr if it cannot be made.
OSSL_LIB_CTX* undecoding_context();

// The DER encoding of object through its OpenSSL i2d function; empty when encoding fails.
template <class T>
Bytes i2d_bytes(int (*i2d)(const T*, unsigned char**), const T* object) {
  if (object == nullptr) return {};
  unsigned char* out = nullptr;
  const int len = i2d(object, &out);
  const ossl::BufPtr owned(out);
  if (len <= 0 || out == nullptr) return {};
  return Bytes(out, out + len);
}

// Bytes of an ASN1_STRING (OCTET STRING, BIT STRING data, ...).
Bytes asn1_bytes(const ASN1_STRING* s);

// An EC key on P-256, P-384 or P-521 whose public point OpenSSL encodes uncompressed: the
// curve's size and that SEC1 point (0x04 || x || y), read as a provider parameter (no
// encoder). nullopt for every other key, and for a key kept in compressed form.
struct NamedEcPoint {
  int bits = 0;
  Bytes point;
};
std::optional<NamedEcPoint> named_ec_point(EVP_PKEY* key);

// The digest of an ECDSA-with-SHA-2 signature algorithm (`nid`, `alg` its AlgorithmIdentifier)
// without parameters; nullopt for every other algorithm, which callers leave to OpenSSL.
std::optional<Digest> ecdsa_sha2_digest(int nid, const X509_ALGOR* alg);
// Whether the signature of a signed DER object (a Certificate or a CertificationRequest:
// SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING }) holds over its first element
// for key, as OpenSSL's X509_verify / X509_REQ_verify decide it: the tbs bytes as received, a
// BIT STRING with no unused bits. False for DER of another shape.
bool signature_over_tbs_holds(const Bytes& der, Digest digest, const PublicKey& key);

// An ECDSA signature (DER) over data by a P-384 key, checked with Nettle's P-384 arithmetic
// (pki_p384.h): the same verdict as EVP_DigestVerify, at about half the cost under OpenSSL
// 3.0. nullopt when the key is not a named P-384 key whose point Nettle takes, or digest is
// None: OpenSSL decides those.
std::optional<bool> p384_ecdsa_verify(EVP_PKEY* key, const Bytes& data, const Bytes& signature,
                                      Digest digest);

}  // namespace attestlab::pki::detail

// Keys, certificates and CSRs on top of OpenSSL 3. Value types own their OpenSSL
// objects (see ossl.h); copies share nothing mutable (copying up-refs the object).
// All functions are thread-safe on distinct objects; const methods on one object may be
// called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ossl.h"
#include "core/result.h"

namespace attestlab::pki {

enum class KeyKind { EC, RSA, Ed25519 };

// A key algorithm and size: EC curves by bits (256, 384, 521), RSA by modulus bits.
struct KeySpec {
  KeyKind kind = KeyKind::EC;
  int bits = 256;

  static KeySpec p256() { return {KeyKind::EC, 256}; }
  static KeySpec p384() { return {KeyKind::EC, 384}; }
  static KeySpec p521() { return {KeyKind::EC, 521}; }
  static KeySpec rsa(int bits = 2048) { return {KeyKind::RSA, bits}; }
  static KeySpec ed25519() { return {KeyKind::Ed25519, 256}; }
  std::string name() const;  // "P-256", "RSA-2048", "Ed25519"
  bool operator==(const KeySpec&) const = default;
};

// Digest used for a signature. None is for Ed25519 (pure EdDSA).
enum class Digest { None, SHA256, SHA384, SHA512 };

namespace detail {
// Signature contexts made for one key (verification or signing) and kept for its next
// operations: at most kKept; more made at once by concurrent callers are freed when given
// back. Thread-safe. Not copyable: the contexts belong to the key they were made for.
class KeptContexts {
 public:
  KeptContexts() = default;
  KeptContexts(const KeptContexts&) = delete;
  KeptContexts& operator=(const KeptContexts&) = delete;
  ~KeptContexts() { clear(); }

  // A kept context, else a new one for `key` set up by `init` (EVP_PKEY_verify_init or
  // EVP_PKEY_sign_init); null if that fails.
  EVP_PKEY_CTX* take(EVP_PKEY* key, int (*init)(EVP_PKEY_CTX*));
  void give(EVP_PKEY_CTX* ctx);  // keeps it, or frees it when kKept are kept already
  void clear();                  // frees every kept context (the key is being replaced)

 private:
  static constexpr int kKept = 4;
  std::mutex mutex_;
  EVP_PKEY_CTX* kept_[kKept] = {};
  int count_ = 0;
};
}  // namespace detail

class PublicKey {
 public:
  PublicKey() = default;
  explicit PublicKey(ossl::PKey key);
  PublicKey(const PublicKey& other);
  PublicKey& operator=(const PublicKey& other);
  PublicKey(PublicKey&& other) noexcept;
  PublicKey& operator=(PublicKey&& other) noexcept;

  static Result<PublicKey> from_spki_der(const Bytes& der);
  static Result<PublicKey> from_pem(const std::string& pem);
  Bytes spki_der() const;  // SubjectPublicKeyInfo DER
  std::string to_pem() const;

  KeySpec spec() const;
  bool valid() const { return key_ != nullptr; }
  // Same algorithm and same key material.
  bool equals(const PublicKey& other) const;

  // Verifies a DER/ASN.1 signature (ECDSA DER, RSA PKCS#1 v1.5, or Ed25519 raw).
  // pss selects RSA-PSS (salt length = digest length) instead of PKCS#1 v1.5.
  bool verify(const Bytes& data, const Bytes& signature, Digest digest, bool pss = false) const;

  // EC only: the affine coordinates, each padded to the curve's byte length.
  Result<std::pair<Bytes, Bytes>> ec_xy() const;
  // RSA only: modulus and public exponent, big-endian without leading zeros.
  Result<std::pair<Bytes, Bytes>> rsa_ne() const;
  // Ed25519 only: the 32 raw public bytes.
  Result<Bytes> raw_public() const;

  // Builders used by JWK parsing. EC: bits 256/384/521; x,y padded big-endian.
  static Result<PublicKey> from_ec_xy(int bits, const Bytes& x, const Bytes& y);
  static Result<PublicKey> from_rsa_ne(const Bytes& n, const Bytes& e);
  static Result<PublicKey> from_ed25519(const Bytes& raw);

  EVP_PKEY* get() const { return key_.get(); }

 private:
  ossl::PKey key_;
  // spec() once read (OpenSSL answers it through provider parameters, ~2 us each time, and
  // every signed request asks); kUnknownSpec until then. The key never changes.
  static constexpr std::int32_t kUnknownSpec = -1;
  mutable std::atomic<std::int32_t> spec_{kUnknownSpec};
  // ECDSA verification contexts for this key (verify): EVP_DigestVerifyInit makes a context
  // per call (method fetches and the provider's signature context: ~4 us of a 76 us P-256
  // verify on a warm core, ~20 % of the verify on a cold one); an account key's next
  // request reuses one. A copy starts without any.
  mutable detail::KeptContexts verify_contexts_;
};

class PrivateKey {
 public:
  PrivateKey() = default;
  explicit PrivateKey(ossl::PKey key);
  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;

  static Result<PrivateKey> generate(KeySpec spec);
  static Result<PrivateKey> from_pem(const std::string& pem);  // PKCS#8 or traditional
  std::string to_pem() const;                                  // PKCS#8, unencrypted

  PublicKey public_key() const;
  KeySpec spec() const;
  bool valid() const { return key_ != nullptr; }

  // Signs data; ECDSA signatures are DER encoded. See PublicKey::verify for pss.
  Result<Bytes> sign(const Bytes& data, Digest digest, bool pss = false) const;

  EVP_PKEY* get() const { return key_.get(); }

 private:
  ossl::PKey key_;
  // Read once: the key never changes, and reading an EC key's curve asks its provider for
  // the group name (~2 us, twice in each certificate issued).
  KeySpec spec_;
  // ECDSA signing contexts for this key, as PublicKey keeps its verification contexts (a
  // context per call costs ~3 us of a 27 us P-256 signature). A copy starts without any.
  mutable detail::KeptContexts sign_contexts_;
};

// ECDSA signature conversion between DER and JOSE's fixed-length r||s.
Result<Bytes> ecdsa_der_to_raw(const Bytes& der, std::size_t coord_len);
Result<Bytes> ecdsa_raw_to_der(const Bytes& raw);

// OtherName SANs of the device-attest draft.
inline constexpr const char* kOidPermanentIdentifier = "1.3.6.1.5.5.7.8.3";  // RFC 4043
inline constexpr const char* kOidHardwareModuleName = "1.3.6.1.5.5.7.8.4";   // RFC 4108

struct PermanentIdentifier {
  std::string value;                    // identifierValue (UTF8String), may be empty
  std::optional<std::string> assigner;  // OID in dotted form
  bool operator==(const PermanentIdentifier&) const = default;
};

struct HardwareModuleName {
  std::string hw_type;  // OID in dotted form
  Bytes serial;         // hwSerialNum OCTET STRING
  bool operator==(const HardwareModuleName&) const = default;
};

// Subject alternative names as attestlab reads and writes them.
struct SubjectAltNames {
  std::vector<std::string> dns;
  std::vector<std::string> ip;     // textual: "127.0.0.1", "::1" (canonical form)
  std::vector<std::string> email;  // rfc822Name
  std::vector<std::string> uri;
  std::vector<std::string> upn;  // ntPrincipalName otherName (1.3.6.1.4.1.311.20.2.3)
  std::vector<PermanentIdentifier> permanent_ids;
  std::vector<HardwareModuleName> hardware_modules;
  bool empty() const;
};

// A non-standard extension carried verbatim: `value` is the content of the extension's
// extnValue OCTET STRING (the "raw value bytes" Apple uses for its OIDs).
struct RawExtension {
  std::string oid;
  Bytes value;
  bool critical = false;
};

// A relative distinguished name list, e.g. {{"CN","device"},{"O","Example"}}.
using DistinguishedName = std::vector<std::pair<std::string, std::string>>;

class Certificate {
 public:
  Certificate() = default;
  explicit Certificate(ossl::X509Ptr cert);
  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;

  static Result<Certificate> from_der(const Bytes& der);
  // The same certificate with its public key decoded by this library from the
  // SubjectPublicKeyInfo (named-curve EC keys; other kinds as PublicKey::from_spki_der),
  // not by OpenSSL 3.0's d2i_X509, which builds a provider decoder context for every
  // certificate (~0.2 ms, most of a P-384 leaf's parse). Every accessor answers as for
  // from_der, and verify_chain parses it again; get() is an X509 whose key OpenSSL has not
  // decoded (X509_get0_pubkey is null, X509_verify fails), so hand it to OpenSSL only for
  // reading fields. For a leaf checked with verify_issued_by.
  static Result<Certificate> from_der_lean(const Bytes& der);
  static Result<Certificate> from_pem(const std::string& pem);
  // Every certificate in a PEM bundle, in order. An empty bundle is an error.
  static Result<std::vector<Certificate>> bundle_from_pem(const std::string& pem);
  Bytes to_der() const;
  std::string to_pem() const;
  // The SubjectPublicKeyInfo DER as the certificate carries it (no key re-encoding).
  Bytes spki_der() const;

  std::string subject() const;  // one-line RFC 2253 form
  std::string issuer() const;
  std::string serial_hex() const;  // lowercase hex, no leading zeros
  std::int64_t not_before() const;
  std::int64_t not_after() const;
  PublicKey public_key() const;
  SubjectAltNames subject_alt_names() const;
  bool is_ca() const;
  std::vector<std::string> extended_key_usages() const;  // dotted OIDs
  // The content of the extnValue OCTET STRING of the extension with this OID.
  std::optional<Bytes> extension_value(const std::string& oid) const;
  // SHA-256 over the DER.
  Bytes fingerprint_sha256() const;
  // Signature check against an issuer key only (no chain building).
  bool signed_by(const PublicKey& issuer_key) const;

  X509* get() const { return cert_.get(); }
  bool valid() const { return cert_ != nullptr; }
  bool lean() const { return lean_; }  // from from_der_lean

 private:
  ossl::X509Ptr cert_;
  PublicKey key_;      // from_der_lean's decoding of the key
  bool lean_ = false;  // cert_ was parsed without OpenSSL's key decoding
};

// A new certificate serial: 16 bytes, 0x40 (positive, 16 significant bytes: RFC 5280
// §4.1.2.2), 48 bits of milliseconds since the epoch, big-endian, then 72 bits from the
// CSPRNG (the CA/Browser Forum's Baseline Requirements §7.1 ask for at least 64). Serials
// sort by issuance time, so a store's index of them grows at its right edge (the ids of
// stored objects do the same, core/bytes.h sortable_id).
Bytes new_serial(std::int64_t unix_millis);
Bytes new_serial();  // now

// What to put in a certificate. Serial: new_serial() when empty.
struct CertificateSpec {
  DistinguishedName subject;
  SubjectAltNames sans;
  Bytes serial;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  bool is_ca = false;
  int path_len = -1;  // -1: no pathLenConstraint
  bool key_usage_digital_signature = true;
  bool key_usage_key_encipherment = false;
  bool key_usage_cert_sign = false;              // set with is_ca
  std::vector<std::string> extended_key_usages;  // dotted OIDs, e.g. 1.3.6.1.5.5.7.3.1
  std::vector<RawExtension> extra_extensions;
  bool subject_key_id = true;
  bool authority_key_id = true;
  // Empty: chosen by the issuer key (see issue_certificate). When set it must suit the
  // issuer key (None exactly for Ed25519), else issuing is Error("malformed").
  std::optional<Digest> signature_digest;
};

// A certificate as issued: its DER and the fields a CA records for it, not parsed back into
// an X509 (Certificate::from_der(der) for anything else). For a leaf that goes straight
// out as PEM and into a store: parsing it again would cost about as much as issuing it.
struct IssuedCertificate {
  Bytes der;
  Bytes spki_der;          // the subject's SubjectPublicKeyInfo, as the certificate carries it
  std::string serial_hex;  // as Certificate::serial_hex writes it
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::string to_pem() const;
};

// Writes and signs a certificate for the key in subject_spki (a SubjectPublicKeyInfo,
// copied verbatim: its algorithm's parameters absent, NULL, an OID or a SEQUENCE and its
// key bits without unused bits, else Error("badCSR")). issuer == nullptr means self-signed
// (issuer_key must then be the subject's private key). Signature digest: SHA-384 for
// P-384/P-521 issuers, SHA-256 otherwise, none for Ed25519; issuers are EC, RSA
// (PKCS#1 v1.5) or Ed25519 keys. Error("malformed") for a spec OpenSSL would refuse too
// (an invalid name attribute, SAN, OID, or a time outside years 0-9999).
Result<IssuedCertificate> issue_certificate_der(const CertificateSpec& spec,
                                                const Bytes& subject_spki,
                                                const Certificate* issuer,
                                                const PrivateKey& issuer_key);

// issue_certificate_der for a key, parsed into a Certificate.
Result<Certificate> issue_certificate(const CertificateSpec& spec, const PublicKey& subject_key,
                                      const Certificate* issuer, const PrivateKey& issuer_key);

class Csr;
struct CsrSpec;
// The same for the key of a CSR, whose SubjectPublicKeyInfo is copied verbatim (OpenSSL 3
// would re-encode a decoded key through its provider encoders). The CSR's own signature is
// not checked here (the caller has done that).
Result<Certificate> issue_certificate(const CertificateSpec& spec, const Csr& subject_csr,
                                      const Certificate& issuer, const PrivateKey& issuer_key);

class Csr {
 public:
  Csr() = default;
  explicit Csr(ossl::ReqPtr req);
  Csr(Csr&&) noexcept = default;
  Csr& operator=(Csr&&) noexcept = default;

  // Parses DER; anything undecodable is Error("badCSR").
  static Result<Csr> from_der(const Bytes& der);
  static Result<Csr> from_pem(const std::string& pem);
  Bytes to_der() const;
  std::string to_pem() const;

  // The self-signature verifies with the CSR's own key.
  bool verify_signature() const;
  PublicKey public_key() const;
  DistinguishedName subject() const;
  std::optional<std::string> common_name() const;
  // SANs from the extensionRequest attribute (empty when absent). Error("badCSR") when
  // the extension is present but undecodable.
  Result<SubjectAltNames> subject_alt_names() const;
  // Signature algorithm short name, e.g. "ecdsa-with-SHA256", "sha1WithRSAEncryption".
  std::string signature_algorithm() const;
  // The SubjectPublicKeyInfo algorithm as a dotted OID, read without decoding the key, e.g.
  // "1.2.840.10045.2.1" (EC), "1.2.840.113549.1.1.1" (rsaEncryption); "" when unreadable.
  std::string public_key_algorithm() const;
  // The SubjectPublicKeyInfo DER as the CSR carries it (the received bits, not re-encoded
  // from a decoded key); empty when unreadable.
  Bytes spki_der() const;

  X509_REQ* get() const { return req_.get(); }
  // The CSR's key (no reference taken), nullptr when it did not decode. Use this, not
  // X509_REQ_get0_pubkey(get()): from_der leaves the X509_REQ's own key undecoded.
  EVP_PKEY* key() const { return key_.get(); }

 private:
  friend Result<Csr> build_csr(const CsrSpec& spec, const PrivateKey& key);
  Csr(ossl::ReqPtr req, PublicKey key);

  ossl::ReqPtr req_;
  PublicKey key_;
};

struct CsrSpec {
  DistinguishedName subject;
  SubjectAltNames sans;
  bool key_usage_digital_signature = false;  // request a KeyUsage extension when any set
  bool key_usage_key_encipherment = false;
  std::vector<std::string> extended_key_usages;
};

// Builds a CSR signed by key (SHA-256, or SHA-384 for P-384/P-521, pure for Ed25519).
Result<Csr> build_csr(const CsrSpec& spec, const PrivateKey& key);

// Which certificates may end a verified chain.
enum class Anchors {
  SelfSignedRoots,  // only a root (the default)
  // Any certificate given as a root, e.g. an intermediate the caller verified to a root
  // before (OpenSSL's partial chain); that root's own validity is then the caller's to check.
  AsGiven,
};

// Verifies leaf through intermediates to one of roots at time `at` (seconds since epoch;
// 0 = now). Only roots are trust anchors; intermediates are untrusted. Error type
// "badCertificate"-free: failures return Error("unauthorized", reason) where reason is
// OpenSSL's verify error string, e.g. "unable to get local issuer certificate".
Result<void> verify_chain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                          const std::vector<Certificate>& roots, std::int64_t at = 0,
                          Anchors anchors = Anchors::SelfSignedRoots);

// Whether `issuer` issued `leaf` and both are valid at `at` (seconds since epoch; 0 = now):
// what verify_chain(leaf, {}, {issuer}, at, Anchors::AsGiven) decides, with the same error
// strings for the same faults, without building an X509_STORE and a chain, and for a leaf
// from from_der_lean as for any other. Checked, in OpenSSL 3.0's order: the issuer's name,
// key identifier and signature algorithm, unhandled critical extensions of both, the issuer
// being a CA, its validity, its key usage (keyCertSign), the leaf's signature (ECDSA, the
// signature algorithm inside and outside the TBSCertificate identical) and the leaf's
// validity. Anything past
// that (name or policy constraints on the issuer, invalid extensions, proxy certificates,
// signatures other than ECDSA with SHA-2, an issuer from from_der_lean) goes to verify_chain
// itself. For a leaf under an intermediate remembered as verified to a root.
Result<void> verify_issued_by(const Certificate& leaf, const Certificate& issuer,
                              std::int64_t at = 0);

// Reads/writes a whole file. Errors: Error("serverInternal", "<path>: <strerror>").
Result<std::string> read_file(const std::string& path);
Result<void> write_file(const std::string& path, const std::string& data,
                        bool private_mode = false);

}  // namespace attestlab::pki

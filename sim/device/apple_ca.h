// A mock Apple Enterprise Attestation CA: a P-384 root and intermediate, clearly marked
// as mock in their names, that issue attestation leaves in the format of
// docs/APPLE_FORMAT.md. Chains from it verify against its own root only, never against
// Apple's real root.
//
// Thread-safety: an AppleCa is immutable after create()/load(); all const methods may be
// called concurrently. Copies share the (immutable) key objects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/pki.h"
#include "core/result.h"
#include "sim/device/apple_format.h"

namespace attestlab::sim {

inline constexpr const char* kMockRootCommonName = "Mock Apple Enterprise Attestation Root CA";
inline constexpr const char* kMockIntermediateCommonName =
    "Mock Apple Enterprise Attestation Sub CA 1";
inline constexpr const char* kMockOrganization = "Apple Inc. (MOCK \u2013 attestlab)";

// An attestation as Apple's servers return it: the leaf and the intermediate, DER.
struct AttestationChain {
  Bytes leaf_der;
  Bytes intermediate_der;

  // {leaf_der, intermediate_der}: the attStmt "x5c" order.
  std::vector<Bytes> x5c() const { return {leaf_der, intermediate_der}; }
  bool operator==(const AttestationChain&) const = default;
};

// Everything that goes into one leaf. AppleCa::honest_leaf() fills it the way Apple's
// servers would; forgery helpers (sim/device/forgery.h) change it before issue_leaf().
struct LeafSpec {
  pki::PublicKey key;                         // the attested key (what the leaf certifies)
  std::vector<pki::RawExtension> extensions;  // the Apple extensions, written verbatim
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::string common_name;  // empty: derived from the key (see APPLE_FORMAT.md)
};

class AppleCa {
 public:
  // Makes a new CA: fresh P-384 root and intermediate. The root is valid from 30 days
  // before `now` for 25 years, the intermediate from 30 days before `now` for 20 years.
  // Errors: Error("serverInternal") when OpenSSL fails.
  static Result<AppleCa> create(std::int64_t now);

  // One CA certificate's name and validity, for issue().
  struct CaCertificate {
    pki::DistinguishedName subject;
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
  };
  // Fresh P-384 keys, a self-signed root and an intermediate under it (pathLen 0), both for
  // certificate signing only: the profile of Apple's attestation CAs. create() and the
  // rogue CA of forgery.h differ only in names and validity.
  static Result<AppleCa> issue(const CaCertificate& root, const CaCertificate& intermediate);

  // Builds a CA from existing certificates and keys (used by load() and by
  // forgery helpers). Checks that each key matches its certificate and that the
  // intermediate is signed by the root; Error("serverInternal", reason) otherwise.
  static Result<AppleCa> from_parts(pki::Certificate root, pki::PrivateKey root_key,
                                    pki::Certificate intermediate,
                                    pki::PrivateKey intermediate_key);

  // Persists to / restores from a directory holding root.pem, root.key,
  // intermediate.pem and intermediate.key (keys PKCS#8 PEM, mode 0600). save() creates
  // the directory if needed and refuses, with Error("malformed", "<dir> already holds a
  // CA"), when any of the four files exists and overwrite is false. load() errors name
  // the file. I/O errors: Error("serverInternal", "<path>: <reason>").
  Result<void> save(const std::string& dir, bool overwrite = false) const;
  static Result<AppleCa> load(const std::string& dir);
  // True when dir holds any of the four files.
  static bool exists_in(const std::string& dir);

  const pki::Certificate& root() const { return root_; }
  const pki::Certificate& intermediate() const { return intermediate_; }

  // Issues an attestation for `key` carrying `facts` and, when given, the freshness code
  // (normally freshness_code(nonce)). notBefore = now, notAfter = now + 7 days.
  // Errors: Error("serverInternal") when the key is invalid or OpenSSL fails.
  Result<AttestationChain> issue_attestation(const pki::PublicKey& key, const DeviceFacts& facts,
                                             const std::optional<Bytes>& freshness,
                                             std::int64_t now) const;

  // The leaf issue_attestation() would make, before signing.
  static LeafSpec honest_leaf(const pki::PublicKey& key, const DeviceFacts& facts,
                              const std::optional<Bytes>& freshness, std::int64_t now);

  // Signs whatever the spec says, without judging it (forgeries go through here).
  Result<AttestationChain> issue_leaf(const LeafSpec& spec) const;

  // The private keys, for the forgery helpers that need to sign with this CA's identity
  // (rogue CAs copy names, never keys). Not for devices.
  const pki::PrivateKey& root_key() const { return root_key_; }
  const pki::PrivateKey& intermediate_key() const { return intermediate_key_; }

 private:
  AppleCa() = default;

  pki::Certificate root_;
  pki::PrivateKey root_key_;
  pki::Certificate intermediate_;
  pki::PrivateKey intermediate_key_;
};

}  // namespace attestlab::sim

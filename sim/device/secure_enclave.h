// Key storage of a simulated device.
//
// SecureEnclave holds hardware-bound EC keys (P-256, P-384): callers get an opaque
// KeyHandle and can only ask for the public key or a signature; no API returns or
// exports the private key. erase() (a device erase or restore) destroys every key, after
// which every handle issued before is invalid for good.
//
// SoftwareKeystore holds ordinary, extractable keys (RSA of any supported size, EC), the
// only place RSA keys can live: Apple devices make RSA ACME keys only without
// HardwareBound/Attest (PROTOCOL.md §4).
//
// Thread-safety: both keystores are internally synchronized; every method may be called
// concurrently. Both are movable and not copyable (a key exists in one place); a
// moved-from keystore may only be destroyed or assigned to.
#pragma once

#include <cstdint>
#include <memory>

#include "core/bytes.h"
#include "core/pki.h"
#include "core/result.h"

namespace attestlab::sim {

// Refers to one key in one keystore. Ids are never reused, so a handle from before an
// erase() can never reach a newer key. A default-constructed handle is invalid.
struct KeyHandle {
  std::uint64_t id = 0;
  bool valid() const { return id != 0; }
  bool operator==(const KeyHandle&) const = default;
};

class SecureEnclave {
 public:
  // present = false models hardware without a Secure Enclave (Intel Macs): every
  // generate_key() then fails.
  explicit SecureEnclave(bool present = true);
  ~SecureEnclave();
  SecureEnclave(SecureEnclave&&) noexcept;
  SecureEnclave& operator=(SecureEnclave&&) noexcept;
  SecureEnclave(const SecureEnclave&) = delete;
  SecureEnclave& operator=(const SecureEnclave&) = delete;

  bool present() const;

  // Generates a hardware-bound key. Only EC P-256 and P-384; anything else, or an absent
  // enclave, gives Error("badPublicKey", reason). OpenSSL failure: Error("serverInternal").
  Result<KeyHandle> generate_key(pki::KeySpec spec);

  // The public half. Error("serverInternal", "... no such key ...") for an unknown or
  // erased handle.
  Result<pki::PublicKey> public_key(KeyHandle handle) const;

  // ECDSA signature (DER) over data, hashed with SHA-256 for P-256 and SHA-384 for P-384
  // keys. Same errors as public_key().
  Result<Bytes> sign(KeyHandle handle, const Bytes& data) const;
  // Same, with an explicit digest.
  Result<Bytes> sign(KeyHandle handle, const Bytes& data, pki::Digest digest) const;

  // A CSR signed inside the enclave: the one signing operation whose input pki builds
  // itself (pki::build_csr needs the key object). The key still never leaves.
  Result<pki::Csr> sign_csr(KeyHandle handle, const pki::CsrSpec& spec) const;

  bool has_key(KeyHandle handle) const;
  std::size_t key_count() const;

  // Destroys every key (device erase / restore).
  void erase();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SoftwareKeystore {
 public:
  SoftwareKeystore();
  ~SoftwareKeystore();
  SoftwareKeystore(SoftwareKeystore&&) noexcept;
  SoftwareKeystore& operator=(SoftwareKeystore&&) noexcept;
  SoftwareKeystore(const SoftwareKeystore&) = delete;
  SoftwareKeystore& operator=(const SoftwareKeystore&) = delete;

  // Any key pki can make (RSA, EC, Ed25519). OpenSSL failure: Error("serverInternal").
  Result<KeyHandle> generate_key(pki::KeySpec spec);
  // Takes ownership of an existing key (e.g. one imported from a profile).
  KeyHandle import_key(pki::PrivateKey key);

  // As SecureEnclave; sign() defaults to SHA-256 (SHA-384 for P-384, none for Ed25519),
  // RSA PKCS#1 v1.5.
  Result<pki::PublicKey> public_key(KeyHandle handle) const;
  Result<Bytes> sign(KeyHandle handle, const Bytes& data) const;
  Result<Bytes> sign(KeyHandle handle, const Bytes& data, pki::Digest digest) const;
  Result<pki::Csr> sign_csr(KeyHandle handle, const pki::CsrSpec& spec) const;

  // These keys are extractable: a copy of the private key (KeyIsExtractable profiles,
  // and the "key extracted for use elsewhere" threat).
  Result<pki::PrivateKey> export_private_key(KeyHandle handle) const;

  bool has_key(KeyHandle handle) const;
  std::size_t key_count() const;
  void erase();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attestlab::sim

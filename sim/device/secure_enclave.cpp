#include "sim/device/secure_enclave.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace attestlab::sim {
namespace {

// Shared by every keystore in the process, so a handle can only ever name one key.
std::uint64_t next_key_id() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

pki::Digest default_digest(const pki::KeySpec& spec) {
  if (spec.kind == pki::KeyKind::Ed25519) return pki::Digest::None;
  if (spec.kind == pki::KeyKind::EC && spec.bits == 384) return pki::Digest::SHA384;
  if (spec.kind == pki::KeyKind::EC && spec.bits == 521) return pki::Digest::SHA512;
  return pki::Digest::SHA256;
}

Error no_such_key(const char* store, KeyHandle handle) {
  return Error::make("serverInternal", std::string(store) + ": no such key (handle " +
                                           std::to_string(handle.id) +
                                           "; erased, or from another keystore)");
}

// The key table both keystores share; callers hold `mutex`.
struct KeyTable {
  mutable std::mutex mutex;
  std::map<std::uint64_t, pki::PrivateKey> keys;

  const pki::PrivateKey* find(KeyHandle handle) const {
    auto it = keys.find(handle.id);
    return it == keys.end() ? nullptr : &it->second;
  }
  KeyHandle add(pki::PrivateKey key) {
    const KeyHandle handle{next_key_id()};
    keys.emplace(handle.id, std::move(key));
    return handle;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------
// SecureEnclave

struct SecureEnclave::Impl {
  bool present = true;
  KeyTable table;
};

SecureEnclave::SecureEnclave(bool present) : impl_(std::make_unique<Impl>()) {
  impl_->present = present;
}
SecureEnclave::~SecureEnclave() = default;
SecureEnclave::SecureEnclave(SecureEnclave&&) noexcept = default;
SecureEnclave& SecureEnclave::operator=(SecureEnclave&&) noexcept = default;

bool SecureEnclave::present() const {
  return impl_->present;
}

Result<KeyHandle> SecureEnclave::generate_key(pki::KeySpec spec) {
  if (!impl_->present) {
    return Error::make("badPublicKey", "no Secure Enclave on this device: no hardware-bound keys");
  }
  if (spec.kind != pki::KeyKind::EC || (spec.bits != 256 && spec.bits != 384)) {
    return Error::make("badPublicKey",
                       "the Secure Enclave makes only EC P-256 and P-384 keys, not " + spec.name());
  }
  auto key = pki::PrivateKey::generate(spec);
  if (!key) return key.error();
  std::lock_guard lock(impl_->table.mutex);
  return impl_->table.add(std::move(*key));
}

Result<pki::PublicKey> SecureEnclave::public_key(KeyHandle handle) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("Secure Enclave", handle);
  return key->public_key();
}

Result<Bytes> SecureEnclave::sign(KeyHandle handle, const Bytes& data) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("Secure Enclave", handle);
  return key->sign(data, default_digest(key->spec()));
}

Result<Bytes> SecureEnclave::sign(KeyHandle handle, const Bytes& data, pki::Digest digest) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("Secure Enclave", handle);
  return key->sign(data, digest);
}

Result<pki::Csr> SecureEnclave::sign_csr(KeyHandle handle, const pki::CsrSpec& spec) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("Secure Enclave", handle);
  return pki::build_csr(spec, *key);
}

bool SecureEnclave::has_key(KeyHandle handle) const {
  std::lock_guard lock(impl_->table.mutex);
  return impl_->table.find(handle) != nullptr;
}

std::size_t SecureEnclave::key_count() const {
  std::lock_guard lock(impl_->table.mutex);
  return impl_->table.keys.size();
}

void SecureEnclave::erase() {
  std::lock_guard lock(impl_->table.mutex);
  impl_->table.keys.clear();
}

// ---------------------------------------------------------------------------------------
// SoftwareKeystore

struct SoftwareKeystore::Impl {
  KeyTable table;
};

SoftwareKeystore::SoftwareKeystore() : impl_(std::make_unique<Impl>()) {}
SoftwareKeystore::~SoftwareKeystore() = default;
SoftwareKeystore::SoftwareKeystore(SoftwareKeystore&&) noexcept = default;
SoftwareKeystore& SoftwareKeystore::operator=(SoftwareKeystore&&) noexcept = default;

Result<KeyHandle> SoftwareKeystore::generate_key(pki::KeySpec spec) {
  auto key = pki::PrivateKey::generate(spec);
  if (!key) return key.error();
  std::lock_guard lock(impl_->table.mutex);
  return impl_->table.add(std::move(*key));
}

KeyHandle SoftwareKeystore::import_key(pki::PrivateKey key) {
  std::lock_guard lock(impl_->table.mutex);
  return impl_->table.add(std::move(key));
}

Result<pki::PublicKey> SoftwareKeystore::public_key(KeyHandle handle) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("software keystore", handle);
  return key->public_key();
}

Result<Bytes> SoftwareKeystore::sign(KeyHandle handle, const Bytes& data) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("software keystore", handle);
  return key->sign(data, default_digest(key->spec()));
}

Result<Bytes> SoftwareKeystore::sign(KeyHandle handle, const Bytes& data,
                                     pki::Digest digest) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("software keystore", handle);
  return key->sign(data, digest);
}

Result<pki::Csr> SoftwareKeystore::sign_csr(KeyHandle handle, const pki::CsrSpec& spec) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("software keystore", handle);
  return pki::build_csr(spec, *key);
}

Result<pki::PrivateKey> SoftwareKeystore::export_private_key(KeyHandle handle) const {
  std::lock_guard lock(impl_->table.mutex);
  const pki::PrivateKey* key = impl_->table.find(handle);
  if (key == nullptr) return no_such_key("software keystore", handle);
  // A PEM round trip makes an independent copy (PrivateKey's copy shares the object).
  return pki::PrivateKey::from_pem(key->to_pem());
}

bool SoftwareKeystore::has_key(KeyHandle handle) const {
  std::lock_guard lock(impl_->table.mutex);
  return impl_->table.find(handle) != nullptr;
}

std::size_t SoftwareKeystore::key_count() const {
  std::lock_guard lock(impl_->table.mutex);
  return impl_->table.keys.size();
}

void SoftwareKeystore::erase() {
  std::lock_guard lock(impl_->table.mutex);
  impl_->table.keys.clear();
}

}  // namespace attestlab::sim

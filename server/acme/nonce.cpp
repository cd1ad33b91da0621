#include "server/acme/nonce.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdlib>

#include "core/ossl.h"

namespace attestlab::server {

namespace {

constexpr const char* kKeySetting = "nonce_hmac_key";
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kTimeBytes = 6;
constexpr std::size_t kSequenceBytes = 6;
constexpr std::size_t kMacBytes = 12;
constexpr std::size_t kNonceBytes = kTimeBytes + kSequenceBytes + kMacBytes;
constexpr std::size_t kNonceChars = 32;  // base64url of 24 bytes
// Processes sharing a store may disagree on the time by this much (pairwise). A nonce
// stamped up to this far in the verifier's future is accepted; its age is the verifier's
// now minus the stamp.
constexpr std::int64_t kClockSkew = 60;
// A use is recorded with the verifier's time and kept lifetime + 2 margins: whichever
// process purges (clock up to one margin ahead of the recorder) and whichever verifies
// (up to one margin behind the issuer), the record outlives every acceptance of the nonce.
constexpr std::int64_t kRetentionMargin = 2 * kClockSkew;

// A bijection of 48-bit values (odd multipliers and xor-shifts) that spreads consecutive
// counts over all bits: the nonce ledger probes from the tag's first bytes, which are the
// sequence's low 4 bytes, so consecutive values must not share them. Distinct counts stay
// distinct nonces.
std::uint64_t scatter48(std::uint64_t x) {
  constexpr std::uint64_t kMask = (std::uint64_t{1} << 48) - 1;
  x = (x * 0x9E3779B97F4Bull) & kMask;
  x ^= x >> 24;
  x = (x * 0xBF58476D1CE5ull) & kMask;
  x ^= x >> 24;
  return x;
}

}  // namespace

// OpenSSL's one-shot HMAC() fetches the digest and sets the key on every call; this keys
// a context once and copies it per MAC (the copy only reads the template: thread-safe).
struct NonceService::Mac {
  ossl::Ptr<EVP_MAC> mac;
  ossl::Ptr<EVP_MAC_CTX> keyed;

  explicit Mac(const Bytes& key) {
    mac.reset(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
    if (mac) keyed.reset(EVP_MAC_CTX_new(mac.get()));
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
    if (!keyed || EVP_MAC_init(keyed.get(), key.data(), key.size(), params) != 1) std::abort();
  }

  // The first kMacBytes of HMAC-SHA256(key, data).
  Bytes of(const std::uint8_t* data, std::size_t len) const {
    ossl::Ptr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_dup(keyed.get()));
    std::uint8_t full[EVP_MAX_MD_SIZE];
    std::size_t full_len = 0;
    if (!ctx || EVP_MAC_update(ctx.get(), data, len) != 1 ||
        EVP_MAC_final(ctx.get(), full, &full_len, sizeof full) != 1 || full_len < kMacBytes)
      std::abort();  // like hmac_sha256: no safe way on without the MAC
    return Bytes(full, full + kMacBytes);
  }
};

Result<std::unique_ptr<NonceService>> NonceService::open(Store& store, std::shared_ptr<Clock> clock,
                                                         std::int64_t lifetime_seconds) {
  auto stored = store.get_setting(kKeySetting);
  if (!stored) return stored.error();
  if (!stored->has_value()) {
    // Only when still absent, then read back: processes starting together on one empty
    // store all use the first key written (an overwrite would split them).
    ATTESTLAB_TRY(store.add_setting(kKeySetting, base64url_encode(random_bytes(kKeyBytes))));
    stored = store.get_setting(kKeySetting);
    if (!stored) return stored.error();
  }
  auto key = stored->has_value() ? base64url_decode(**stored)
                                 : Result<Bytes>(Error::make("serverInternal", "missing"));
  if (!key || key->size() != kKeyBytes) {
    return Error::make("serverInternal",
                       std::string("store setting ") + kKeySetting + " is not a valid key");
  }
  const std::int64_t retention = lifetime_seconds + kRetentionMargin;
  std::unique_ptr<NonceLedger> ledger;
  if (auto local = store.machine_local_path()) {
    SharedNonceTableOptions options;
    options.retention_seconds = retention;
    auto table = open_shared_nonce_table(local->empty() ? "" : *local + "-nonces",
                                         clock->now(), options);
    if (!table) return table.error();
    ledger = std::move(*table);
  } else {
    ledger = make_store_nonce_ledger(store, clock->now(), retention);
  }
  return std::unique_ptr<NonceService>(
      new NonceService(std::move(ledger), std::move(clock), lifetime_seconds, std::move(*key)));
}

NonceService::NonceService(std::unique_ptr<NonceLedger> ledger, std::shared_ptr<Clock> clock,
                           std::int64_t lifetime, Bytes key)
    : ledger_(std::move(ledger)), clock_(std::move(clock)), lifetime_(lifetime),
      mac_(std::make_unique<const Mac>(key)) {
  Bytes start = random_bytes(sizeof(std::uint64_t));
  std::uint64_t value = 0;
  for (std::uint8_t b : start) value = (value << 8) | b;
  sequence_.store(value, std::memory_order_relaxed);
}

NonceService::~NonceService() = default;

std::string NonceService::issue() {
  Bytes raw(kNonceBytes);
  auto now = static_cast<std::uint64_t>(clock_->now());
  for (std::size_t i = 0; i < kTimeBytes; ++i)
    raw[i] = static_cast<std::uint8_t>(now >> (8 * (kTimeBytes - 1 - i)));
  const std::uint64_t sequence = scatter48(sequence_.fetch_add(1, std::memory_order_relaxed));
  for (std::size_t i = 0; i < kSequenceBytes; ++i)
    raw[kTimeBytes + i] = static_cast<std::uint8_t>(sequence >> (8 * (kSequenceBytes - 1 - i)));
  Bytes mac = mac_->of(raw.data(), kTimeBytes + kSequenceBytes);
  std::copy(mac.begin(), mac.end(), raw.begin() + kTimeBytes + kSequenceBytes);
  return base64url_encode(raw);
}

std::optional<std::int64_t> NonceService::issued_at(const std::string& nonce, Bytes* out) const {
  if (nonce.size() != kNonceChars) return std::nullopt;
  auto raw = base64url_decode(nonce);
  if (!raw || raw->size() != kNonceBytes) return std::nullopt;
  Bytes mac(raw->begin() + kTimeBytes + kSequenceBytes, raw->end());
  if (!equal_ct(mac, mac_->of(raw->data(), kTimeBytes + kSequenceBytes))) return std::nullopt;
  std::int64_t issued = 0;
  for (std::size_t i = 0; i < kTimeBytes; ++i) issued = (issued << 8) | (*raw)[i];
  std::int64_t now = clock_->now();
  if (issued > now + kClockSkew || now - issued > lifetime_) return std::nullopt;
  if (out) *out = std::move(*raw);
  return issued;
}

bool NonceService::authentic(const std::string& nonce) const {
  return issued_at(nonce).has_value();
}

Result<bool> NonceService::consume(const std::string& nonce) {
  Bytes raw;
  auto issued = issued_at(nonce, &raw);
  if (!issued) return false;
  // The tag: the sequence's last bytes and the MAC, 128 bits no client can choose.
  static_assert(kNonceBytes - kNonceTagBytes >= kTimeBytes);
  const std::string_view tag(reinterpret_cast<const char*>(raw.data()) + kNonceBytes -
                                 kNonceTagBytes,
                             kNonceTagBytes);
  return ledger_->first_use(nonce, tag, *issued, clock_->now());
}

}  // namespace attestlab::server

#include "server/acme/nonce.h"

namespace attestlab::server {

namespace {

constexpr const char* kKeySetting = "nonce_hmac_key";
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kTimeBytes = 6;
constexpr std::size_t kRandomBytes = 6;
constexpr std::size_t kMacBytes = 12;
constexpr std::size_t kNonceBytes = kTimeBytes + kRandomBytes + kMacBytes;
constexpr std::size_t kNonceChars = 32;  // base64url of 24 bytes
// Processes sharing a store may disagree on the time by this much (pairwise). A nonce
// stamped up to this far in the verifier's future is accepted; its age is the verifier's
// now minus the stamp.
constexpr std::int64_t kClockSkew = 60;
// A use is recorded with the verifier's time and kept lifetime + 2 margins: whichever
// process purges (clock up to one margin ahead of the recorder) and whichever verifies
// (up to one margin behind the issuer), the record outlives every acceptance of the nonce.
constexpr std::int64_t kRetentionMargin = 2 * kClockSkew;

Bytes mac_of(const Bytes& key, const std::uint8_t* data, std::size_t len) {
  Bytes mac = hmac_sha256(key, std::string_view(reinterpret_cast<const char*>(data), len));
  mac.resize(kMacBytes);
  return mac;
}

}  // namespace

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
      key_(std::move(key)) {}

std::string NonceService::issue() {
  Bytes raw(kNonceBytes);
  auto now = static_cast<std::uint64_t>(clock_->now());
  for (std::size_t i = 0; i < kTimeBytes; ++i)
    raw[i] = static_cast<std::uint8_t>(now >> (8 * (kTimeBytes - 1 - i)));
  Bytes random = random_bytes(kRandomBytes);
  std::copy(random.begin(), random.end(), raw.begin() + kTimeBytes);
  Bytes mac = mac_of(key_, raw.data(), kTimeBytes + kRandomBytes);
  std::copy(mac.begin(), mac.end(), raw.begin() + kTimeBytes + kRandomBytes);
  return base64url_encode(raw);
}

std::optional<std::int64_t> NonceService::issued_at(const std::string& nonce, Bytes* out) const {
  if (nonce.size() != kNonceChars) return std::nullopt;
  auto raw = base64url_decode(nonce);
  if (!raw || raw->size() != kNonceBytes) return std::nullopt;
  Bytes mac(raw->begin() + kTimeBytes + kRandomBytes, raw->end());
  if (!equal_ct(mac, mac_of(key_, raw->data(), kTimeBytes + kRandomBytes))) return std::nullopt;
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
  // The tag: the random part's last bytes and the MAC, 128 bits no client can choose.
  static_assert(kNonceBytes - kNonceTagBytes >= kTimeBytes);
  const std::string_view tag(reinterpret_cast<const char*>(raw.data()) + kNonceBytes -
                                 kNonceTagBytes,
                             kNonceTagBytes);
  return ledger_->first_use(nonce, tag, *issued, clock_->now());
}

}  // namespace attestlab::server

#include "server/nonce.h"

#include "core/bytes.h"

namespace attestlab::server {

namespace {

constexpr std::size_t kNonceBytes = 16;
constexpr std::size_t kNonceChars = 22;  // base64url of 16 bytes, unpadded

bool looks_like_nonce(const std::string& nonce) {
  if (nonce.size() != kNonceChars) return false;
  for (char c : nonce) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

NonceService::NonceService(Store& store, std::shared_ptr<Clock> clock, std::int64_t lifetime_seconds)
    : store_(store), clock_(std::move(clock)), lifetime_(lifetime_seconds) {}

Result<std::string> NonceService::issue() {
  std::string nonce = random_token(kNonceBytes);
  ATTESTLAB_TRY(store_.put_nonce(nonce, clock_->now()));
  return nonce;
}

Result<bool> NonceService::consume(const std::string& nonce) {
  if (!looks_like_nonce(nonce)) return false;
  return store_.consume_nonce(nonce, clock_->now(), lifetime_);
}

}  // namespace attestlab::server

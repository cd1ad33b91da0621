#include "core/bytes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "core/clock.h"

namespace attestlab {
namespace {

constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(const std::uint8_t* data, std::size_t n, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (n - i == 1) {
    std::uint32_t v = data[i] << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (n - i == 2) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

std::array<int, 256> reverse_table(const char* alphabet) {
  std::array<int, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
  return t;
}

// Decodes unpadded symbols. A lone trailing symbol (length % 4 == 1) and non-zero unused
// bits in the last symbol are refused, so every byte string has exactly one encoding.
Result<Bytes> decode_symbols(std::string_view text, const std::array<int, 256>& table,
                             const char* what) {
  if (text.size() % 4 == 1) return Error::make("malformed", std::string(what) + ": bad length");
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return Error::make("malformed", std::string(what) + ": invalid character");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return Error::make("malformed", std::string(what) + ": non-zero padding bits");
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

Bytes digest(const EVP_MD* md, const void* data, std::size_t n) {
  Bytes out(EVP_MD_get_size(md));
  unsigned int len = 0;
  if (EVP_Digest(data, n, out.data(), &len, md, nullptr) != 1) std::abort();
  out.resize(len);
  return out;
}

}  // namespace

Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
std::string to_string(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

std::string base64url_encode(const Bytes& data) {
  return encode(data.data(), data.size(), kUrlAlphabet, false);
}
std::string base64url_encode(std::string_view data) {
  return encode(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), kUrlAlphabet,
                false);
}
Result<Bytes> base64url_decode(std::string_view text) {
  static const auto table = reverse_table(kUrlAlphabet);
  return decode_symbols(text, table, "base64url");
}

std::string base64_encode(const Bytes& data) {
  return encode(data.data(), data.size(), kStdAlphabet, true);
}

std::string pem_encode(std::string_view label, const Bytes& data) {
  constexpr std::size_t kLine = 64;
  const std::string body = base64_encode(data);
  std::string out;
  out.reserve(body.size() + body.size() / kLine + 2 * label.size() + 34);
  out.append("-----BEGIN ").append(label).append("-----\n");
  for (std::size_t i = 0; i < body.size(); i += kLine) {
    out.append(body, i, kLine);
    out += '\n';
  }
  out.append("-----END ").append(label).append("-----\n");
  return out;
}

// Lenient about whitespace (PEM and plist bodies wrap lines), strict about the rest:
// padding only at the end and only to complete the last quantum.
Result<Bytes> base64_decode(std::string_view text) {
  static const auto table = reverse_table(kStdAlphabet);
  std::string symbols;
  symbols.reserve(text.size());
  std::size_t padding = 0;
  for (char c : text) {
    if (is_space(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return Error::make("malformed", "base64: data after padding");
    symbols += c;
  }
  if (padding > 2) return Error::make("malformed", "base64: too much padding");
  if (padding > 0 && (symbols.size() + padding) % 4 != 0)
    return Error::make("malformed", "base64: wrong padding");
  return decode_symbols(symbols, table, "base64");
}

std::string hex_encode(const Bytes& data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

Result<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return Error::make("malformed", "hex: odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]);
    int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return Error::make("malformed", "hex: invalid character");
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

Bytes sha256(const Bytes& data) {
  return digest(EVP_sha256(), data.data(), data.size());
}
Bytes sha256(std::string_view data) {
  return digest(EVP_sha256(), data.data(), data.size());
}
Bytes sha384(const Bytes& data) {
  return digest(EVP_sha384(), data.data(), data.size());
}

Bytes hmac_sha256(const Bytes& key, std::string_view data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer for it.
  static const std::uint8_t kEmpty = 0;
  if (HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr)
    std::abort();
  out.resize(len);
  return out;
}

namespace {

// Small draws (ids, tokens, serials: 15-32 bytes, several per request) come from a
// per-thread pool that one RAND_bytes call fills 512 bytes at a time: OpenSSL 3.0 costs
// ~1.8 us per call whatever its size (a getpid for fork detection, the DRBG's setup), a
// 15-byte draw from the pool ~80 ns (pki_bench BM_RandomBytes beside BM_RawRandBytes).
// A byte is handed out once and wiped from the pool as it goes. A forked child forgets the
// pool of the thread that forked (the only one it has), or parent and child would hand out
// the same bytes.
constexpr std::size_t kPoolBytes = 512;
constexpr std::size_t kPoolDrawMax = 64;  // larger draws go to RAND_bytes directly

struct RandomPool {
  std::array<std::uint8_t, kPoolBytes> bytes{};
  std::size_t next = kPoolBytes;  // bytes[next..] not handed out yet; all used: refill
  RandomPool() = default;
  RandomPool(const RandomPool&) = delete;
  RandomPool& operator=(const RandomPool&) = delete;
  ~RandomPool() { OPENSSL_cleanse(bytes.data(), bytes.size()); }  // at the thread's exit
};

thread_local RandomPool random_pool;

void forget_random_pool() {
  OPENSSL_cleanse(random_pool.bytes.data(), random_pool.bytes.size());
  random_pool.next = kPoolBytes;
}

void fill_or_abort(std::uint8_t* out, std::size_t n) {
  if (n > 0 && RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
}

}  // namespace

namespace detail {
// For the tests only (declared there): bytes the calling thread's pool still holds.
std::size_t random_pool_left() {
  return kPoolBytes - random_pool.next;
}
}  // namespace detail

// A failing CSPRNG leaves no safe way to continue (tokens, serials, keys), so abort.
Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  if (n > kPoolDrawMax) {
    fill_or_abort(out.data(), n);
    return out;
  }
  static const bool registered = pthread_atfork(nullptr, nullptr, &forget_random_pool) == 0;
  if (!registered) {  // no fork protection: no pool
    fill_or_abort(out.data(), n);
    return out;
  }
  RandomPool& pool = random_pool;
  if (kPoolBytes - pool.next < n) {
    fill_or_abort(pool.bytes.data(), kPoolBytes);
    pool.next = 0;
  }
  std::copy_n(pool.bytes.begin() + static_cast<std::ptrdiff_t>(pool.next), n, out.begin());
  OPENSSL_cleanse(pool.bytes.data() + pool.next, n);
  pool.next += n;
  return out;
}

std::string random_token(std::size_t n) {
  return base64url_encode(random_bytes(n));
}

Bytes time_ordered_bytes(std::int64_t unix_millis, std::size_t random_len) {
  const auto millis = static_cast<std::uint64_t>(std::max<std::int64_t>(unix_millis, 0));
  Bytes out = random_bytes(6 + random_len);
  for (int i = 0; i < 6; ++i) out[i] = static_cast<std::uint8_t>(millis >> (8 * (5 - i)));
  return out;
}

std::string sortable_id(std::int64_t unix_millis) {
  static constexpr char kAlphabet[] =
      "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
  static_assert(sizeof kAlphabet == 65);
  const Bytes raw = time_ordered_bytes(unix_millis, 9);  // 15 bytes: 20 characters
  std::string out(20, '\0');
  for (int g = 0; g < 5; ++g) {  // 3 bytes -> 4 characters
    const std::uint32_t v =
        std::uint32_t{raw[3 * g]} << 16 | std::uint32_t{raw[3 * g + 1]} << 8 | raw[3 * g + 2];
    for (int k = 0; k < 4; ++k) out[4 * g + k] = kAlphabet[(v >> (18 - 6 * k)) & 63];
  }
  return out;
}

std::string sortable_id() {
  return sortable_id(system_millis());
}

bool equal_ct(const Bytes& a, const Bytes& b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace attestlab

// PublicKey and PrivateKey: making, reading and writing keys (their signatures:
// pki_signature.cpp).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include "core/pki_internal.h"

namespace attestlab::pki {
namespace {

using detail::internal;
Error malformed(const std::string& what) {
  ossl::last_error();  // drop whatever OpenSSL queued while refusing the input
  return Error::make("malformed", what);
}

ossl::PKey up_ref(EVP_PKEY* key) {
  if (key != nullptr) EVP_PKEY_up_ref(key);
  return ossl::PKey(key);
}

// An EC key's size as the curve it names: P-256, P-384 and P-521 only. Other curves of
// the same size (secp256k1, brainpoolP256r1) and keys with explicit domain parameters
// (which name no curve, or hide a curve in its parameters) report 0 bits, so every size
// check refuses them.
int named_ec_bits(EVP_PKEY* key) {
  char encoding[32] = {};
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, encoding, sizeof(encoding),
                                     nullptr) == 1 &&
      std::string_view(encoding) != OSSL_PKEY_EC_ENCODING_GROUP) {
    ossl::last_error();
    return 0;
  }
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) {
    ossl::last_error();
    return 0;
  }
  const std::string_view name(group, len);
  if (name == "prime256v1" || name == "P-256") return 256;
  if (name == "secp384r1" || name == "P-384") return 384;
  if (name == "secp521r1" || name == "P-521") return 521;
  return 0;
}

KeySpec spec_of(EVP_PKEY* key) {
  if (key == nullptr) return {};
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      return KeySpec::rsa(EVP_PKEY_get_bits(key));
    case EVP_PKEY_ED25519:
      return KeySpec::ed25519();
    default:
      return {KeyKind::EC, named_ec_bits(key)};
  }
}

Result<Bytes> bn_param(EVP_PKEY* key, const char* name, std::size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return internal(std::string("reading ") + name);
  ossl::BnPtr bn(raw);
  const std::size_t len = pad_to != 0 ? pad_to : static_cast<std::size_t>(BN_num_bytes(bn.get()));
  Bytes out(len);
  if (BN_bn2binpad(bn.get(), out.data(), static_cast<int>(len)) < 0)
    return internal(std::string("encoding ") + name);
  return out;
}

// OpenSSL's public key check on a built key.
Result<PublicKey> checked_public(ossl::PKey key, const char* type) {
  // The quick check: on the curve (EC) or a sane modulus (RSA). The full check adds, for EC,
  // a multiplication by the group order, which proves nothing more on P-256/384/521 (prime
  // order, cofactor 1) and costs as much as a signature verify.
  ossl::PKeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1)
    return malformed(std::string("invalid ") + type + " public key");
  return PublicKey(std::move(key));
}

// A key of `type` that OpenSSL builds from the parameters in `bld` (the parts `selection`
// names): a null key when OpenSSL refuses them, an error when they cannot be assembled.
Result<ossl::PKey> key_from_params(const char* type, OSSL_PARAM_BLD* bld, int selection) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  if (params == nullptr) return internal("building key parameters");
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  const bool built = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                     EVP_PKEY_fromdata(ctx.get(), &raw, selection, params) == 1;
  OSSL_PARAM_free(params);
  ossl::PKey key(raw);
  if (!built) key.reset();
  return key;
}

// Builds a public key from provider parameters and runs OpenSSL's public key check
// (point on the curve, RSA modulus sanity).
Result<PublicKey> public_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  auto key = key_from_params(type, bld, EVP_PKEY_PUBLIC_KEY);
  if (!key) return key.error();
  if (!*key) return malformed(std::string("invalid ") + type + " public key");
  return checked_public(std::move(*key), type);
}

const char* curve_name(int bits) {
  switch (bits) {
    case 256:
      return "P-256";
    case 384:
      return "P-384";
    case 521:
      return "P-521";
    default:
      return nullptr;
  }
}

}  // namespace

bool detail::is_ed25519(EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
}
bool detail::is_rsa(EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  return id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
}

std::string KeySpec::name() const {
  switch (kind) {
    case KeyKind::EC:
      if (bits == 0) return "EC (unnamed or unsupported curve)";
      return std::string("P-") + std::to_string(bits);
    case KeyKind::RSA:
      return "RSA-" + std::to_string(bits);
    case KeyKind::Ed25519:
      return "Ed25519";
  }
  return "unknown";
}

// ---- PublicKey ----

PublicKey::PublicKey(ossl::PKey key) : key_(std::move(key)) {}
PublicKey::PublicKey(const PublicKey& other)
    : key_(up_ref(other.key_.get())), spec_(other.spec_.load(std::memory_order_relaxed)) {}
PublicKey& PublicKey::operator=(const PublicKey& other) {
  if (this != &other) {
    verify_contexts_.clear();
    key_ = up_ref(other.key_.get());
    spec_.store(other.spec_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  return *this;
}
PublicKey::PublicKey(PublicKey&& other) noexcept
    : key_(std::move(other.key_)), spec_(other.spec_.load(std::memory_order_relaxed)) {
  other.spec_.store(kUnknownSpec, std::memory_order_relaxed);
  other.verify_contexts_.clear();
}
PublicKey& PublicKey::operator=(PublicKey&& other) noexcept {
  if (this != &other) {
    verify_contexts_.clear();
    other.verify_contexts_.clear();
    key_ = std::move(other.key_);
    spec_.store(other.spec_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    other.spec_.store(kUnknownSpec, std::memory_order_relaxed);
  }
  return *this;
}

namespace {

// The SubjectPublicKeyInfo of a named-curve EC key with an uncompressed point is these bytes
// followed by 0x04 || x || y (RFC 5480 §2). OpenSSL 3.0 decodes any SPKI through a provider
// decoder context built per call, which costs about as much as a P-256 verify; these three
// exact shapes (what every ACME client and Apple's Secure Enclave send) are built from their
// point instead. Anything else, including the same key in a non-canonical encoding, takes
// OpenSSL's path.
struct EcSpkiShape {
  int bits;
  std::string_view prefix;
};
constexpr EcSpkiShape kEcSpkiShapes[] = {
    {256, std::string_view("\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86"
                           "\x48\xce\x3d\x03\x01\x07\x03\x42\x00",
                           26)},
    {384, std::string_view("\x30\x76\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b"
                           "\x81\x04\x00\x22\x03\x62\x00",
                           23)},
    {521, std::string_view("\x30\x81\x9b\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05"
                           "\x2b\x81\x04\x00\x23\x03\x81\x86\x00",
                           25)},
};

// A key holding only the named curve's domain parameters, built once per curve and never
// changed (so shared by every thread): EVP_PKEY_fromdata by group name builds the curve's
// group from its constants on every call (16-25 us here), copying a built one costs a few.
const EVP_PKEY* ec_domain_template(int bits) {
  auto make = [](const char* curve) -> EVP_PKEY* {
    ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1)
      return nullptr;
    auto key = key_from_params("EC", bld.get(), EVP_PKEY_KEY_PARAMETERS);
    return key ? key->release() : nullptr;
  };
  static EVP_PKEY* const p256 = make("P-256");
  static EVP_PKEY* const p384 = make("P-384");
  static EVP_PKEY* const p521 = make("P-521");
  switch (bits) {
    case 256:
      return p256;
    case 384:
      return p384;
    case 521:
      return p521;
    default:
      return nullptr;
  }
}

// An EC public key from its curve and SEC1 point; OpenSSL refuses a point off the curve.
Result<PublicKey> ec_public_from_point(int bits, const std::uint8_t* point, std::size_t size) {
  const EVP_PKEY* domain = ec_domain_template(bits);
  if (domain == nullptr) return internal("building EC domain parameters");
  ossl::PKey key(EVP_PKEY_dup(const_cast<EVP_PKEY*>(domain)));
  if (!key) return internal("copying EC domain parameters");
  if (EVP_PKEY_set1_encoded_public_key(key.get(), point, size) != 1) {
    ossl::last_error();
    return malformed("invalid EC public key");
  }
  return checked_public(std::move(key), "EC");
}

std::optional<Result<PublicKey>> from_canonical_ec_spki(const Bytes& der) {
  for (const EcSpkiShape& shape : kEcSpkiShapes) {
    const std::size_t coord = static_cast<std::size_t>(shape.bits + 7) / 8;
    if (der.size() != shape.prefix.size() + 1 + 2 * coord) continue;
    if (!std::equal(shape.prefix.begin(), shape.prefix.end(), der.begin(),
                    [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }))
      continue;
    const std::uint8_t* point = der.data() + shape.prefix.size();
    if (*point != 0x04) return std::nullopt;  // compressed or hybrid: OpenSSL's path
    auto key = ec_public_from_point(shape.bits, point, 1 + 2 * coord);
    if (!key.ok()) return Result<PublicKey>(malformed("invalid SubjectPublicKeyInfo"));
    return key;
  }
  return std::nullopt;
}

}  // namespace

std::optional<detail::NamedEcPoint> detail::named_ec_point(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return std::nullopt;
  const int bits = named_ec_bits(key);
  if (bits == 0) return std::nullopt;
  // The encoded-public-key parameter is always uncompressed; i2d_PUBKEY writes the form the
  // key was told to keep.
  char form[32] = {};
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, form,
                                     sizeof(form), nullptr) != 1 ||
      std::string_view(form) != OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) {
    ossl::last_error();
    return std::nullopt;
  }
  const std::size_t size = 1 + 2 * ((static_cast<std::size_t>(bits) + 7) / 8);
  NamedEcPoint out{bits, Bytes(size)};
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.point.data(),
                                      out.point.size(), &len) != 1 ||
      len != size || out.point[0] != 0x04) {
    ossl::last_error();
    return std::nullopt;
  }
  return out;
}

Result<PublicKey> PublicKey::from_spki_der(const Bytes& der) {
  if (auto fast = from_canonical_ec_spki(der)) return std::move(*fast);
  const unsigned char* p = der.data();
  ossl::PKey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key || p != der.data() + der.size()) return malformed("invalid SubjectPublicKeyInfo");
  return PublicKey(std::move(key));
}

Result<PublicKey> PublicKey::from_pem(const std::string& pem) {
  auto bio = detail::read_bio(pem);
  ossl::PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return malformed("invalid public key PEM");
  return PublicKey(std::move(key));
}

Bytes PublicKey::spki_der() const {
  // The canonical shapes are written from the point: i2d_PUBKEY goes through a provider
  // encoder built per call (50-60 us here) and writes the same bytes.
  if (auto named = detail::named_ec_point(key_.get())) {
    for (const EcSpkiShape& shape : kEcSpkiShapes) {
      if (shape.bits != named->bits) continue;
      Bytes der(shape.prefix.begin(), shape.prefix.end());
      der.insert(der.end(), named->point.begin(), named->point.end());
      return der;
    }
  }
  return detail::i2d_bytes(i2d_PUBKEY, key_.get());
}

std::string PublicKey::to_pem() const {
  if (!key_) return {};
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) return {};
  return detail::bio_contents(bio.get());
}

KeySpec PublicKey::spec() const {
  const std::int32_t known = spec_.load(std::memory_order_relaxed);
  if (known != kUnknownSpec) return {static_cast<KeyKind>(known >> 16), known & 0xffff};
  const KeySpec spec = spec_of(key_.get());
  if (key_ && spec.bits >= 0 && spec.bits <= 0xffff) {
    spec_.store((static_cast<std::int32_t>(spec.kind) << 16) | spec.bits,
                std::memory_order_relaxed);
  }
  return spec;
}

bool PublicKey::equals(const PublicKey& other) const {
  if (!key_ || !other.key_) return false;
  return EVP_PKEY_eq(key_.get(), other.key_.get()) == 1;
}

Result<std::pair<Bytes, Bytes>> PublicKey::ec_xy() const {
  if (!key_ || EVP_PKEY_get_base_id(key_.get()) != EVP_PKEY_EC)
    return Error::make("malformed", "not an EC key");
  // A named-curve key kept uncompressed: its encoded point is 0x04 || x || y, read in one
  // parameter fetch (each BIGNUM parameter below is a provider export of its own, ~15 us
  // for the pair; Jwk::to_json, and so every thumbprint, comes here).
  if (auto named = detail::named_ec_point(key_.get())) {
    const auto coord = static_cast<std::ptrdiff_t>((named->bits + 7) / 8);
    const Bytes& point = named->point;
    return std::make_pair(Bytes(point.begin() + 1, point.begin() + 1 + coord),
                          Bytes(point.begin() + 1 + coord, point.end()));
  }
  const std::size_t len = static_cast<std::size_t>(EVP_PKEY_get_bits(key_.get()) + 7) / 8;
  auto x = bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, len);
  if (!x.ok()) return x.error();
  auto y = bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, len);
  if (!y.ok()) return y.error();
  return std::make_pair(std::move(*x), std::move(*y));
}

Result<std::pair<Bytes, Bytes>> PublicKey::rsa_ne() const {
  if (!key_ || !detail::is_rsa(key_.get())) return Error::make("malformed", "not an RSA key");
  auto n = bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N, 0);
  if (!n.ok()) return n.error();
  auto e = bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E, 0);
  if (!e.ok()) return e.error();
  return std::make_pair(std::move(*n), std::move(*e));
}

Result<Bytes> PublicKey::raw_public() const {
  if (!key_ || !detail::is_ed25519(key_.get()))
    return Error::make("malformed", "not an Ed25519 key");
  Bytes out(32);
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, out.data(), out.size(),
                                      &len) != 1)
    return internal("reading Ed25519 public key");
  out.resize(len);
  return out;
}

Result<PublicKey> PublicKey::from_ec_xy(int bits, const Bytes& x, const Bytes& y) {
  if (curve_name(bits) == nullptr) return Error::make("malformed", "unsupported EC curve size");
  const std::size_t len = static_cast<std::size_t>(bits + 7) / 8;
  if (x.size() != len || y.size() != len)
    return Error::make("malformed", "EC coordinates have the wrong length");
  Bytes point{0x04};  // uncompressed SEC1 point
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  return ec_public_from_point(bits, point.data(), point.size());
}

Result<PublicKey> PublicKey::from_rsa_ne(const Bytes& n, const Bytes& e) {
  if (n.empty() || e.empty()) return Error::make("malformed", "empty RSA modulus or exponent");
  ossl::BnPtr bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  ossl::BnPtr bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e) return internal("decoding RSA parameters");
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return internal("building RSA parameters");
  return public_from_params("RSA", bld.get());
}

Result<PublicKey> PublicKey::from_ed25519(const Bytes& raw) {
  if (raw.size() != 32) return Error::make("malformed", "Ed25519 public key must be 32 bytes");
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, raw.data(),
                                               raw.size()) != 1)
    return internal("building Ed25519 parameters");
  return public_from_params("ED25519", bld.get());
}

// ---- PrivateKey ----

PrivateKey::PrivateKey(ossl::PKey key) : key_(std::move(key)), spec_(spec_of(key_.get())) {}
PrivateKey::PrivateKey(const PrivateKey& other)
    : key_(up_ref(other.key_.get())), spec_(other.spec_) {}
PrivateKey& PrivateKey::operator=(const PrivateKey& other) {
  if (this != &other) {
    sign_contexts_.clear();
    key_ = up_ref(other.key_.get());
    spec_ = other.spec_;
  }
  return *this;
}
PrivateKey::PrivateKey(PrivateKey&& other) noexcept
    : key_(std::move(other.key_)), spec_(other.spec_) {
  other.sign_contexts_.clear();
}
PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    sign_contexts_.clear();
    other.sign_contexts_.clear();
    key_ = std::move(other.key_);
    spec_ = other.spec_;
  }
  return *this;
}

Result<PrivateKey> PrivateKey::generate(KeySpec spec) {
  ossl::PKeyCtx ctx;
  switch (spec.kind) {
    case KeyKind::EC: {
      if (curve_name(spec.bits) == nullptr)
        return Error::make("malformed", "unsupported EC curve size");
      // From the curve's built domain parameters: naming the group instead builds it from
      // its constants on every call (BM_KeyGenerate beside its twin BM_RawKeyGenerate).
      const EVP_PKEY* domain = ec_domain_template(spec.bits);
      if (domain == nullptr) return internal("building EC domain parameters");
      ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(domain), nullptr));
      if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1)
        return internal("preparing EC key generation");
      break;
    }
    case KeyKind::RSA:
      if (spec.bits < 512 || spec.bits > 16384)
        return Error::make("malformed", "unsupported RSA key size");
      ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
      if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
          EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), spec.bits) != 1)
        return internal("preparing RSA key generation");
      break;
    case KeyKind::Ed25519:
      ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr));
      if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1)
        return internal("preparing Ed25519 key generation");
      break;
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) return internal("generating key");
  return PrivateKey(ossl::PKey(raw));
}

Result<PrivateKey> PrivateKey::from_pem(const std::string& pem) {
  auto bio = detail::read_bio(pem);
  ossl::PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return malformed("invalid private key PEM");
  return PrivateKey(std::move(key));
}

std::string PrivateKey::to_pem() const {
  if (!key_) return {};
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  return detail::bio_contents(bio.get());
}

// A separate public-only EVP_PKEY, so a PublicKey never carries private material.
PublicKey PrivateKey::public_key() const {
  if (!key_) return {};
  // A named-curve EC key's public half is its point on a copy of the curve's domain
  // template (a few microseconds); the DER round trip below costs a provider encoder and a
  // decoder (150 us here), which a load generator pays for every key it makes.
  if (auto named = detail::named_ec_point(key_.get())) {
    auto pub = ec_public_from_point(named->bits, named->point.data(), named->point.size());
    if (pub.ok()) return std::move(*pub);
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) return {};
  const unsigned char* p = der;
  ossl::PKey pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  return PublicKey(std::move(pub));
}

KeySpec PrivateKey::spec() const {
  return key_ ? spec_ : KeySpec{};
}

}  // namespace attestlab::pki

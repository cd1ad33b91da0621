// device-attest-01 "apple" attestation objects (server/attest/apple_attestation.h): the
// base64url text a client puts in attObj, through CBOR decoding, the x5c chain against
// Apple's real root and the fact extraction; and again against the interop vector's root
// (fixtures/interop/apple-attestation) with a cache of verified intermediates shared by all
// inputs, so that once a seed's chain verifies, mutated leaves under that intermediate take
// the remembered path (Certificate::from_der_lean, pki::verify_issued_by). Input: the attObj
// text as sent.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/pki.h"
#include "server/attest/apple_attestation.h"

using namespace attestlab;

namespace {

std::vector<pki::Certificate> roots(const char* path) {
  auto pem = pki::read_file(path);
  if (!pem) return {};
  auto bundle = pki::Certificate::bundle_from_pem(*pem);
  return bundle ? *bundle : std::vector<pki::Certificate>{};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<pki::Certificate> kRoots =
      roots(ATTESTLAB_SOURCE_DIR "/fixtures/apple-enterprise-attestation-root-ca.pem");
  static const std::vector<pki::Certificate> kInteropRoots =
      roots(ATTESTLAB_SOURCE_DIR "/fixtures/interop/apple-attestation/root.pem");
  static const server::AppleVerifyOptions kRemembering = [] {
    server::AppleVerifyOptions options;
    options.intermediates = std::make_shared<server::VerifiedIntermediates>();
    return options;
  }();
  constexpr std::int64_t kInteropVerifyAt = 1795694400;  // expected.json: 2026-11-26T12:00:00Z
  std::string_view att_obj(reinterpret_cast<const char*>(data), size);
  std::string rule;
  auto facts = server::verify_apple_attestation(att_obj, kRoots, "token", 1796411874, {}, &rule);
  if (facts) (void)facts->to_json();
  auto remembered = server::verify_apple_attestation(att_obj, kInteropRoots, "token",
                                                     kInteropVerifyAt, kRemembering, &rule);
  if (remembered) (void)remembered->to_json();
  // The CBOR layer on its own, for inputs that are raw CBOR rather than base64url text.
  auto cbor = parse_cbor(Bytes(data, data + size));
  if (cbor) (void)cbor->dump();
  return 0;
}

// JWS + JWK as the ACME server receives them (server/acme/acme_jws.cpp): the flattened
// JSON serialization, the protected header's members, the embedded JWK and the signature
// check with it. Input: the request body as sent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/jose.h"
#include "core/json_unique.h"

using namespace attestlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto jws = jose::parse_flattened(body);
  // The plain shape is read without a JSON tree: it must read as the JSON parser reads it.
  if (auto tree = parse_json_unique(body)) {
    auto via_json = jose::parse_flattened(*tree);
    if (jws.ok() != via_json.ok()) __builtin_trap();
    if (jws.ok() && (jws->protected_b64 != via_json->protected_b64 ||
                     jws->payload_b64 != via_json->payload_b64 ||
                     jws->signature_b64 != via_json->signature_b64 ||
                     jws->payload != via_json->payload || jws->header != via_json->header))
      __builtin_trap();
  } else if (jws.ok()) {
    __builtin_trap();
  }
  if (!jws) return 0;
  (void)jws->alg();
  (void)jws->kid();
  (void)jws->nonce();
  (void)jws->url();
  (void)jws->payload_json();
  auto jwk_json = jws->jwk();
  if (!jwk_json) return 0;
  auto jwk = jose::Jwk::parse(*jwk_json);
  if (!jwk) return 0;
  (void)jwk->thumbprint();
  (void)jwk->to_json();
  (void)jose::verify(*jws, jwk->key());
  (void)jose::key_authorization("token", *jwk);
  return 0;
}

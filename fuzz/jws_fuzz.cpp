// JWS + JWK as the ACME server receives them (server/acme/acme_jws.cpp): the flattened
// JSON serialization, the protected header's members, the embedded JWK and the signature
// check with it. Input: the request body as sent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/jose.h"

using namespace attestlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto jws = jose::parse_flattened(body);
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

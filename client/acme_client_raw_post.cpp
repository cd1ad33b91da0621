// AcmeClient::post_raw: one POST built exactly as RawPostOptions says, for the
// conformance suite's deliberately broken requests. Never retried.
#include "client/acme_client.h"
#include "client/acme_client_internal.h"

namespace attestlab::client {

Result<http::Response> AcmeClient::post_raw(const std::string& url, const Json& protected_overrides,
                                            const std::string& payload,
                                            const RawPostOptions& options) {
  std::string body;
  std::string nonce_sent;
  if (options.raw_body) {
    body = *options.raw_body;
  } else {
    const JwsSigner* signer = options.signer ? options.signer.get() : account_key_.get();
    if (signer == nullptr) return Error::make(kErrorClientUsage, "no key to sign with");
    const bool with_kid = options.include_jwk_and_kid ||
                          ((!options.signer || options.use_kid) && !options.use_jwk_instead_of_kid);
    const bool with_jwk = options.include_jwk_and_kid || !with_kid;
    if (with_kid && account_url_.empty()) {
      return Error::make(kErrorClientUsage, "no account URL for \"kid\"");
    }

    Json header = {{"alg", options.alg.value_or(signer->alg())}};
    if (with_jwk) header["jwk"] = signer->jwk();
    if (with_kid) header["kid"] = account_url_;
    if (options.nonce) {
      nonce_sent = *options.nonce;
    } else if (options.reuse_nonce) {
      if (last_sent_nonce_.empty()) {
        return Error::make(kErrorClientUsage, "reuse_nonce: no nonce was sent before");
      }
      nonce_sent = last_sent_nonce_;
    } else if (!options.omit_nonce) {
      auto nonce = take_nonce();
      if (!nonce.ok()) return nonce.error();
      nonce_sent = *nonce;
    }
    if (!options.omit_nonce) header["nonce"] = nonce_sent;
    header["url"] = options.header_url.value_or(url);
    // JSON merge patch (RFC 7386) at the top level: null removes a member.
    if (protected_overrides.is_object()) {
      for (const auto& [name, value] : protected_overrides.items()) {
        if (value.is_null()) {
          header.erase(name);
        } else {
          header[name] = value;
        }
      }
    }

    auto jws = sign_jws(header, payload, *signer);
    if (!jws.ok()) return jws.error();
    if (header.contains("alg") && header["alg"] == "none") jws->signature_b64.clear();
    if (options.corrupt_signature) {
      auto sig = base64url_decode(jws->signature_b64);
      Bytes bytes = sig.ok() ? *sig : Bytes{};
      if (bytes.empty()) bytes.push_back(0);
      bytes[bytes.size() / 2] ^= 0x01;
      jws->signature_b64 = base64url_encode(bytes);
    }
    if (options.signature_b64) jws->signature_b64 = *options.signature_b64;
    body = jws->to_json().dump();
  }
  if (!nonce_sent.empty()) last_sent_nonce_ = nonce_sent;

  http::Headers headers = options.extra_headers;
  const std::string content_type = options.content_type.value_or(acme_detail::kJoseJson);
  if (!content_type.empty()) headers.emplace("content-type", content_type);
  return exchange("POST", url, std::move(headers), body, "post_raw");
}

}  // namespace attestlab::client

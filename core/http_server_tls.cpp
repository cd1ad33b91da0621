// The server's TLS context: TLS 1.2 or newer, the configured chain and key, ALPN http/1.1.
#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>

#include "core/http_server_internal.h"

namespace attestlab::http::server_detail {
namespace {

// Picks "http/1.1" when the client offers ALPN; without it, no protocol is selected.
int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void*) {
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

Result<void> make_server_tls_context(ServerShared& shared) {
  const auto& options = shared.options;
  if (options.tls_cert_pem.empty() || options.tls_key_pem.empty()) {
    return Error::make("serverInternal", "TLS needs both a certificate and a key");
  }
  auto& ctx = shared.tls.emplace(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  error_code ec;
  ctx.use_certificate_chain(asio::buffer(options.tls_cert_pem.data(), options.tls_cert_pem.size()),
                            ec);
  if (ec) return Error::make("serverInternal", "TLS certificate chain: " + ec.message());
  ctx.use_private_key(asio::buffer(options.tls_key_pem.data(), options.tls_key_pem.size()),
                      ssl::context::pem, ec);
  if (ec) return Error::make("serverInternal", "TLS private key: " + ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return Error::make("serverInternal", "TLS private key does not match the certificate");
  }
  SSL_CTX_set_alpn_select_cb(ctx.native_handle(), &select_http11, nullptr);
  // TLS 1.3 session resumption stays on with one ticket per full handshake, not OpenSSL's
  // default two: each ticket is an encrypted session the server builds and sends (~20 us),
  // and most ACME clients (lego, certbot: a new process per run) never use even one.
  SSL_CTX_set_num_tickets(ctx.native_handle(), 1);
  return ok();
}

}  // namespace attestlab::http::server_detail

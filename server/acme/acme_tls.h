// The server's TLS identity: the configured --tls-cert/--tls-key, or a self-signed
// P-256 certificate created once in DATA_DIR/tls/ (cert.pem, key.pem 0600) and reused.
#pragma once

#include <string>

#include "core/result.h"
#include "server/config.h"

namespace attestlab::server {

struct TlsIdentity {
  std::string cert_pem;
  std::string key_pem;
};

// The self-signed certificate names 127.0.0.1, localhost and the listen host.
// Errors name the file that could not be read, parsed or written.
Result<TlsIdentity> load_or_create_tls_identity(const ServerConfig& config, std::int64_t now);

}  // namespace attestlab::server

// Everything `attestlab serve` can be told. Defaults are the embedded, single-process
// set-up. Filled by cli/serve_cmd.cpp, consumed by AcmeServer and the validators.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attestlab::server {

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 14000;  // 0 = any free port
  std::string data_dir = "./attestlab-data";
  std::string tls_cert_file;          // empty: self-signed, written to DATA_DIR/tls/cert.pem
  std::string tls_key_file;
  std::string store_spec;             // empty: sqlite:DATA_DIR/attestlab.db
  int io_threads = 2;
  int validation_threads = 4;

  // Validation of http-01 / dns-01.
  std::string dns_server;             // HOST:PORT resolver; empty = system resolver
  std::uint16_t http01_port = 80;     // port the http-01 validator connects to

  // Accounts.
  bool eab_required = false;
  std::string eab_keys_file;          // JSON {"kid": "base64url HMAC key", ...}
  std::string terms_of_service = "https://attestlab.invalid/terms";

  // Lifetimes (seconds) and issuance.
  std::int64_t order_lifetime = 24 * 3600;
  std::int64_t authz_lifetime = 24 * 3600;
  std::int64_t nonce_lifetime = 3600;
  std::int64_t cert_validity = 90 * 24 * 3600;
  std::vector<std::string> cert_ekus = {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"};
  int retry_after_seconds = 1;

  // Device attestation (device-attest-01).
  std::string attestation_roots_file;  // PEM bundle; empty = fixtures' Apple root
  std::string inventory_file;          // JSON array; empty = no inventory check
  std::string policy_file;             // JSON; empty = defaults
  std::string decision_log_file;       // JSON lines; empty = DATA_DIR/decisions.jsonl
};

}  // namespace attestlab::server

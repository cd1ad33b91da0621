// The RFC 8555 ACME server with device-attest-01 (draft-ietf-acme-device-attest):
// HTTPS on http::Server, state in a Store, certificates from an IssuingCa, challenge
// validation on a separate worker pool. Resources live under /acme/ (directory at
// https://HOST:PORT/acme/directory); GET /healthz and GET /metrics sit beside them.
//
// Thread-safety: start() returns a running server; directory_url(), port() and metrics()
// may be called from any thread; stop() is idempotent, joins every thread, and is called
// by the destructor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/http.h"
#include "core/result.h"
#include "server/acme/log.h"
#include "server/acme/metrics.h"
#include "server/attest/device_attest.h"
#include "server/config.h"

namespace attestlab::server {

struct AcmeContext;

class AcmeServer {
 public:
  // Opens the store (config.store_spec or sqlite:DATA_DIR/attestlab.db), loads or creates
  // the issuing CA (DATA_DIR/ca/) and the TLS identity (config files or DATA_DIR/tls/),
  // creates the device-attest validator from the config's files and starts listening.
  // Errors name the file or port that failed (bind failures: "serverInternal").
  static Result<std::unique_ptr<AcmeServer>> start(
      ServerConfig config, std::shared_ptr<Clock> clock = SystemClock::instance(),
      LogLevel log_level = LogLevel::Quiet);

  // Same, with a caller-provided device-attest validator (embedding, tests). nullptr
  // means: create one from the config as above.
  static Result<std::unique_ptr<AcmeServer>> start(
      ServerConfig config, std::shared_ptr<Clock> clock, LogLevel log_level,
      std::unique_ptr<DeviceAttestValidator> validator);

  ~AcmeServer();
  AcmeServer(const AcmeServer&) = delete;
  AcmeServer& operator=(const AcmeServer&) = delete;

  // https://HOST:PORT/acme/directory with the port actually bound.
  std::string directory_url() const;
  std::uint16_t port() const;
  // PEM of the TLS certificate the server presents (what clients must trust).
  const std::string& tls_certificate_pem() const;
  Metrics& metrics();
  void stop();

  // One request in process, exactly as the HTTP server hands it over after parsing:
  // routing, the ACME handlers, the POST envelope, metrics and the log line. The way in
  // for fuzz/http_acme_fuzz.cpp (no socket); thread-safe like the handlers.
  http::Response handle(const http::Request& request);

 private:
  AcmeServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attestlab::server

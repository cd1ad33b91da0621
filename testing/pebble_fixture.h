// Test support (header-only, for *_test.cpp files only): runs Pebble and
// pebble-challtestsrv, Let's Encrypt's independent ACME test server and its fake DNS, as
// child processes on free loopback ports, the recipe of docs/PEERS.md.
//
// Children get PR_SET_PDEATHSIG=SIGKILL, so they die with the test binary even when it
// crashes; ChildProcess's destructor stops them (SIGTERM, then SIGKILL) on normal exits,
// including failed assertions. Not thread-safe: set up and tear down from one thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/child_process.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/json.h"
#include "core/pki.h"
#include "testing/temp_dir.h"

extern char** environ;

namespace attestlab::client::testing {

inline std::uint16_t free_port(bool also_udp = false) {
  return free_loopback_port(also_udp);
}

inline bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ready();
}

inline std::string read_text(const std::string& path) {
  auto text = pki::read_file(path);
  return text.ok() ? *text : std::string();
}

using attestlab::testing::TempDir;  // testing/temp_dir.h

// Writes a self-signed P-256 TLS certificate for localhost/127.0.0.1 (what `openssl req
// -x509` makes: CA:TRUE, so it can be its own trust anchor) to cert_path / key_path.
inline Result<void> write_tls_certificate(const std::string& cert_path,
                                          const std::string& key_path) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key.ok()) return key.error();
  pki::CertificateSpec spec;
  spec.subject = {{"CN", "localhost"}};
  spec.sans.dns = {"localhost"};
  spec.sans.ip = {"127.0.0.1"};
  const std::int64_t now = SystemClock().now();
  spec.not_before = now - 3600;
  spec.not_after = now + 30 * 86400;
  spec.is_ca = true;
  spec.key_usage_cert_sign = true;
  spec.key_usage_digital_signature = true;
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.1"};
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  if (!cert.ok()) return cert.error();
  ATTESTLAB_TRY(pki::write_file(cert_path, cert->to_pem()));
  return pki::write_file(key_path, key->to_pem(), true);
}

// pebble-challtestsrv as a fake DNS server (every A query answers 127.0.0.1, TXT records
// set over its management API) with its own HTTP challenge servers disabled.
class ChallTestSrv {
 public:
  // Free ports are picked before the child binds them, so a concurrent test process may
  // take one first; a child that dies at startup is retried on new ports.
  Result<void> start(const std::string& log_path) {
    Result<void> started = ok();
    for (int attempt = 0; attempt < 3; ++attempt) {
      started = start_once(log_path);
      if (started.ok()) break;
    }
    return started;
  }

  // host: the record name with or without the trailing dot.
  Result<void> set_txt(const std::string& host, const std::string& value) {
    return manage("/set-txt", Json{{"host", fqdn(host)}, {"value", value}});
  }
  Result<void> clear_txt(const std::string& host) {
    return manage("/clear-txt", Json{{"host", fqdn(host)}});
  }

  std::uint16_t dns_port() const { return dns_port_; }
  std::string dns_address() const { return "127.0.0.1:" + std::to_string(dns_port_); }
  void stop() { process_.stop(); }

 private:
  Result<void> start_once(const std::string& log_path) {
    const std::string program = find_program("pebble-challtestsrv");
    if (program.empty()) return Error::make("serverInternal", "pebble-challtestsrv not installed");
    process_.stop();
    dns_port_ = free_port(true);
    management_port_ = free_port();
    log_path_ = log_path;
    const std::string dns = "127.0.0.1:" + std::to_string(dns_port_);
    const std::string mgmt = "127.0.0.1:" + std::to_string(management_port_);
    if (!process_.start(program,
                        {"-defaultIPv6", "", "-defaultIPv4", "127.0.0.1", "-dns01", dns, "-http01",
                         "", "-https01", "", "-tlsalpn01", "", "-management", mgmt},
                        log_path)) {
      return Error::make("serverInternal", "cannot fork pebble-challtestsrv");
    }
    http::Client client;
    const bool up = wait_until(
        [&] {
          if (!process_.running()) return true;
          auto r = client.request("POST", management_url("/clear-txt"), {},
                                  R"({"host":"_probe.example."})");
          return r.ok();
        },
        std::chrono::seconds(15));
    if (!up || !process_.running()) {
      return Error::make("serverInternal",
                         "pebble-challtestsrv did not start: " + read_text(log_path_));
    }
    return ok();
  }

  static std::string fqdn(const std::string& host) {
    return !host.empty() && host.back() == '.' ? host : host + ".";
  }
  std::string management_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(management_port_) + path;
  }
  Result<void> manage(const std::string& path, const Json& body) {
    http::Client client;
    auto r = client.request("POST", management_url(path), {}, body.dump());
    if (!r.ok()) return r.error();
    if (r->status != 200) {
      return Error::make("serverInternal", "challtestsrv " + path + " answered " +
                                               std::to_string(r->status) + ": " + r->body);
    }
    return ok();
  }

  ChildProcess process_;
  std::uint16_t dns_port_ = 0;
  std::uint16_t management_port_ = 0;
  std::string log_path_;
};

struct PebbleConfig {
  std::string tls_cert_file;  // served on both the ACME and the management port
  std::string tls_key_file;
  std::string dns_server;       // "127.0.0.1:PORT" (challtestsrv)
  std::uint16_t http_port = 0;  // where http-01 validation connects (0 = a free port)
  std::vector<std::string> env = {"PEBBLE_VA_NOSLEEP=1"};  // PEBBLE_* knobs
  Json eab_mac_keys;  // {"kid": "base64url key"}: externalAccountBindingRequired when set
};

class Pebble {
 public:
  // Writes the config into work_dir and starts Pebble; returns once the directory answers.
  // Retried on new ports when the child dies at startup (see ChallTestSrv::start).
  Result<void> start(const PebbleConfig& config, const std::string& work_dir,
                     const std::string& name = "pebble") {
    Result<void> started = ok();
    for (int attempt = 0; attempt < 3; ++attempt) {
      started = start_once(config, work_dir, name);
      if (started.ok()) break;
    }
    return started;
  }

  std::string directory_url() const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/dir";
  }
  std::string management_url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(management_port_) + path;
  }
  const std::string& trust_file() const { return trust_file_; }
  std::string log() const { return read_text(log_path_); }
  void stop() { process_.stop(); }

  // GET on the management interface (roots, intermediates, cert-status-by-serial).
  Result<http::Response> management_get(const std::string& path) const {
    http::ClientOptions options;
    options.trust_ca_pem_file = trust_file_;
    http::Client client(options);
    return client.get(management_url(path));
  }

 private:
  Result<void> start_once(const PebbleConfig& config, const std::string& work_dir,
                          const std::string& name) {
    process_.stop();
    const std::string program = find_program("pebble");
    if (program.empty()) return Error::make("serverInternal", "pebble not installed");
    port_ = free_port();
    management_port_ = free_port();
    trust_file_ = config.tls_cert_file;
    log_path_ = work_dir + "/" + name + ".log";
    Json pebble = {
        {"listenAddress", "127.0.0.1:" + std::to_string(port_)},
        {"managementListenAddress", "127.0.0.1:" + std::to_string(management_port_)},
        {"certificate", config.tls_cert_file},
        {"privateKey", config.tls_key_file},
        {"httpPort", config.http_port != 0 ? config.http_port : free_port()},
        {"tlsPort", free_port()},
        {"ocspResponderURL", ""},
        {"externalAccountBindingRequired", config.eab_mac_keys.is_object()},
    };
    if (config.eab_mac_keys.is_object()) pebble["externalAccountMACKeys"] = config.eab_mac_keys;
    const std::string config_path = work_dir + "/" + name + ".json";
    ATTESTLAB_TRY(pki::write_file(config_path, Json{{"pebble", pebble}}.dump(2)));
    if (!process_.start(program, {"-config", config_path, "-dnsserver", config.dns_server},
                        log_path_, config.env)) {
      return Error::make("serverInternal", "cannot fork pebble");
    }
    http::ClientOptions options;
    options.trust_ca_pem_file = trust_file_;
    http::Client client(options);
    const bool up = wait_until(
        [&] {
          if (!process_.running()) return true;
          auto r = client.get(directory_url());
          return r.ok() && r->status == 200;
        },
        std::chrono::seconds(20));
    if (!up || !process_.running()) {
      return Error::make("serverInternal", "pebble did not start: " + read_text(log_path_));
    }
    return ok();
  }

  ChildProcess process_;
  std::uint16_t port_ = 0;
  std::uint16_t management_port_ = 0;
  std::string trust_file_;
  std::string log_path_;
};

}  // namespace attestlab::client::testing

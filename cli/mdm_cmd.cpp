// `attestlab mdm serve`: the MDM emulator (sim/mdm/mdm_server.h) for devices from anywhere,
// pointing them at an ACME server (DESIGN.md's contract): prints exactly one line
// `ready https://HOST:PORT/mdm` on stdout once it accepts connections and stops cleanly on
// SIGINT/SIGTERM. TLS: --tls-cert/--tls-key, else a self-signed certificate kept in
// DATA_DIR/tls/ (cert.pem is what devices must trust). Exit codes (cli/command.h): 0 after
// a signal, 2 bad flags, 3 start-up failure.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/stop_signals.h"
#include "core/clock.h"
#include "core/host_port.h"
#include "core/json.h"
#include "core/pki.h"
#include "server/acme/acme_tls.h"
#include "server/config.h"
#include "sim/mdm/mdm_server.h"

namespace attestlab::cli {
namespace {

constexpr const char* kAppleRootFixture = "fixtures/apple-enterprise-attestation-root-ca.pem";

struct MdmServeArgs {
  std::string listen = "127.0.0.1:8443";
  std::string acme_directory;
  std::string data_dir = "./attestlab-mdm-data";
  std::string tls_cert, tls_key;
  std::string attestation_roots;
  std::string trust_ca;
  std::string client_identifier = "serial";
  std::string topic;
  std::string policy;
  std::string admin_token;
  std::string public_host;
  std::vector<std::string> wifi_ssids;
  int key_size = 384;
  int threads = 2;
  bool no_blueprint = false;
};

int usage(const std::string& message) {
  return complain("mdm serve", kExitUsage, message + " (see --help)");
}
int fail(const std::string& message) { return complain("mdm serve", kExitInternal, message); }

// Apple's real root, as `attestlab serve` finds it: next to the executable (or up to two
// levels above, for build trees), else in the working directory.
std::string default_roots_file() {
  std::vector<std::filesystem::path> candidates;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto dir = exe.parent_path();
    for (int up = 0; up < 3 && !dir.empty(); ++up, dir = dir.parent_path())
      candidates.push_back(dir / kAppleRootFixture);
  }
  candidates.push_back(std::filesystem::current_path(ec) / kAppleRootFixture);
  for (const auto& c : candidates)
    if (std::filesystem::is_regular_file(c, ec)) return c.string();
  return "";
}

Result<std::vector<pki::Certificate>> load_bundle(const std::string& what,
                                                  const std::string& path) {
  auto pem = pki::read_file(path);
  if (!pem) return Error::make("malformed", what + ": " + pem.error().detail);
  auto certs = pki::Certificate::bundle_from_pem(*pem);
  if (!certs) return Error::make("malformed", what + " " + path + ": " + certs.error().detail);
  return certs;
}

int run_mdm_serve(const MdmServeArgs& a) {
  sim::MdmServerConfig config;
  auto listen = parse_host_port(a.listen);
  if (!listen) return usage("--listen must be HOST:PORT, got \"" + a.listen + "\"");
  config.listen_host = listen->host;
  config.listen_port = listen->port;
  auto directory = http::Url::parse(a.acme_directory);
  if (!directory || directory->scheme != "https" || directory->host.empty()) {
    return usage("--acme-directory must be an https URL, got \"" + a.acme_directory + "\"");
  }
  if (a.tls_cert.empty() != a.tls_key.empty()) return usage("--tls-cert and --tls-key go together");
  config.acme_directory_url = a.acme_directory;
  config.client_identifier = a.client_identifier == "udid" ? sim::ClientIdentifierSource::Udid
                                                           : sim::ClientIdentifierSource::Serial;
  config.acme_key_size = a.key_size;
  config.acme_wifi_ssids = a.wifi_ssids;
  config.io_threads = a.threads;
  config.public_host = a.public_host;
  config.admin_token = a.admin_token;
  config.enroll_blueprint = !a.no_blueprint;
  if (!a.topic.empty()) config.topic = a.topic;

  const std::string roots_file =
      a.attestation_roots.empty() ? default_roots_file() : a.attestation_roots;
  if (roots_file.empty()) {
    return usage(std::string("no --attestation-roots given and ") + kAppleRootFixture +
                 " not found");
  }
  auto roots = load_bundle("--attestation-roots", roots_file);
  if (!roots) return usage(roots.error().detail);
  config.attestation_roots = std::move(*roots);
  if (!a.trust_ca.empty()) {
    auto anchors = load_bundle("--trust-ca", a.trust_ca);
    if (!anchors) return usage(anchors.error().detail);
    for (const auto& cert : *anchors) config.acme_trust_anchors.push_back(cert.to_der());
  }
  if (!a.policy.empty()) {
    auto text = pki::read_file(a.policy);
    if (!text) return usage("--policy: " + text.error().detail);
    auto json = parse_json(*text);
    if (!json) return usage("--policy " + a.policy + ": " + json.error().detail);
    auto policy = sim::MdmAttestationPolicy::from_json(*json);
    if (!policy) return usage("--policy " + a.policy + ": " + policy.error().detail);
    config.policy = *policy;
  }

  // The TLS identity the same way `attestlab serve` keeps its own.
  server::ServerConfig tls_config;
  tls_config.listen_host = config.listen_host;
  tls_config.listen_port = config.listen_port;
  tls_config.data_dir = a.data_dir;
  tls_config.tls_cert_file = a.tls_cert;
  tls_config.tls_key_file = a.tls_key;
  auto tls = server::load_or_create_tls_identity(tls_config, SystemClock::instance()->now());
  if (!tls) return fail(tls.error().detail);
  config.tls_cert_pem = tls->cert_pem;
  config.tls_key_pem = tls->key_pem;

  const StopSignals stop_signals;  // before any server thread exists

  auto started = sim::MdmServer::start(std::move(config));
  if (!started) return fail(started.error().detail);
  std::cout << "ready " << (*started)->base_url() << std::endl;

  stop_signals.wait();
  (*started)->stop();
  return kExitOk;
}

}  // namespace

void register_mdm(CLI::App& app, Runner& runner) {
  CLI::App* mdm =
      app.add_subcommand("mdm", "The MDM emulator (Apple MDM protocol, plist over HTTPS)");
  mdm->require_subcommand(1);
  auto args = std::make_shared<MdmServeArgs>();
  CLI::App* serve = mdm->add_subcommand(
      "serve", "Serve /mdm/enroll, /mdm/checkin, /mdm/connect and /mdm/devices");
  serve->add_option("--listen", args->listen, "HOST:PORT to listen on (HTTPS)")
      ->capture_default_str();
  serve
      ->add_option("--acme-directory", args->acme_directory,
                   "ACME directory URL the devices enroll with")
      ->required();
  serve
      ->add_option("--data-dir", args->data_dir,
                   "State directory (TLS certificate in DATA_DIR/tls/)")
      ->capture_default_str();
  serve->add_option("--tls-cert", args->tls_cert,
                    "TLS certificate chain PEM (default: self-signed in DATA_DIR/tls)");
  serve->add_option("--tls-key", args->tls_key, "TLS private key PEM");
  serve->add_option(
      "--attestation-roots", args->attestation_roots,
      "PEM bundle of attestation roots for the MDM's own check (default: Apple's real root)");
  serve->add_option("--trust-ca", args->trust_ca,
                    "PEM bundle of the ACME server's TLS CA; sent to devices as trusted roots in "
                    "the ACME profile");
  serve
      ->add_option("--client-identifier", args->client_identifier,
                   "ClientIdentifier of the ACME payload: serial | udid")
      ->check(CLI::IsMember({"serial", "udid"}))
      ->capture_default_str();
  serve->add_option("--key-size", args->key_size, "ACME key size: 256 or 384")
      ->check(CLI::IsMember({256, 384}))
      ->capture_default_str();
  serve->add_option("--wifi-ssid", args->wifi_ssids,
                    "Add a Wi-Fi payload using the ACME identity (repeatable)");
  serve->add_option("--topic", args->topic, "APNs topic in the enrollment profile");
  serve->add_option("--policy", args->policy,
                    "MDM attestation policy JSON {require_sip, require_full_secure_boot, "
                    "forbid_third_party_kexts, "
                    "require_claims_match, min_os_version}");
  serve->add_option("--admin-token", args->admin_token,
                    "Require 'Authorization: Bearer TOKEN' on /mdm/admin/");
  serve->add_option("--public-host", args->public_host,
                    "Host name devices use in the enrollment profile's URLs");
  serve->add_option("--threads", args->threads, "HTTP I/O threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve->add_flag("--no-blueprint", args->no_blueprint,
                  "Do not queue the ACME profile and attestation request after enrollment");
  serve->callback([args, &runner] { runner = [args] { return run_mdm_serve(*args); }; });
}

}  // namespace attestlab::cli

// `attestlab serve`: the ACME device-attestation server (server/acme/acme_server.h) with the
// flags of DESIGN.md's contract. Prints exactly one line `ready https://HOST:PORT/acme/directory`
// on stdout once it accepts connections, and stops cleanly on SIGINT/SIGTERM.
// Exit codes (cli/command.h): 0 after a signal; 2 bad flags, a missing or malformed file a
// flag names, an unwritable --data-dir, a --listen address in use or a store whose schema is
// newer than this build; 3 start-up failure.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/server_faults_option.h"
#include "cli/startup_checks.h"
#include "cli/stop_signals.h"
#include "core/clock.h"
#include "core/host_port.h"
#include "server/acme/acme_server.h"
#include "server/acme/log.h"
#include "server/config.h"
#include "server/faults.h"
#include "server/store/store.h"

namespace attestlab::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:14000";
  std::string data_dir = "./attestlab-data";
  std::string tls_cert, tls_key;
  std::string attestation_roots, inventory, policy;
  std::string dns_server;
  int http01_port = 80;
  std::string store;
  bool eab_required = false;
  bool list_faults = false;
  std::string eab_keys;
  int cert_validity_days = 90;
  int not_before_window_hours = 24;
  std::vector<std::string> validation_deny;
  int threads = 2;
  int heap_trim_seconds = 10;
  int max_connections = server::ServerConfig{}.max_connections;
  int max_connections_per_ip = server::ServerConfig{}.max_connections_per_ip;
  int max_busy_connections = server::ServerConfig{}.max_busy_connections;
  int max_accept_wait_ms = static_cast<int>(server::ServerConfig{}.max_accept_wait.count());
  std::string log_level = "info";
  std::vector<std::string> faults;
};

int usage(const std::string& message) {
  return complain("serve", kExitUsage, message + " (see --help)");
}

int run_serve(const ServeArgs& a) {
#ifdef ATTESTLAB_FAULTS
  if (a.list_faults) {
    for (const auto& n : server::server_fault_names()) std::cout << n << "\n";
    return kExitOk;
  }
#endif
  server::ServerConfig config;
  auto listen = parse_host_port(a.listen);  // port 0 picks a free one
  if (!listen) return usage("--listen must be HOST:PORT, got \"" + a.listen + "\"");
  config.listen_host = listen->host;
  config.listen_port = listen->port;
  if (!a.dns_server.empty()) {
    auto dns = parse_host_port(a.dns_server);
    if (!dns || dns->port == 0) {
      return usage("--dns-server must be HOST:PORT, got \"" + a.dns_server + "\"");
    }
  }
  if (a.tls_cert.empty() != a.tls_key.empty()) return usage("--tls-cert and --tls-key go together");
  if (a.eab_required && a.eab_keys.empty()) return usage("--eab-required needs --eab-keys FILE");
  auto level = server::parse_log_level(a.log_level);
  if (!level) return usage("--log-level must be quiet, info or debug");
  if (auto bad = enable_server_faults(a.faults, "--fault", true)) return usage(*bad);
  if (!a.store.empty() && a.store.rfind("sqlite:", 0) != 0 &&
      a.store.rfind("postgresql://", 0) != 0 && a.store.rfind("postgres://", 0) != 0) {
    return usage("--store must be sqlite:PATH or postgresql://..., got \"" + a.store + "\"");
  }
  if (auto bad = check_writable_dir("--data-dir", a.data_dir)) return usage(*bad);
  if (auto bad = check_can_listen("--listen", *listen)) return usage(*bad);

  config.data_dir = a.data_dir;
  config.tls_cert_file = a.tls_cert;
  config.tls_key_file = a.tls_key;
  config.attestation_roots_file = a.attestation_roots;
  config.inventory_file = a.inventory;
  config.policy_file = a.policy;
  config.dns_server = a.dns_server;
  config.http01_port = static_cast<std::uint16_t>(a.http01_port);
  config.store_spec = a.store;
  config.eab_required = a.eab_required;
  config.eab_keys_file = a.eab_keys;
  config.cert_validity = static_cast<std::int64_t>(a.cert_validity_days) * 24 * 3600;
  config.io_threads = a.threads;
  config.max_connections = a.max_connections;
  config.max_connections_per_ip = a.max_connections_per_ip;
  config.max_accept_wait = std::chrono::milliseconds(a.max_accept_wait_ms);
  config.max_busy_connections = a.max_busy_connections;
  config.heap_trim_interval = std::chrono::seconds(a.heap_trim_seconds);
  config.not_before_window = static_cast<std::int64_t>(a.not_before_window_hours) * 3600;
  config.validation_deny = a.validation_deny;

  const StopSignals stop_signals;  // before any server thread exists

  auto started = server::AcmeServer::start(config, SystemClock::instance(), *level);
  if (!started) {
    std::cerr << "attestlab serve: " << started.error().detail << "\n";
    // "malformed": a configuration file the flags named is wrong (exit 2, like a bad flag).
    // A database from a newer attestlab is the operator's choice of binary, not a fault:
    // refused like a bad argument, before it is touched. Anything else is a start-up
    // failure of the server itself.
    const bool usage_error =
        started.error().type == "malformed" || server::is_schema_too_new(started.error());
    return usage_error ? kExitUsage : kExitInternal;
  }
#ifdef ATTESTLAB_FAULTS
  // Stated on every start, so a log never hides that checks were switched off.
  std::string enabled;
  for (const auto& n : server::enabled_server_faults()) enabled += " " + n;
  std::cerr << "attestlab serve: FAULTS BUILD, enabled faults:"
            << (enabled.empty() ? " none" : enabled) << "\n";
#endif
  std::cout << "ready " << (*started)->directory_url() << std::endl;

  const int signal_number = stop_signals.wait();
  std::cerr << "attestlab serve: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
            << " received, shutting down\n";
  (*started)->stop();
  std::cerr << "attestlab serve: stopped\n";
  return kExitOk;
}

}  // namespace

void register_serve(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "Run the ACME device-attestation server");
  serve->add_option("--listen", args->listen, "HOST:PORT to listen on (HTTPS)")
      ->capture_default_str();
  serve->add_option("--data-dir", args->data_dir, "State directory (store, CA, TLS certificate)")
      ->capture_default_str();
  serve->add_option("--tls-cert", args->tls_cert,
                    "TLS certificate chain PEM (default: self-signed in DATA_DIR/tls)");
  serve->add_option("--tls-key", args->tls_key, "TLS private key PEM");
  serve->add_option("--attestation-roots", args->attestation_roots,
                    "PEM bundle of attestation roots (default: Apple's real root)");
  serve->add_option("--inventory", args->inventory, "JSON array of {serial, udid, status}");
  serve->add_option("--policy", args->policy, "Posture/key policy JSON");
  serve->add_option("--dns-server", args->dns_server,
                    "HOST:PORT resolver for http-01/dns-01 validation");
  serve->add_option("--http01-port", args->http01_port, "Port http-01 validation connects to")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  serve->add_option("--store", args->store,
                    "sqlite:PATH | postgresql://... (default: sqlite:DATA_DIR/attestlab.db)");
  serve->add_flag("--eab-required", args->eab_required, "Require external account binding");
  serve->add_option("--eab-keys", args->eab_keys, "JSON {\"kid\": \"base64url HMAC key\"}");
  serve->add_option("--cert-validity-days", args->cert_validity_days, "Leaf certificate lifetime")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();
  serve->add_option("--validation-deny", args->validation_deny,
                    "CIDR that http-01 validation never connects to (repeatable; default none)");
  serve
      ->add_option("--not-before-window-hours", args->not_before_window_hours,
                   "newOrder notBefore must lie within this many hours of now")
      ->check(CLI::Range(0, 24 * 365))
      ->capture_default_str();
  serve->add_option("--threads", args->threads, "HTTP I/O threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve
      ->add_option("--max-connections", args->max_connections,
                   "Open connections in all; more are closed at accept")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  serve
      ->add_option("--max-connections-per-ip", args->max_connections_per_ip,
                   "Open connections one client address may hold (behind a proxy or NAT, raise "
                   "it); more are closed at accept")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  serve
      ->add_option("--max-accept-wait-ms", args->max_accept_wait_ms,
                   "Refuse (TCP reset) a connection that waited longer than this to be "
                   "accepted: the server is overloaded (0: never)")
      ->check(CLI::Range(0, 3600 * 1000))
      ->capture_default_str();
  serve
      ->add_option("--max-busy-connections", args->max_busy_connections,
                   "Refuse (TCP reset) new connections while this many owe an answer: "
                   "requests read in full and not yet answered (0: no bound)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  serve
      ->add_option("--heap-trim-seconds", args->heap_trim_seconds,
                   "Give free heap beyond 1 MiB back to the system this often (0: never)")
      ->check(CLI::Range(0, 24 * 3600))
      ->capture_default_str();
  serve->add_option("--log-level", args->log_level, "quiet | info | debug")
      ->check(CLI::IsMember({"quiet", "info", "debug"}))
      ->capture_default_str();
#ifdef ATTESTLAB_FAULTS
  std::string fault_help = "Switch on a server fault (test builds only; repeatable):";
  for (const auto& n : server::server_fault_names()) fault_help += " " + n;
  serve->add_option("--fault", args->faults, fault_help);
  // Hidden (empty group): one knob name a line, for scripts/verdicts.sh.
  serve->add_flag("--list-faults", args->list_faults, "Print every fault name and exit")->group("");
#endif
  serve->callback([args, &runner] { runner = [args] { return run_serve(*args); }; });
}

}  // namespace attestlab::cli

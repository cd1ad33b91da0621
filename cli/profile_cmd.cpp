// `attestlab profile make|lint`: write a correct .mobileconfig with an ACMECertificate
// payload (and payloads that use its identity), and check any profile the way a device
// would. Exit codes (cli/command.h): lint 0 clean (warnings allowed), 1 error-level
// problems, 2 usage or unreadable file; make 0, 2 usage, 3 write failure.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/http.h"
#include "core/json.h"
#include "core/pki.h"
#include "sim/device/acme_payload.h"
#include "sim/mdm/profile.h"
#include "sim/mdm/profile_lint.h"

namespace attestlab::cli {
namespace {

struct MakeArgs {
  std::string directory_url;
  std::string client_identifier;
  int key_size = 384;
  std::string out;
  std::string identifier;
  std::string display_name = "Device identity (ACME)";
  std::string organization = "attestlab";
  std::vector<std::string> wifi_ssids;
  std::vector<std::string> vpn_servers;
  std::string trust_ca;
};

struct LintArgs {
  std::string file;
  bool json = false;
};

int usage(const std::string& sub, const std::string& message) {
  return complain("profile " + sub, kExitUsage, message + " (see --help)");
}

int run_make(const MakeArgs& a) {
  auto url = http::Url::parse(a.directory_url);
  if (!url || url->scheme != "https" || url->host.empty()) {
    return usage("make", "--directory-url must be an https URL, got \"" + a.directory_url + "\"");
  }
  if (a.client_identifier.empty()) return usage("make", "--client-identifier must not be empty");

  sim::AcmeProfileOptions options;
  options.acme =
      sim::AcmePayload::for_attestation(a.directory_url, a.client_identifier, a.key_size);
  options.wifi_ssids = a.wifi_ssids;
  options.vpn_servers = a.vpn_servers;
  options.identifier = a.identifier;
  options.display_name = a.display_name;
  options.organization = a.organization;
  if (!a.trust_ca.empty()) {
    auto pem = pki::read_file(a.trust_ca);
    if (!pem) return usage("make", "--trust-ca: " + pem.error().detail);
    auto certs = pki::Certificate::bundle_from_pem(*pem);
    if (!certs) return usage("make", "--trust-ca " + a.trust_ca + ": " + certs.error().detail);
    for (const auto& cert : *certs) options.trust_anchors.push_back(cert.to_der());
  }
  const std::string xml = sim::profile_to_xml(sim::make_acme_profile(options));

  // What make writes must pass its own lint, warnings included: a problem there comes from
  // a flag's value (e.g. a --client-identifier that is no permanent-identifier), so it is
  // the user's to fix (exit 2), with the linter's own words.
  const auto problems = sim::lint_profile(xml);
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << sim::describe(p) << "\n";
    return usage("make", "the profile these flags make does not lint clean (see above)");
  }
  if (a.out.empty() || a.out == "-") {
    std::cout << xml;
    return kExitOk;
  }
  auto written = pki::write_file(a.out, xml);
  if (!written) {
    std::cerr << "attestlab profile make: " << written.error().detail << "\n";
    return kExitInternal;
  }
  return kExitOk;
}

int run_lint(const LintArgs& a) {
  auto bytes = pki::read_file(a.file);
  if (!bytes) return usage("lint", bytes.error().detail);
  const auto problems = sim::lint_profile(*bytes, /*expect_acme_payload=*/true);
  std::size_t errors = 0;
  for (const auto& p : problems)
    if (p.severity == sim::ProfileProblem::Severity::Error) ++errors;
  if (a.json) {
    Json list = Json::array();
    for (const auto& p : problems) {
      list.push_back({{"code", p.code},
                      {"severity", sim::to_string(p.severity)},
                      {"payload", p.payload},
                      {"payload_type", p.payload_type},
                      {"key", p.key},
                      {"message", p.message}});
    }
    std::cout << Json{{"file", a.file},
                      {"errors", errors},
                      {"warnings", problems.size() - errors},
                      {"problems", list}}
                     .dump(2)
              << "\n";
  } else {
    for (const auto& p : problems) std::cout << sim::describe(p) << "\n";
    std::cout << a.file << ": " << errors << " error" << (errors == 1 ? "" : "s") << ", "
              << problems.size() - errors << " warning"
              << (problems.size() - errors == 1 ? "" : "s") << "\n";
  }
  return errors > 0 ? kExitFailures : kExitOk;
}

}  // namespace

void register_profile(CLI::App& app, Runner& runner) {
  CLI::App* profile =
      app.add_subcommand("profile", "Make and lint configuration profiles (.mobileconfig)");
  profile->require_subcommand(1);

  auto make_args = std::make_shared<MakeArgs>();
  CLI::App* make = profile->add_subcommand(
      "make", "Write a .mobileconfig with a hardware-bound, attested ACME payload");
  make->add_option("--directory-url", make_args->directory_url, "ACME directory URL (https)")
      ->required();
  make->add_option(
          "--client-identifier", make_args->client_identifier,
          "ClientIdentifier: the device's serial number or UDID (the order's permanent-identifier)")
      ->required();
  make->add_option("--key-size", make_args->key_size, "Secure Enclave key size: 256 or 384")
      ->check(CLI::IsMember({256, 384}))
      ->capture_default_str();
  make->add_option("--out", make_args->out, "Output file (default: stdout)");
  make->add_option("--identifier", make_args->identifier,
                   "Profile PayloadIdentifier (default: generated)");
  make->add_option("--display-name", make_args->display_name, "Profile PayloadDisplayName")
      ->capture_default_str();
  make->add_option("--organization", make_args->organization, "PayloadOrganization")
      ->capture_default_str();
  make->add_option("--wifi-ssid", make_args->wifi_ssids,
                   "Add a WPA2 Enterprise (EAP-TLS) Wi-Fi payload using the identity (repeatable)");
  make->add_option("--vpn-server", make_args->vpn_servers,
                   "Add an IKEv2 VPN payload using the identity (repeatable)");
  make->add_option("--trust-ca", make_args->trust_ca,
                   "PEM bundle to install as trusted roots (the ACME server's TLS CA)");
  make->callback([make_args, &runner] { runner = [make_args] { return run_make(*make_args); }; });

  auto lint_args = std::make_shared<LintArgs>();
  CLI::App* lint = profile->add_subcommand(
      "lint", "Check a .mobileconfig the way a device does; exit 1 on errors");
  lint->add_option("FILE", lint_args->file, "Profile to check (XML, binary or signed)")->required();
  lint->add_flag("--json", lint_args->json, "Print the problems as JSON");
  lint->callback([lint_args, &runner] { runner = [lint_args] { return run_lint(*lint_args); }; });
}

}  // namespace attestlab::cli

// `attestlab ca init|export|issue`: the mock Apple Enterprise Attestation CA on disk
// (sim/device/apple_ca.h, docs/APPLE_FORMAT.md). Exit codes per cli/command.h: 2 for bad
// arguments (including an existing CA without --force), 3 for failures while doing the
// work (unreadable files, OpenSSL).
#include <cctype>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/command.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/pki.h"
#include "sim/device/apple_ca.h"
#include "sim/device/apple_format.h"
#include "sim/device/attestation.h"

namespace attestlab::cli {
namespace {

int fail(const std::string& command, int code, const std::string& message) {
  return complain("ca " + command, code, message);
}

// Writes text to `out`, or to stdout when `out` is empty.
int emit(const std::string& command, const std::string& out, const std::string& text) {
  if (out.empty()) {
    std::cout << text;
    return kExitOk;
  }
  auto written = pki::write_file(out, text);
  if (!written) return fail(command, kExitInternal, written.error().detail);
  return kExitOk;
}

std::string colon_hex(const Bytes& bytes) {
  std::string hex = hex_encode(bytes);
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (i != 0) out += ':';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1])));
  }
  return out;
}

struct InitArgs {
  std::string dir;
  bool force = false;
};

int run_init(const InitArgs& a) {
  if (!a.force && sim::AppleCa::exists_in(a.dir)) {
    return fail("init", kExitUsage, a.dir + " already holds a CA (use --force to replace it)");
  }
  auto ca = sim::AppleCa::create(SystemClock().now());
  if (!ca) return fail("init", kExitInternal, ca.error().detail);
  auto saved = ca->save(a.dir, a.force);
  if (!saved) return fail("init", kExitInternal, saved.error().detail);
  std::cout << "mock Apple attestation CA created in " << a.dir << " (root SHA-256 "
            << colon_hex(ca->root().fingerprint_sha256()) << ")\n";
  return kExitOk;
}

struct ExportArgs {
  std::string dir;
  std::string out;
};

int run_export(const ExportArgs& a) {
  auto ca = sim::AppleCa::load(a.dir);
  if (!ca) return fail("export", kExitInternal, ca.error().detail);
  return emit("export", a.out, ca->root().to_pem());
}

struct IssueArgs {
  std::string dir;
  std::string pubkey_file;
  std::string serial;
  std::string udid;
  bool user_enrollment = false;
  std::string os_version;
  std::string sepos_version;
  std::string llb_version;
  std::string sip;          // enabled | disabled
  std::string secure_boot;  // full | reduced | permissive
  std::string kexts;        // allowed | disallowed
  std::string nonce;
  std::string freshness_hex;
  std::string at;
  std::string out;
};

int run_issue(const IssueArgs& a) {
  if (a.user_enrollment && (!a.serial.empty() || !a.udid.empty())) {
    return fail("issue", kExitUsage, "--user-enrollment attestations carry no --serial/--udid");
  }
  if (!a.user_enrollment && (a.serial.empty() || a.udid.empty())) {
    return fail("issue", kExitUsage, "--serial and --udid are required (or --user-enrollment)");
  }
  std::optional<Bytes> freshness;
  if (!a.freshness_hex.empty()) {
    auto decoded = hex_decode(a.freshness_hex);
    if (!decoded || decoded->size() != sim::kFreshnessCodeSize) {
      return fail("issue", kExitUsage, "--freshness-hex must be 64 hex digits (32 bytes)");
    }
    freshness = std::move(*decoded);
  } else if (!a.nonce.empty()) {
    freshness = sim::freshness_code(std::string_view(a.nonce));
  }
  std::int64_t now = SystemClock().now();
  if (!a.at.empty() && !parse_rfc3339(a.at, now)) {
    return fail("issue", kExitUsage, "--at must be RFC 3339, e.g. 2026-11-25T16:00:00Z");
  }

  sim::DeviceFacts facts;
  if (!a.user_enrollment) {
    facts.serial = a.serial;
    facts.udid = a.udid;
  }
  if (!a.os_version.empty()) facts.os_version = a.os_version;
  if (!a.sepos_version.empty()) facts.sepos_version = a.sepos_version;
  if (!a.llb_version.empty()) facts.llb_version = a.llb_version;
  if (!a.sip.empty()) facts.sip_enabled = a.sip == "enabled";
  if (!a.secure_boot.empty()) facts.secure_boot = sim::parse_secure_boot_level(a.secure_boot);
  if (!a.kexts.empty()) facts.third_party_kexts_allowed = a.kexts == "allowed";

  auto pem = pki::read_file(a.pubkey_file);
  if (!pem) return fail("issue", kExitInternal, pem.error().detail);
  auto key = pki::PublicKey::from_pem(*pem);
  if (!key) {
    // A private key file is accepted too: only its public half is attested.
    auto private_key = pki::PrivateKey::from_pem(*pem);
    if (!private_key) {
      return fail("issue", kExitUsage, a.pubkey_file + ": not a PEM public key");
    }
    key = private_key->public_key();
  }
  auto ca = sim::AppleCa::load(a.dir);
  if (!ca) return fail("issue", kExitInternal, ca.error().detail);
  auto chain = ca->issue_attestation(*key, facts, freshness, now);
  if (!chain) return fail("issue", kExitInternal, chain.error().detail);
  return emit("issue", a.out, sim::apple_attobj_b64u(*chain) + "\n");
}

}  // namespace

void register_ca(CLI::App& app, Runner& runner) {
  CLI::App* ca = app.add_subcommand(
      "ca", "The mock Apple Enterprise Attestation CA (a test stand-in, never Apple's)");
  ca->require_subcommand(1);

  auto init = std::make_shared<InitArgs>();
  CLI::App* init_cmd =
      ca->add_subcommand("init", "Create a mock CA (P-384 root + intermediate) in a directory");
  init_cmd->add_option("--dir", init->dir, "Directory for root.pem/.key, intermediate.pem/.key")
      ->required();
  init_cmd->add_flag("--force", init->force, "Replace a CA already in --dir");
  init_cmd->callback([init, &runner] { runner = [init] { return run_init(*init); }; });

  auto exp = std::make_shared<ExportArgs>();
  CLI::App* export_cmd = ca->add_subcommand("export", "Print the mock root certificate (PEM)");
  export_cmd->add_option("--dir", exp->dir, "CA directory made by `ca init`")
      ->required()
      ->check(CLI::ExistingDirectory);
  export_cmd->add_option("--out", exp->out, "Write to FILE instead of stdout");
  export_cmd->callback([exp, &runner] { runner = [exp] { return run_export(*exp); }; });

  auto iss = std::make_shared<IssueArgs>();
  CLI::App* issue_cmd = ca->add_subcommand(
      "issue", "Issue an attestation for a public key; prints the base64url attObj");
  issue_cmd->add_option("--dir", iss->dir, "CA directory made by `ca init`")
      ->required()
      ->check(CLI::ExistingDirectory);
  issue_cmd->add_option("--pubkey", iss->pubkey_file, "PEM file of the attested (device) key")
      ->required()
      ->check(CLI::ExistingFile);
  CLI::Option* serial = issue_cmd->add_option(
      "--serial", iss->serial,
      "Device serial number (REQUIRED with --udid, unless --user-enrollment)");
  CLI::Option* udid = issue_cmd->add_option(
      "--udid", iss->udid, "Device UDID (REQUIRED with --serial, unless --user-enrollment)");
  issue_cmd
      ->add_flag("--user-enrollment", iss->user_enrollment,
                 "User Enrollment: no serial or UDID in the attestation")
      ->excludes(serial)
      ->excludes(udid);
  issue_cmd->add_option("--os-version", iss->os_version,
                        "OS version, e.g. 17.5 (omitted if unset)");
  issue_cmd->add_option("--sepos-version", iss->sepos_version, "sepOS version (omitted if unset)");
  issue_cmd->add_option("--llb-version", iss->llb_version, "LLB version (omitted if unset)");
  issue_cmd->add_option("--sip", iss->sip, "Mac: SIP status")
      ->check(CLI::IsMember({"enabled", "disabled"}));
  issue_cmd->add_option("--secure-boot", iss->secure_boot, "Mac: secure boot level")
      ->check(CLI::IsMember({"full", "reduced", "permissive"}));
  issue_cmd->add_option("--kexts", iss->kexts, "Mac: third-party kernel extensions")
      ->check(CLI::IsMember({"allowed", "disallowed"}));
  CLI::Option* nonce = issue_cmd->add_option(
      "--nonce", iss->nonce, "Nonce (e.g. the ACME challenge token); freshness = SHA-256(nonce)");
  issue_cmd
      ->add_option("--freshness-hex", iss->freshness_hex, "Freshness code itself, 64 hex digits")
      ->excludes(nonce);
  issue_cmd->add_option("--at", iss->at, "Issue time, RFC 3339 (default: now)");
  issue_cmd->add_option("--out", iss->out, "Write the attObj to FILE instead of stdout");
  issue_cmd->footer(
      "Required: --dir, --pubkey, and either --serial with --udid or --user-enrollment.");
  issue_cmd->callback([iss, &runner] { runner = [iss] { return run_issue(*iss); }; });
}

}  // namespace attestlab::cli

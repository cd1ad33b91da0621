// `attestlab report verify FILE.json --key PUB.pem`: checks a signed conformance
// statement (reports/statement.h). Exit 0 when every check holds, 1 when the signature,
// signer key or suite hash does not match, 2 when the file or key cannot be read or is
// not a signed statement.
#include <iostream>
#include <string>

#include "cli/command.h"
#include "cli/statement_support.h"
#include "conformance/registry.h"
#include "core/json.h"
#include "core/pki.h"
#include "reports/statement.h"

namespace attestlab::cli {

int verify_statement_file(const std::string& file, const std::string& key_file) {
  auto fail = [](const std::string& message) {
    std::cerr << "attestlab report verify: " << message << "\n";
    return kExitUsage;
  };
  auto text = pki::read_file(file);
  if (!text) return fail(text.error().detail);  // read_file names the path
  auto doc = parse_json(*text);
  if (!doc) return fail(file + ": " + doc.error().detail);
  auto pem = pki::read_file(key_file);
  if (!pem) return fail("--key: " + pem.error().detail);
  auto key = pki::PublicKey::from_pem(*pem);
  if (!key) {
    // A private key PEM names its public key too.
    auto priv = pki::PrivateKey::from_pem(*pem);
    if (!priv) return fail("--key " + key_file + ": not a PEM public key");
    key = priv->public_key();
  }
  auto checks = reports::verify_statement(*doc, *key, suite_hash(conformance::all_cases()));
  if (!checks) return fail(file + ": " + checks.error().detail);
  bool all_ok = true;
  for (const auto& c : *checks) {
    std::cout << (c.ok ? "ok   " : "FAIL ") << c.name << ": " << c.detail << "\n";
    all_ok = all_ok && c.ok;
  }
  std::cout << (all_ok ? "statement valid" : "statement NOT valid") << "\n";
  return all_ok ? kExitOk : kExitFailures;
}

}  // namespace attestlab::cli

// A signed conformance statement (issue 14): what a vendor can show. The "statement"
// member says which targets (directory URL, SHA-256 of the TLS leaf certificate) ran
// which suite (attestlab version, suite hash), when, with which selection, and every
// case's outcome; the "signature" member signs it with the tester's key.
//
// Canonical form: the signature covers Json::dump() of the "statement" member with no
// indentation. attestlab's Json (nlohmann::json) keeps object members sorted by key and
// prints numbers, strings and escapes one way, so a parsed-and-dumped statement gives
// the bytes that were signed. Keys: Ed25519 (alg "Ed25519", pure EdDSA over those
// bytes) or P-256 (alg "ES256", ECDSA-SHA-256, signature as JOSE r||s); the value is
// base64url without padding; the signer's public key is carried as a JWK.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"
#include "reports/run_result.h"

namespace attestlab::reports {

inline constexpr const char* kStatementSchema = "attestlab.statement/1";

struct StatementInput {
  std::string tool_version;  // what `attestlab --version` prints
  std::string suite_hash;    // hex SHA-256 over the registry (cli/statement_support.h)
  std::string date;          // RFC 3339 UTC
  Json selection;            // {"profiles": [...], "only": [...], "skip": [...], "strict": b}
  // Per target of the run, in order: hex SHA-256 of its TLS leaf certificate ("" = none).
  std::vector<std::string> tls_fingerprints;
};

// The "statement" member for a finished run.
Json make_statement(const RunResult& run, const StatementInput& in);

// {"statement": statement, "signature": {...}}. Only Ed25519 and P-256 keys sign.
Result<Json> sign_statement(const Json& statement, const pki::PrivateKey& key);

struct StatementCheck {
  std::string name;  // "schema", "signer key", "signature", "suite hash"
  bool ok = false;
  std::string detail;
};

// Checks a signed statement against the tester's public key and the running suite.
// A document that is not a signed statement at all is an error ("malformed"); a
// statement whose signature, key or suite hash does not match gives failed checks.
Result<std::vector<StatementCheck>> verify_statement(const Json& doc, const pki::PublicKey& key,
                                                     const std::string& suite_hash);

// What the HTML report shows of a signed statement: {"file", "suite_hash", "signer",
// "alg", "targets": [{"name", "tls_sha256"}]} (signer = RFC 7638 JWK thumbprint).
Json statement_summary(const Json& signed_doc, const std::string& file);
// The HTML section for RunResult::statement (empty string when there is none).
std::string render_statement_html(const Json& summary);

}  // namespace attestlab::reports

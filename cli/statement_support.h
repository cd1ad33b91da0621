// What `conform --statement` needs beyond reports/statement.h: the suite hash of the
// running attestlab and the TLS leaf certificate fingerprint of a target.
#pragma once

#include <string>

#include "conformance/case.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"
#include "reports/run_result.h"

namespace attestlab::cli {

// Hex SHA-256 over Json::dump() of [{"id","level","spec","section","requirement"}, ...]
// for every case in registry order (sorted by id): changes when any case is added,
// removed, re-levelled or its requirement or spec reference is reworded.
std::string suite_hash(const conformance::CaseList& cases);

// Hex SHA-256 of the DER of the TLS leaf certificate an https URL's host:port presents
// (chain not verified: it names what answered). "" for plain http. An error when the
// host cannot be reached or the handshake does not finish within timeout_s.
Result<std::string> tls_leaf_sha256(const std::string& url, int timeout_s = 10);

// The tester's signing key: an Ed25519 or P-256 private key in PEM ("malformed" otherwise).
Result<pki::PrivateKey> load_statement_key(const std::string& path);

// Signs a statement of the finished `result` (selection as given: profiles, only, skip,
// strict) with `key`, writes it to `file` and records its summary in result.statement
// for the HTML report. A target whose certificate cannot be fetched gets "" and a note on
// stderr (the statement still names its URL).
Result<void> write_signed_statement(reports::RunResult& result, const Json& selection,
                                    const pki::PrivateKey& key, const std::string& file);

// `attestlab report verify` (cli/report_verify.cpp): prints one line per check; exit 0
// valid, 1 a check failed, 2 unreadable or not a signed statement.
int verify_statement_file(const std::string& file, const std::string& key_file);

}  // namespace attestlab::cli

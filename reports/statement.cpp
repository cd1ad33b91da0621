#include "reports/statement.h"

#include "core/bytes.h"
#include "core/jose.h"
#include "reports/escape.h"

namespace attestlab::reports {
namespace {

Error malformed(const std::string& detail) {
  return Error::make("malformed", "statement: " + detail);
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The algorithm a key signs statements with, or "" for keys statements do not use.
std::string statement_alg(const pki::KeySpec& spec) {
  if (spec == pki::KeySpec::ed25519()) return "Ed25519";
  if (spec == pki::KeySpec::p256()) return "ES256";
  return "";
}

}  // namespace

Json make_statement(const RunResult& run, const StatementInput& in) {
  // The counts are the result JSON's own "summary" (whatever outcomes it counts).
  const Json run_json = run.to_json();
  Json targets = Json::array();
  for (std::size_t i = 0; i < run.targets.size(); ++i) {
    const TargetRun& t = run.targets[i];
    Json cases = Json::array();
    for (const auto& c : t.cases)
      cases.push_back({{"id", c.id}, {"outcome", to_string(c.outcome)}, {"level", c.level}});
    targets.push_back({{"name", t.name},
                       {"directory_url", t.directory_url},
                       {"tls_sha256", i < in.tls_fingerprints.size() ? in.tls_fingerprints[i] : ""},
                       {"summary", run_json["targets"][i]["summary"]},
                       {"cases", std::move(cases)}});
  }
  return {{"schema", kStatementSchema},  {"tool_version", in.tool_version},
          {"suite_hash", in.suite_hash}, {"date", in.date},
          {"selection", in.selection},   {"targets", std::move(targets)}};
}

Result<Json> sign_statement(const Json& statement, const pki::PrivateKey& key) {
  const std::string alg = statement_alg(key.spec());
  if (alg.empty())
    return Error::make("malformed", "a statement is signed with an Ed25519 or P-256 key, not " +
                                        key.spec().name());
  const std::string canonical = statement.dump();
  Bytes value;
  if (alg == "Ed25519") {
    auto signed_bytes = key.sign(to_bytes(canonical), pki::Digest::None);
    if (!signed_bytes) return signed_bytes.error();
    value = std::move(*signed_bytes);
  } else {
    auto der = key.sign(to_bytes(canonical), pki::Digest::SHA256);
    if (!der) return der.error();
    auto raw = pki::ecdsa_der_to_raw(*der, 32);
    if (!raw) return raw.error();
    value = std::move(*raw);
  }
  return Json{{"statement", statement},
              {"signature",
               {{"alg", alg},
                {"public_key_jwk", jose::Jwk(key.public_key()).to_json()},
                {"value", base64url_encode(value)}}}};
}

Result<std::vector<StatementCheck>> verify_statement(const Json& doc, const pki::PublicKey& key,
                                                     const std::string& suite_hash) {
  if (!doc.is_object()) return malformed("not a JSON object");
  auto st = doc.find("statement");
  auto sig = doc.find("signature");
  if (st == doc.end() || !st->is_object()) return malformed("no \"statement\" object");
  if (sig == doc.end() || !sig->is_object()) return malformed("no \"signature\" object");
  auto jwk_json = sig->find("public_key_jwk");
  if (jwk_json == sig->end()) return malformed("signature has no \"public_key_jwk\"");
  auto jwk = jose::Jwk::parse(*jwk_json);
  if (!jwk) return malformed("public_key_jwk: " + jwk.error().detail);
  auto value = base64url_decode(str(*sig, "value"));
  if (!value) return malformed("signature value is not base64url");
  const std::string alg = str(*sig, "alg");
  if (alg != "Ed25519" && alg != "ES256")
    return malformed("signature alg \"" + alg + "\" is not Ed25519 or ES256");

  std::vector<StatementCheck> checks;
  const bool schema_ok = str(*st, "schema") == kStatementSchema;
  checks.push_back(
      {"schema", schema_ok, schema_ok ? kStatementSchema : "\"" + str(*st, "schema") + "\""});

  const bool key_ok = jwk->key().equals(key);
  checks.push_back({"signer key", key_ok,
                    key_ok ? "the statement's key is --key (" + jwk->thumbprint() + ")"
                           : "the statement names key " + jwk->thumbprint() + ", not --key (" +
                                 jose::Jwk(key).thumbprint() + ")"});

  bool sig_ok = false;
  const Bytes canonical = to_bytes(st->dump());
  if (alg == "Ed25519" && key.spec() == pki::KeySpec::ed25519()) {
    sig_ok = key.verify(canonical, *value, pki::Digest::None);
  } else if (alg == "ES256" && key.spec() == pki::KeySpec::p256() && value->size() == 64) {
    auto der = pki::ecdsa_raw_to_der(*value);
    sig_ok = der && key.verify(canonical, *der, pki::Digest::SHA256);
  }
  checks.push_back({"signature", sig_ok,
                    sig_ok ? alg + " over the canonical statement verifies with --key"
                           : alg + " signature does not verify with --key (statement changed, "
                                   "or another key)"});

  const std::string stated = str(*st, "suite_hash");
  const bool hash_ok = stated == suite_hash;
  checks.push_back({"suite hash", hash_ok,
                    hash_ok ? stated : "statement " + stated + ", this attestlab " + suite_hash});
  return checks;
}

Json statement_summary(const Json& signed_doc, const std::string& file) {
  const Json& st = signed_doc.at("statement");
  const Json& sig = signed_doc.at("signature");
  Json out{{"file", file},
           {"suite_hash", str(st, "suite_hash")},
           {"alg", str(sig, "alg")},
           {"signer", ""},
           {"targets", Json::array()}};
  if (auto jwk = jose::Jwk::parse(sig.value("public_key_jwk", Json::object())))
    out["signer"] = jwk->thumbprint();
  for (const auto& t : st.value("targets", Json::array()))
    out["targets"].push_back({{"name", str(t, "name")}, {"tls_sha256", str(t, "tls_sha256")}});
  return out;
}

std::string render_statement_html(const Json& summary) {
  if (!summary.is_object()) return "";
  std::string h = "<h2>Signed statement</h2>\n<p><code>" + escape_xml(str(summary, "file")) +
                  "</code> · " + escape_xml(str(summary, "alg")) +
                  " · signer key (JWK thumbprint) <code>" + escape_xml(str(summary, "signer")) +
                  "</code> · suite hash <code>" + escape_xml(str(summary, "suite_hash")) +
                  "</code></p>\n<table><tr><th>target</th><th>TLS certificate SHA-256</th></tr>\n";
  for (const auto& t : summary.value("targets", Json::array())) {
    const std::string fp = str(t, "tls_sha256");
    h += "<tr><td>" + escape_xml(str(t, "name")) + "</td><td><code>" +
         escape_xml(fp.empty() ? "(no TLS)" : fp) + "</code></td></tr>\n";
  }
  return h + "</table>\n";
}

}  // namespace attestlab::reports

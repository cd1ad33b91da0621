#include "cli/statement_support.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <ctime>
#include <iostream>

#include "conformance/registry.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/json.h"
#include "reports/statement.h"

namespace attestlab::cli {

namespace asio = boost::asio;

std::string suite_hash(const conformance::CaseList& cases) {
  Json list = Json::array();
  for (const auto& c : cases)
    list.push_back({{"id", c.id},
                    {"level", conformance::to_string(c.level)},
                    {"spec", c.spec},
                    {"section", c.section},
                    {"requirement", c.requirement}});
  return hex_encode(sha256(list.dump()));
}

Result<std::string> tls_leaf_sha256(const std::string& url, int timeout_s) {
  auto parsed = http::Url::parse(url);
  if (!parsed) return parsed.error();
  if (parsed->scheme != "https") return std::string();
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, ctx);
  SSL_set_tlsext_host_name(stream.native_handle(), parsed->host.c_str());
  asio::ip::tcp::resolver resolver(io);
  boost::system::error_code failure;
  bool done = false;
  resolver.async_resolve(
      parsed->host, std::to_string(parsed->port),
      [&](const boost::system::error_code& ec, const asio::ip::tcp::resolver::results_type& r) {
        if (ec) {
          failure = ec;
          return;
        }
        asio::async_connect(stream.lowest_layer(), r,
                            [&](const boost::system::error_code& ec2, const auto&) {
                              if (ec2) {
                                failure = ec2;
                                return;
                              }
                              stream.async_handshake(asio::ssl::stream_base::client,
                                                     [&](const boost::system::error_code& ec3) {
                                                       failure = ec3;
                                                       done = !ec3;
                                                     });
                            });
      });
  io.run_for(std::chrono::seconds(timeout_s));
  const std::string where = parsed->host + ":" + std::to_string(parsed->port);
  if (failure) return Error::make("unavailable", where + ": " + failure.message());
  if (!done) return Error::make("unavailable", where + ": no TLS handshake within timeout");
  X509* leaf = SSL_get1_peer_certificate(stream.native_handle());
  if (leaf == nullptr) return Error::make("unavailable", where + ": no peer certificate");
  unsigned char* der = nullptr;
  const int len = i2d_X509(leaf, &der);
  X509_free(leaf);
  if (len <= 0) return Error::make("internal", where + ": cannot encode the peer certificate");
  Bytes bytes(der, der + len);
  OPENSSL_free(der);
  return hex_encode(sha256(bytes));
}

Result<pki::PrivateKey> load_statement_key(const std::string& path) {
  auto pem = pki::read_file(path);
  if (!pem) return Error::make("malformed", "--sign-key " + path + ": " + pem.error().detail);
  auto key = pki::PrivateKey::from_pem(*pem);
  if (!key) return Error::make("malformed", "--sign-key " + path + ": " + key.error().detail);
  if (key->spec() != pki::KeySpec::ed25519() && key->spec() != pki::KeySpec::p256())
    return Error::make("malformed", "--sign-key " + path + ": an Ed25519 or P-256 key signs " +
                                        "statements, not " + key->spec().name());
  return key;
}

Result<void> write_signed_statement(reports::RunResult& result, const Json& selection,
                                    const pki::PrivateKey& key, const std::string& file) {
  reports::StatementInput in;
  in.tool_version = reports::kToolVersion;
  in.suite_hash = suite_hash(conformance::all_cases());
  in.date = format_rfc3339(static_cast<std::int64_t>(std::time(nullptr)));
  in.selection = selection;
  for (const auto& t : result.targets) {
    auto fp = tls_leaf_sha256(t.directory_url);
    if (!fp) {
      std::cerr << "attestlab conform: statement: " << t.name
                << ": no TLS certificate fingerprint: " << fp.error().detail << "\n";
    }
    in.tls_fingerprints.push_back(fp ? *fp : "");
  }
  auto signed_doc = reports::sign_statement(reports::make_statement(result, in), key);
  if (!signed_doc) return signed_doc.error();
  ATTESTLAB_TRY(pki::write_file(file, signed_doc->dump(2) + "\n"));
  result.statement = reports::statement_summary(*signed_doc, file);
  return ok();
}

}  // namespace attestlab::cli

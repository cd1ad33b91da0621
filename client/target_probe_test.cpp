#include "client/target_probe.h"

#include <gtest/gtest.h>

#include "core/child_process.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/pki.h"
#include "testing/acme_stub.h"

namespace attestlab::client {
namespace {

std::string problem_line(const Result<Directory>& r) {
  return r.ok() ? std::string("(accepted)") : r.error().detail;
}

TEST(TargetProbe, AnAcmeDirectoryPasses) {
  load::testing::AcmeStub stub({});
  auto dir = probe_target(stub.directory_url(), {});
  ASSERT_TRUE(dir.ok()) << dir.error().detail;
  EXPECT_FALSE(dir->new_order.empty());
}

TEST(TargetProbe, UnreachableTargetIsOneLineNamingIt) {
  const std::string url = "https://127.0.0.1:" + std::to_string(free_loopback_port()) + "/dir";
  auto r = probe_target(url, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "badTarget");
  EXPECT_NE(r.error().detail.find(url + " is unreachable"), std::string::npos) << problem_line(r);
  EXPECT_EQ(r.error().detail.find('\n'), std::string::npos);
}

TEST(TargetProbe, SomethingElseThanAcmeIsNotADirectory) {
  // An HTTP server that answers 404 everywhere, and one that answers JSON without ACME.
  auto not_found = http::Server::start({}, [](const http::Request&) {
    http::Response r;
    r.status = 404;
    return r;
  });
  ASSERT_TRUE(not_found.ok());
  const std::string url404 = "http://127.0.0.1:" + std::to_string((*not_found)->port()) + "/dir";
  auto r = probe_target(url404, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("is not an ACME directory: it answered HTTP 404"),
            std::string::npos)
      << problem_line(r);

  auto json = http::Server::start({}, [](const http::Request&) {
    http::Response r;
    r.set("Content-Type", "application/json");
    r.body = R"({"hello": "world"})";
    return r;
  });
  ASSERT_TRUE(json.ok());
  const std::string url = "http://127.0.0.1:" + std::to_string((*json)->port()) + "/dir";
  r = probe_target(url, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("is not an ACME directory"), std::string::npos)
      << problem_line(r);
  EXPECT_FALSE(probe_target("ftp://x/dir", {}).ok());
}

TEST(TargetProbe, UntrustedTlsHintsAtTrustCa) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  pki::CertificateSpec spec;
  spec.subject = {{"CN", "localhost"}};
  spec.sans.ip = {"127.0.0.1"};
  spec.not_before = SystemClock().now() - 60;
  spec.not_after = SystemClock().now() + 3600;
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  ASSERT_TRUE(cert.ok());
  http::ServerOptions options;
  options.tls_cert_pem = cert->to_pem();
  options.tls_key_pem = key->to_pem();
  auto server = http::Server::start(options, [](const http::Request&) { return http::Response(); });
  ASSERT_TRUE(server.ok()) << server.error().detail;
  const std::string url = "https://127.0.0.1:" + std::to_string((*server)->port()) + "/dir";
  auto r = probe_target(url, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("TLS"), std::string::npos) << problem_line(r);
  EXPECT_NE(r.error().detail.find("--trust-ca"), std::string::npos) << problem_line(r);
}

}  // namespace
}  // namespace attestlab::client

// GoogleTest fixture running a real AcmeServer on 127.0.0.1:0 with a temporary data dir,
// an http-01 responder, and (on demand) pebble-challtestsrv as DNS. Test-only.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.h"
#include "server/acme/acme_server.h"
#include "testing/acme_test_client.h"
#include "testing/temp_dir.h"

namespace attestlab::server::testing {

// A port that was free for UDP and TCP at the time of the call.
inline std::uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(udp);
      continue;
    }
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(tcp);
    close(udp);
    if (ok) return ntohs(addr.sin_port);
  }
  return 0;
}

// pebble-challtestsrv as a child process: DNS on dns_port (every A query answers
// 127.0.0.1), TXT records set through its management API.
class ChallTestSrv {
 public:
  bool start() {
    dns_port = free_port();
    management_port = free_port();
    std::string dns = "127.0.0.1:" + std::to_string(dns_port);
    std::string mgmt = "127.0.0.1:" + std::to_string(management_port);
    const char* argv[] = {"pebble-challtestsrv",
                          "-defaultIPv6",
                          "",
                          "-defaultIPv4",
                          "127.0.0.1",
                          "-dns01",
                          dns.c_str(),
                          "-http01",
                          "",
                          "-https01",
                          "",
                          "-tlsalpn01",
                          "",
                          "-management",
                          mgmt.c_str(),
                          nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid_, "pebble-challtestsrv", &actions, nullptr, const_cast<char**>(argv),
                          environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return false;
    http::Client client;
    for (int i = 0; i < 200; ++i) {
      auto r =
          client.request("POST", management() + "/clear-txt", {}, R"({"host":"probe.invalid."})");
      if (r && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  ~ChallTestSrv() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  std::string management() const { return "http://127.0.0.1:" + std::to_string(management_port); }
  bool set_txt(const std::string& fqdn, const std::string& value) {
    http::Client client;
    Json body{{"host", fqdn}, {"value", value}};
    auto r = client.request("POST", management() + "/set-txt", {}, body.dump());
    return r && r->status == 200;
  }

  std::uint16_t dns_port = 0;
  std::uint16_t management_port = 0;

 private:
  pid_t pid_ = -1;
};

class AcmeServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    config.listen_host = "127.0.0.1";
    config.listen_port = 0;
    config.data_dir = data_dir;
    config.io_threads = 2;
    config.validation_threads = 2;
    config.http01_port = responder.port();
    config.retry_after_seconds = 1;
  }

  void TearDown() override {
    if (server) server->stop();
    server.reset();
  }

  void start_server(std::unique_ptr<DeviceAttestValidator> validator = nullptr) {
    auto started = AcmeServer::start(config, clock, LogLevel::Quiet, std::move(validator));
    ASSERT_TRUE(started.ok()) << started.error().detail;
    server = std::move(*started);
  }

  // `c`'s account as seen through another server on the same store (`at`): same key, kid
  // on that server's URLs.
  std::unique_ptr<TestAcmeClient> same_account_at(AcmeServer& at, const TestAcmeClient& c) {
    auto other = std::make_unique<TestAcmeClient>(at.directory_url(), data_dir + "/tls/cert.pem");
    other->key = c.key;
    std::string base = other->url("newOrder").substr(0, other->url("newOrder").rfind("/new-order"));
    other->kid = base + "/acct/" + c.kid.substr(c.kid.rfind('/') + 1);
    return other;
  }

  std::unique_ptr<TestAcmeClient> make_client(pki::KeySpec spec = pki::KeySpec::p256()) {
    return std::make_unique<TestAcmeClient>(server->directory_url(), data_dir + "/tls/cert.pem",
                                            spec);
  }

  // A client with a fresh account.
  std::unique_ptr<TestAcmeClient> account_client() {
    auto c = make_client();
    Reply r = c->new_account();
    EXPECT_EQ(r.status, 201) << r.response.body;
    return c;
  }

  // Runs new-order for `ip` (with the members of `extra` too, e.g. notAfter) through a valid
  // http-01 challenge; returns the order URL.
  std::string ready_ip_order(TestAcmeClient& c, const std::string& ip = "127.0.0.1",
                             const Json& extra = Json::object()) {
    Json payload = extra;
    payload["identifiers"] = Json::array({{{"type", "ip"}, {"value", ip}}});
    Reply order = c.post(c.url("newOrder"), payload);
    EXPECT_EQ(order.status, 201) << order.response.body;
    std::string order_url = order.location();
    Reply authz = c.post_as_get(order.body["authorizations"][0].get<std::string>());
    Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
    responder.provision(challenge["token"], c.key_authorization(challenge["token"]));
    Reply started = c.post(challenge["url"], Json::object());
    EXPECT_EQ(started.status, 200) << started.response.body;
    Reply done = c.poll(order_url);
    EXPECT_EQ(done.status_field(), "ready") << done.response.body;
    return order_url;
  }

  attestlab::testing::TempDir tmp_{"acme"};
  std::string data_dir = tmp_.path();
  ServerConfig config;
  std::shared_ptr<VirtualClock> clock = std::make_shared<VirtualClock>();
  Http01Responder responder;
  std::unique_ptr<AcmeServer> server;
};

}  // namespace attestlab::server::testing

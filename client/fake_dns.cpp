#include "client/fake_dns.h"

#include <chrono>
#include <thread>

#include "core/http.h"
#include "core/pki.h"

namespace attestlab::client {

Result<void> FakeDns::start(const std::string& log_path) {
  const std::string program = find_program("pebble-challtestsrv");
  if (program.empty()) return Error::make("serverInternal", "pebble-challtestsrv is not installed");
  std::string last_log;
  // Ports are picked before the child binds them, so another process may take one first:
  // a child that dies at start-up is retried on new ports.
  for (int attempt = 0; attempt < 3; ++attempt) {
    process_.stop();
    dns_port_ = free_loopback_port(true);
    management_port_ = free_loopback_port();
    if (!process_.start(program,
                        {"-defaultIPv6", "", "-defaultIPv4", "127.0.0.1", "-dns01", dns_address(),
                         "-http01", "", "-https01", "", "-tlsalpn01", "", "-management",
                         "127.0.0.1:" + std::to_string(management_port_)},
                        log_path)) {
      return Error::make("serverInternal", "cannot fork pebble-challtestsrv");
    }
    http::ClientOptions options;
    options.timeout = std::chrono::milliseconds(500);
    http::Client client(options);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (process_.running() && std::chrono::steady_clock::now() < deadline) {
      auto r = client.request("POST", management_url() + "/clear-txt", {},
                              R"({"host":"_probe.attestlab.invalid."})");
      if (r && r->status == 200) return ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    auto text = pki::read_file(log_path);
    last_log = text ? *text : "";
  }
  process_.stop();
  return Error::make("serverInternal", "pebble-challtestsrv did not start: " + last_log);
}

std::string FakeDns::dns_address() const {
  return "127.0.0.1:" + std::to_string(dns_port_);
}

std::string FakeDns::management_url() const {
  return "http://127.0.0.1:" + std::to_string(management_port_);
}

Result<void> DnsTxtClient::post(const std::string& path, const Json& body) const {
  http::Client client;
  std::string base = base_;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto r = client.request("POST", base + path, {{"content-type", "application/json"}}, body.dump());
  if (!r) return r.error();
  if (r->status != 200) {
    return Error::make("connection", "challtestsrv " + path + " answered HTTP " +
                                         std::to_string(r->status) + ": " + r->body);
  }
  return ok();
}

static std::string fqdn(const std::string& name) {
  return !name.empty() && name.back() == '.' ? name : name + ".";
}

Result<void> DnsTxtClient::set_txt(const std::string& name, const std::string& value) const {
  return post("/set-txt", Json{{"host", fqdn(name)}, {"value", value}});
}

Result<void> DnsTxtClient::clear_txt(const std::string& name) const {
  return post("/clear-txt", Json{{"host", fqdn(name)}});
}

}  // namespace attestlab::client

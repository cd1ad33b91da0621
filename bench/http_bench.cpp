// The validator's http-01 fetch (server/acme/validation_checks.cpp) as its worker pays for
// it: CPU of the calling thread for one GET of a key authorization from a local http::Server
// over loopback, a new connection each time (a validation never reuses one). Two ways of
// holding the client: a new http::Client per fetch (its io_context, reactor and resolver
// built and torn down each time), and one client per thread whose options are set per fetch
// with keep_alive off. The server's threads are not measured.
//
// BM_HttpsNewConnectionServerCpu: what a full TLS handshake and one request cost the
// server (an http::Server with TLS, as `attestlab serve` runs it): the client makes a new
// connection per iteration; the figure is the counter server_cpu (bench/cpu_split.h), the
// CPU of the process's threads other than the client's, per connection.
//
// BM_HttpsKeptConnectionRequest: what one POST over a kept TLS connection costs the client
// (http::Client as the load generator and the conformance runner use it): the benchmark's
// CPU time is the calling thread's; server_cpu is the server's.
#include <benchmark/benchmark.h>

#include <ctime>
#include <memory>
#include <string>

#include "bench/cpu_split.h"
#include "core/http.h"
#include "core/pki.h"

namespace {

using namespace attestlab;

constexpr const char* kBody =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

// What the challenged host serves at the token's URL.
http::Response key_authorization(const http::Request&) {
  http::Response response;
  response.body = kBody;
  return response;
}

struct Target {
  std::unique_ptr<http::Server> server;
  std::string url;
  http::ClientOptions options;
};

Target& target() {
  static Target t = [] {
    Target made;
    http::ServerOptions options;
    options.threads = 1;
    auto server = http::Server::start(options, key_authorization);
    if (!server) return made;
    made.server = std::move(*server);
    made.url = "http://example.test/.well-known/acme-challenge/token";
    made.options.connect_host = "127.0.0.1";
    made.options.connect_port = made.server->port();
    made.options.max_response_body = 4096;
    made.options.keep_alive = false;
    return made;
  }();
  return t;
}

bool fetched(const Result<http::Response>& response) {
  return response && response->status == 200 && response->body == kBody;
}

void BM_Http01FetchNewClient(benchmark::State& state) {
  auto& t = target();
  if (!t.server) return state.SkipWithError("the local server did not start");
  for (auto _ : state) {
    http::Client client(t.options);
    if (!fetched(client.get(t.url))) return state.SkipWithError("fetch failed");
  }
}
BENCHMARK(BM_Http01FetchNewClient)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

void BM_Http01FetchKeptClient(benchmark::State& state) {
  auto& t = target();
  if (!t.server) return state.SkipWithError("the local server did not start");
  http::Client client;
  for (auto _ : state) {
    client.set_options(t.options);
    if (!fetched(client.get(t.url))) return state.SkipWithError("fetch failed");
  }
}
BENCHMARK(BM_Http01FetchKeptClient)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

// An http::Server with TLS (a new P-256 certificate for 127.0.0.1) serving the key
// authorization; null when it does not start.
std::unique_ptr<http::Server> tls_server() {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) return nullptr;
  pki::CertificateSpec spec;
  spec.subject = {{"CN", "attestlab bench"}};
  spec.sans.ip = {"127.0.0.1"};
  spec.not_before = std::time(nullptr) - 3600;
  spec.not_after = std::time(nullptr) + 86400;
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  if (!cert) return nullptr;
  http::ServerOptions options;
  options.threads = 1;
  options.tls_cert_pem = cert->to_pem();
  options.tls_key_pem = key->to_pem();
  auto server = http::Server::start(options, key_authorization);
  return server ? std::move(*server) : nullptr;
}

void BM_HttpsNewConnectionServerCpu(benchmark::State& state) {
  auto server = tls_server();
  if (!server) return state.SkipWithError("the TLS server did not start");
  const std::string url = "https://127.0.0.1:" + std::to_string(server->port()) + "/";
  http::ClientOptions client_options;
  client_options.verify_tls = false;  // the client's cost is not what is measured
  client_options.keep_alive = false;
  http::Client client(client_options);
  const bench::CpuSplit cpu;
  for (auto _ : state) {
    if (!fetched(client.get(url))) return state.SkipWithError("fetch failed");
  }
  bench::set_cpu_counters(state, cpu);
}
BENCHMARK(BM_HttpsNewConnectionServerCpu)->Unit(benchmark::kMicrosecond)->MinTime(3.0);

void BM_HttpsKeptConnectionRequest(benchmark::State& state) {
  auto server = tls_server();
  if (!server) return state.SkipWithError("the TLS server did not start");
  const std::string url = "https://127.0.0.1:" + std::to_string(server->port()) + "/";
  http::ClientOptions client_options;
  client_options.verify_tls = false;
  http::Client client(client_options);
  const std::string body(600, 'j');  // about a JWS's size
  if (!fetched(client.request("POST", url, {}, body)))
    return state.SkipWithError("first request failed");
  const bench::CpuSplit cpu;
  for (auto _ : state) {
    if (!fetched(client.request("POST", url, {}, body)))
      return state.SkipWithError("request failed");
  }
  bench::set_cpu_counters(state, cpu);
  if (server->connection_stats().open != 1) state.SkipWithError("the connection was not kept");
}
BENCHMARK(BM_HttpsKeptConnectionRequest)->Unit(benchmark::kMicrosecond)->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();

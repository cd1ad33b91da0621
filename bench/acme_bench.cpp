// ACME server benchmarks against an in-process AcmeServer over HTTPS (keep-alive, as a
// client polling an order sees it):
//  - BM_ServerRequest/post_as_get_authz: one POST-as-GET of an authorization, the
//    commonest request (JWS parse and ES256 verify, nonce check and store write, account
//    cache, authz read, JSON response, TLS and HTTP on both sides), beside the raw ES256
//    verify that is its crypto floor; /new_nonce (HEAD newNonce) is the same path without
//    a JWS or a store access, so the difference is what the handler adds;
//  - BM_FullEnrollmentInProcess: a whole enrollment (account, order for 127.0.0.1,
//    http-01 through an in-process responder, finalize, download);
//  - BM_ServerHandle/*: the same requests handed to AcmeServer::handle on the benchmark
//    thread, as the HTTP session hands them over after parsing (routing, JWS checks,
//    nonce, store, handler, response envelope, metrics, log line) without TLS, HTTP
//    parsing or the kernel: what the server's own code costs per request. The client's
//    signing happens in paused batches and is not counted.
//
// Server CPU is measured, not inferred from real time: the counter server_cpu is the CPU
// time of the whole process minus that of the benchmark (client) thread, per iteration,
// i.e. the server's I/O and validation threads plus the responder. That is the figure to
// compare with the crypto floor; the benchmark's own CPU time is the client's.
#include <benchmark/benchmark.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/cpu_split.h"
#include "bench/jws_fixture.h"
#include "bench/raw_openssl.h"
#include "bench/temp_store.h"
#include "core/clock.h"
#include "core/jose.h"
#include "server/acme/acme_server.h"
#include "testing/acme_test_client.h"

namespace {

using namespace attestlab;
using server::testing::Reply;
using server::testing::SignOptions;
using server::testing::TestAcmeClient;

using bench::CpuSplit;
using bench::set_cpu_counters;

// One server for the whole run (real clock, quiet log), its data in a temp dir.
class InProcessServer {
 public:
  InProcessServer() {
    if (dir_.path().empty()) return;
    server::ServerConfig config;
    config.listen_host = "127.0.0.1";
    config.listen_port = 0;
    config.data_dir = dir_.path();
    config.http01_port = responder_.port();
    config.io_threads = 2;
    config.validation_threads = 2;
    auto started =
        server::AcmeServer::start(config, SystemClock::instance(), server::LogLevel::Quiet);
    if (started.ok()) server_ = std::move(started).value();
  }
  ~InProcessServer() {
    if (server_) server_->stop();
  }
  bool ok() const { return server_ != nullptr; }
  std::string directory() const { return server_->directory_url(); }
  std::string trust() const { return dir_.path() + "/tls/cert.pem"; }
  server::testing::Http01Responder& responder() { return responder_; }
  server::AcmeServer& server() { return *server_; }

 private:
  bench::TempDir dir_;  // declared first, so the server stops before its directory goes
  server::testing::Http01Responder responder_;
  std::unique_ptr<server::AcmeServer> server_;
};

// The server every benchmark here shares (removed at exit), or nullptr after
// SkipWithError when it did not start.
InProcessServer* shared_server(benchmark::State& state) {
  static InProcessServer server;
  if (!server.ok()) state.SkipWithError("server did not start");
  return server.ok() ? &server : nullptr;
}

// One enrollment; false (and a message) on any protocol failure.
bool enroll(TestAcmeClient& c, server::testing::Http01Responder& responder, std::string& error,
            int& polls) {
  c.key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  if (c.new_account().status != 201) return error = "new-account", false;
  Reply order = c.new_order({{"ip", "127.0.0.1"}});
  if (order.status != 201) return error = "new-order", false;
  Reply authz = c.post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
  if (challenge.is_null()) return error = "authz", false;
  responder.provision(challenge["token"], c.key_authorization(challenge["token"]));
  if (c.post(challenge["url"], Json::object()).status != 200) return error = "challenge", false;
  Reply ready;
  for (int i = 0; i < 5000; ++i) {
    timespec pause{0, 1000000};  // 1 ms before each poll
    nanosleep(&pause, nullptr);
    ++polls;
    ready = c.post_as_get(order.location());
    if (ready.status_field() != "pending") break;
  }
  if (ready.status_field() != "ready")
    return error = "order not ready: " + ready.response.body, false;
  auto csr_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Reply finalized = c.post(order.body["finalize"],
                           Json{{"csr", TestAcmeClient::csr_b64(csr_key, {}, {"127.0.0.1"})}});
  if (finalized.status_field() != "valid") return error = "finalize", false;
  Reply cert = c.post_as_get(finalized.body["certificate"]);
  if (cert.status != 200 || cert.response.body.empty()) return error = "download", false;
  return true;
}

void BM_FullEnrollmentInProcess(benchmark::State& state) {
  InProcessServer* env = shared_server(state);
  if (env == nullptr) return;
  TestAcmeClient client(env->directory(), env->trust());
  int polls = 0;
  const CpuSplit cpu;
  for (auto _ : state) {
    std::string error;
    if (!enroll(client, env->responder(), error, polls)) {
      state.SkipWithError(error.c_str());
      break;
    }
  }
  set_cpu_counters(state, cpu.process(), cpu.thread());
  state.counters["order_polls"] = benchmark::Counter(polls, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_FullEnrollmentInProcess)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(3.0);

// A client with an account and a pending order for 127.0.0.1; its authorization URL.
std::string authz_url_for(TestAcmeClient& client) {
  if (client.new_account().status != 201) return "";
  Reply order = client.new_order({{"ip", "127.0.0.1"}});
  if (order.status != 201 || !order.body.contains("authorizations")) return "";
  const Json& authorizations = order.body["authorizations"];
  if (!authorizations.is_array() || authorizations.empty() || !authorizations[0].is_string())
    return "";
  return authorizations[0].get<std::string>();
}

// An authorization fetched with POST-as-GET: 200 and the order's identifier.
bool authz_fetched(const Reply& reply) {
  if (reply.status != 200 || !reply.body.is_object() || !reply.body.contains("identifier"))
    return false;
  const Json& identifier = reply.body["identifier"];
  const std::string* value = identifier.is_object() ? get_string(identifier, "value") : nullptr;
  return value != nullptr && *value == "127.0.0.1";
}

void BM_ServerRequestPostAsGet(benchmark::State& state) {
  InProcessServer* env = shared_server(state);
  if (env == nullptr) return;
  TestAcmeClient client(env->directory(), env->trust());
  const std::string url = authz_url_for(client);
  if (url.empty() || !authz_fetched(client.post_as_get(url))) {
    state.SkipWithError("POST-as-GET of the authorization failed");
    return;
  }
  const CpuSplit cpu;
  for (auto _ : state) {
    if (!authz_fetched(client.post_as_get(url))) {
      state.SkipWithError("POST-as-GET failed");
      break;
    }
  }
  set_cpu_counters(state, cpu.process(), cpu.thread());
  state.SetLabel(bench::twin_label("BM_RawDigestVerify/P-256"));
}
BENCHMARK(BM_ServerRequestPostAsGet)
    ->Name("BM_ServerRequest/post_as_get_authz")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_ServerRequestNewNonce(benchmark::State& state) {
  InProcessServer* env = shared_server(state);
  if (env == nullptr) return;
  TestAcmeClient client(env->directory(), env->trust());
  const std::string url = client.url("newNonce");
  Reply once = client.request("HEAD", url);
  if (once.status != 200 || once.header("Replay-Nonce").empty()) {
    state.SkipWithError("newNonce failed");
    return;
  }
  const CpuSplit cpu;
  for (auto _ : state) {
    Reply reply = client.request("HEAD", url);
    if (reply.status != 200 || reply.header("Replay-Nonce").empty()) {
      state.SkipWithError("newNonce failed");
      break;
    }
  }
  set_cpu_counters(state, cpu.process(), cpu.thread());
}
BENCHMARK(BM_ServerRequestNewNonce)
    ->Name("BM_ServerRequest/new_nonce")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// A request as the HTTP session hands it to AcmeServer::handle.
http::Request handed_over(const std::string& method, const std::string& url,
                          std::string body = "") {
  http::Request request;
  request.method = method;
  const std::size_t host = url.find("://") + 3;
  const std::size_t path = url.find('/', host);
  const std::string authority = url.substr(host, path - host);
  request.target = url.substr(path);
  request.headers.emplace("host", authority);
  if (!body.empty()) request.headers.emplace("content-type", "application/jose+json");
  request.body = std::move(body);
  request.remote_addr = "127.0.0.1";
  request.tls = true;
  return request;
}

// A fresh nonce from the server, in process.
std::string handed_nonce(server::AcmeServer& server, const std::string& new_nonce_url) {
  http::Response response = server.handle(handed_over("HEAD", new_nonce_url));
  return response.header("Replay-Nonce").value_or("");
}

// Hands prepared requests to the server one per iteration, making `batch` more with
// `prepare` (paused, not counted) whenever they run out; `accepted` judges each response.
// Stops with SkipWithError when preparing fails or a response is not accepted.
void handle_in_batches(benchmark::State& state, server::AcmeServer& server, std::size_t batch,
                       const std::function<std::optional<http::Request>()>& prepare,
                       const std::function<bool(const http::Response&)>& accepted) {
  std::vector<http::Request> requests;
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == requests.size()) {
      state.PauseTiming();
      requests.clear();
      next = 0;
      for (std::size_t i = 0; i < batch; ++i) {
        auto request = prepare();
        if (!request) break;
        requests.push_back(std::move(*request));
      }
      state.ResumeTiming();
      if (requests.size() != batch) {
        state.SkipWithError("could not prepare the requests");
        break;
      }
    }
    http::Response response = server.handle(requests[next++]);
    if (!accepted(response)) {
      state.SkipWithError(("unexpected answer: " + response.body).c_str());
      break;
    }
    benchmark::DoNotOptimize(response);
  }
}

void BM_ServerHandleUnsigned(benchmark::State& state, const char* method, const char* resource) {
  InProcessServer* env = shared_server(state);
  if (env == nullptr) return;
  TestAcmeClient client(env->directory(), env->trust());
  const std::string url =
      std::string(resource) == "directory" ? env->directory() : client.url(resource);
  const http::Request request = handed_over(method, url);
  for (auto _ : state) {
    http::Response response = env->server().handle(request);
    if (response.status != 200 && response.status != 204) {
      state.SkipWithError("unexpected status");
      break;
    }
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK_CAPTURE(BM_ServerHandleUnsigned, new_nonce, "HEAD", "newNonce")
    ->Name("BM_ServerHandle/new_nonce")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ServerHandleUnsigned, directory, "GET", "directory")
    ->Name("BM_ServerHandle/directory")
    ->Unit(benchmark::kMicrosecond);

// Signed POST-as-GETs of a new client's authorization, each with a fresh nonce from the
// server, as the HTTP session hands them over.
class AuthzFetches {
 public:
  explicit AuthzFetches(InProcessServer& env)
      : env_(env),
        client_(env.directory(), env.trust()),
        url_(authz_url_for(client_)),
        new_nonce_(client_.url("newNonce")) {}
  bool ok() const { return !url_.empty(); }
  server::AcmeServer& server() { return env_.server(); }
  http::Request next() {
    SignOptions options;
    options.nonce = handed_nonce(env_.server(), new_nonce_);
    return handed_over("POST", url_, client_.sign(url_, std::nullopt, options).dump());
  }

 private:
  InProcessServer& env_;
  TestAcmeClient client_;
  const std::string url_, new_nonce_;
};

// The POST-as-GETs of the benchmarks below, or null after skipping the benchmark.
std::unique_ptr<AuthzFetches> authz_fetches_or_skip(benchmark::State& state) {
  InProcessServer* env = shared_server(state);
  if (env == nullptr) return nullptr;
  auto fetches = std::make_unique<AuthzFetches>(*env);
  if (fetches->ok()) return fetches;
  state.SkipWithError("no authorization to fetch");
  return nullptr;
}

void BM_ServerHandlePostAsGet(benchmark::State& state) {
  auto fetches = authz_fetches_or_skip(state);
  if (!fetches) return;
  handle_in_batches(
      state, fetches->server(), 256,
      [&]() -> std::optional<http::Request> { return fetches->next(); },
      [](const http::Response& r) { return r.status == 200; });
  state.SetLabel(bench::twin_label("BM_RawDigestVerify/P-256"));
}
BENCHMARK(BM_ServerHandlePostAsGet)
    ->Name("BM_ServerHandle/post_as_get_authz")
    ->Unit(benchmark::kMicrosecond);

// The idle gaps (ms) of the *_after_idle_ms benchmarks, 100 requests each.
void idle_gaps(benchmark::internal::Benchmark* b) {
  for (int ms : {0, 1, 10, 50}) b->Arg(ms);
  b->Iterations(100);
}

// The same POST-as-GET after the server thread slept for the argument's milliseconds (not
// timed), as each request of a sequential lego run finds it: what an idle gap alone costs a
// request here (in a virtual machine: the virtual CPU back from a halt, and caches and TLB
// refilled after other work ran on the core).
void BM_ServerHandlePostAsGetAfterIdle(benchmark::State& state) {
  auto fetches = authz_fetches_or_skip(state);
  if (!fetches) return;
  const timespec idle{0, static_cast<long>(state.range(0)) * 1000000L};
  for (auto _ : state) {
    state.PauseTiming();
    http::Request request = fetches->next();
    nanosleep(&idle, nullptr);
    state.ResumeTiming();
    http::Response response = fetches->server().handle(request);
    if (response.status != 200) {
      state.SkipWithError(("unexpected answer: " + response.body).c_str());
      break;
    }
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_ServerHandlePostAsGetAfterIdle)
    ->Name("BM_ServerHandle/post_as_get_authz_after_idle_ms")
    ->Apply(idle_gaps)
    ->Unit(benchmark::kMicrosecond);
using bench::BM_RawDigestVerifyAfterIdle;
BENCHMARK_CAPTURE(BM_RawDigestVerifyAfterIdle, P256, pki::KeySpec::p256())
    ->Name("BM_RawDigestVerify/P-256_after_idle_ms")
    ->Apply(idle_gaps)
    ->Unit(benchmark::kMicrosecond);

// Memory alone after the same gaps: one byte read from each of 256 pages (1 MiB, allocated
// and written once before the loop) per iteration, so the time per page is the time / 256.
// Beside the other two: how much of their idle cost is the memory they touch (TLB and
// caches refilled; in a virtual machine, second-level page walks too).
void BM_TouchPagesAfterIdle(benchmark::State& state) {
  constexpr std::size_t kPages = 256, kPage = 4096;
  std::vector<unsigned char> memory(kPages * kPage, 1);
  const timespec idle{0, static_cast<long>(state.range(0)) * 1000000L};
  unsigned sum = 0;
  std::size_t offset = 0;
  for (auto _ : state) {
    state.PauseTiming();
    nanosleep(&idle, nullptr);
    offset = (offset + 64) % kPage;  // a new cache line of each page every time
    state.ResumeTiming();
    for (std::size_t p = 0; p < kPages; ++p)
      sum += static_cast<volatile unsigned char*>(memory.data())[p * kPage + offset];
  }
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_TouchPagesAfterIdle)
    ->Name("BM_TouchPages/256_after_idle_ms")
    ->Apply(idle_gaps)
    ->Unit(benchmark::kMicrosecond);

// Issue 12's "2 cores >= 1.8x one core" without a load generator on the same cores: the
// server's request path on one thread and on two at once (POST-as-GET of an authorization,
// each thread with its own account), every request signed before the clock starts.
// items_per_second is the total over the threads; the ratio of the /threads:2 figure to the
// /threads:1 one is the scaling of the server's own code (store, nonce table, account cache,
// metrics: everything AcmeServer::handle shares between threads).
constexpr int kScalingRequests = 3000;
void BM_ServerHandleScaling(benchmark::State& state) {
  InProcessServer* env = shared_server(state);
  if (env == nullptr) return;
  std::vector<http::Request> requests;
  {
    AuthzFetches fetches(*env);
    if (!fetches.ok()) {
      state.SkipWithError("no authorization to fetch");
      return;
    }
    requests.reserve(kScalingRequests);
    for (int i = 0; i < kScalingRequests; ++i) requests.push_back(fetches.next());
  }
  std::size_t next = 0;
  for (auto _ : state) {
    http::Response response = env->server().handle(requests[next++]);
    if (response.status != 200) {
      state.SkipWithError(("unexpected answer: " + response.body).c_str());
      break;
    }
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ServerHandleScaling)
    ->Name("BM_ServerHandle/post_as_get_authz/scaling")
    ->Iterations(kScalingRequests)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// A ready order of the client's account (http-01 answered through the responder): its
// finalize URL, or "" on any failure.
std::string ready_order_finalize_url(TestAcmeClient& c,
                                     server::testing::Http01Responder& responder) {
  Reply order = c.new_order({{"ip", "127.0.0.1"}});
  if (order.status != 201) return "";
  Reply authz = c.post_as_get(order.body["authorizations"][0]);
  Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
  if (challenge.is_null()) return "";
  responder.provision(challenge["token"], c.key_authorization(challenge["token"]));
  if (c.post(challenge["url"], Json::object()).status != 200) return "";
  for (int i = 0; i < 5000; ++i) {
    timespec pause{0, 1000000};
    nanosleep(&pause, nullptr);
    Reply ready = c.post_as_get(order.location());
    if (ready.status_field() == "ready") return order.body["finalize"].get<std::string>();
    if (ready.status_field() != "pending") return "";
  }
  return "";
}

// finalize of a ready order for 127.0.0.1 with a P-256 CSR, handled in process: JWS,
// order checks, CSR parse and signature verify, issuance (one ES256 signature by the
// issuing CA), the store writes. Its floor: BM_CsrParseVerify/P-256 (pki_bench) plus one
// P-256 signature. Orders are made ready (over HTTPS) in paused batches.
void BM_ServerHandleFinalize(benchmark::State& state) {
  InProcessServer* env = shared_server(state);
  if (env == nullptr) return;
  TestAcmeClient client(env->directory(), env->trust());
  if (client.new_account().status != 201) {
    state.SkipWithError("new-account failed");
    return;
  }
  const std::string new_nonce = client.url("newNonce");
  handle_in_batches(
      state, env->server(), 16,
      [&]() -> std::optional<http::Request> {
        const std::string url = ready_order_finalize_url(client, env->responder());
        auto csr_key = pki::PrivateKey::generate(pki::KeySpec::p256());
        if (url.empty() || !csr_key) return std::nullopt;
        SignOptions options;
        options.nonce = handed_nonce(env->server(), new_nonce);
        const Json payload{{"csr", TestAcmeClient::csr_b64(*csr_key, {}, {"127.0.0.1"})}};
        return handed_over("POST", url, client.sign(url, payload, options).dump());
      },
      [](const http::Response& r) {
        return r.status == 200 && r.body.find("\"valid\"") != std::string::npos;
      });
}
BENCHMARK(BM_ServerHandleFinalize)
    ->Name("BM_ServerHandle/finalize")
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(1.0);

// The floor of a POST-as-GET: one ES256 verify (bench/jws_fixture.h).
using bench::BM_RawDigestVerify;
BENCHMARK_CAPTURE(BM_RawDigestVerify, P256, pki::KeySpec::p256())->Name("BM_RawDigestVerify/P-256");
// The same raw verify on one and on two threads of one process (each thread its own key and
// fetched digest): how OpenSSL itself scales here, beside BM_ServerHandle/.../scaling.
BENCHMARK_CAPTURE(BM_RawDigestVerify, P256_scaling, pki::KeySpec::p256())
    ->Name("BM_RawDigestVerify/P-256/scaling")
    ->Iterations(3000)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

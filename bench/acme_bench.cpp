// ACME server benchmarks: the cost of verifying one ES256 JWS (the per-request crypto
// floor) and a whole enrollment against an in-process AcmeServer over HTTPS (account,
// order for 127.0.0.1, http-01 through an in-process responder, finalize, download).
//
// BM_FullEnrollmentInProcess reports real time per enrollment and, as counters,
// the CPU time of the whole process and of the server side alone (process CPU minus the
// benchmark thread's CPU, i.e. the server's I/O and validation threads plus the
// responder): server_cpu_ms is the figure to compare with the crypto floor.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <time.h>

#include <filesystem>
#include <string>

#include "core/clock.h"
#include "core/jose.h"
#include "server/acme/acme_server.h"
#include "testing/acme_test_client.h"

namespace {

namespace fs = std::filesystem;
using namespace attestlab;
using server::testing::Reply;
using server::testing::TestAcmeClient;

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void BM_JwsVerifyES256(benchmark::State& state) {
  auto key = *pki::PrivateKey::generate(pki::KeySpec::p256());
  Json header{{"nonce", "AAAAAAAAAAAAAAAAAAAAAA"},
              {"url", "https://127.0.0.1:14000/acme/new-order"},
              {"kid", "https://127.0.0.1:14000/acme/acct/abcdefghijklmnop"}};
  Json payload{{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}}};
  std::string body = jose::sign(header, payload, key)->dump();
  jose::Jwk jwk(key.public_key());
  for (auto _ : state) {
    auto jws = jose::parse_flattened(std::string_view(body));
    auto verified = jose::verify(*jws, jwk.key());
    benchmark::DoNotOptimize(verified.ok());
    if (!verified.ok()) state.SkipWithError("verify failed");
  }
}
BENCHMARK(BM_JwsVerifyES256);

class InProcessServer {
 public:
  InProcessServer() {
    std::string pattern = (fs::temp_directory_path() / "attestlab-acme-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return;
    dir_ = pattern;
    server::ServerConfig config;
    config.listen_host = "127.0.0.1";
    config.listen_port = 0;
    config.data_dir = dir_;
    config.http01_port = responder_.port();
    config.io_threads = 2;
    config.validation_threads = 2;
    auto started =
        server::AcmeServer::start(config, SystemClock::instance(), server::LogLevel::Quiet);
    if (started.ok()) server_ = std::move(started).value();
  }
  ~InProcessServer() {
    if (server_) server_->stop();
    server_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  bool ok() const { return server_ != nullptr; }
  std::string directory() const { return server_->directory_url(); }
  std::string trust() const { return dir_ + "/tls/cert.pem"; }
  server::testing::Http01Responder& responder() { return responder_; }

 private:
  std::string dir_;
  server::testing::Http01Responder responder_;
  std::unique_ptr<server::AcmeServer> server_;
};

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
  static InProcessServer server;  // one server for all runs, removed at exit
  InProcessServer* env = &server;
  if (!env->ok()) {
    state.SkipWithError("server did not start");
    return;
  }
  TestAcmeClient client(env->directory(), env->trust());
  double process_cpu = 0, client_cpu = 0;
  int polls = 0;
  for (auto _ : state) {
    double p0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID), t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    std::string error;
    if (!enroll(client, env->responder(), error, polls)) {
      state.SkipWithError(error.c_str());
      break;
    }
    process_cpu += cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - p0;
    client_cpu += cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
  }
  double n = static_cast<double>(state.iterations());
  state.counters["process_cpu_ms"] = benchmark::Counter(process_cpu * 1e3 / n);
  state.counters["client_cpu_ms"] = benchmark::Counter(client_cpu * 1e3 / n);
  state.counters["order_polls"] = benchmark::Counter(polls / n);
  state.counters["server_cpu_ms"] = benchmark::Counter((process_cpu - client_cpu) * 1e3 / n);
}
BENCHMARK(BM_FullEnrollmentInProcess)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();

// Anti-replay nonces (server/acme/nonce.h) on a real SQLite store: issuing one (an HMAC,
// no store access) beside the raw HMAC-SHA256 it is built on, and issuing plus consuming
// one (MAC and age check, then the single-use record written to the store) as every
// authenticated request does.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "bench/raw_openssl.h"
#include "bench/temp_store.h"
#include "core/clock.h"
#include "server/acme/nonce.h"

namespace {

using namespace attestlab;

constexpr std::int64_t kLifetimeSeconds = 3600;

// A nonce service on a fresh store, or nullptr (after SkipWithError) when it cannot open.
std::unique_ptr<server::NonceService> open_service(
    benchmark::State& state, bench::TempStore& temp,
    std::shared_ptr<Clock> clock = SystemClock::instance()) {
  if (temp.get() == nullptr) {
    state.SkipWithError("cannot open store");
    return nullptr;
  }
  auto service = server::NonceService::open(*temp.get(), std::move(clock), kLifetimeSeconds);
  if (!service) {
    state.SkipWithError(service.error().detail.c_str());
    return nullptr;
  }
  return std::move(*service);
}

void BM_NonceIssue(benchmark::State& state) {
  bench::TempStore temp;
  auto service = open_service(state, temp);
  if (!service) return;
  if (!service->authentic(service->issue())) {
    state.SkipWithError("an issued nonce is not authentic");
    return;
  }
  for (auto _ : state) {
    std::string nonce = service->issue();
    benchmark::DoNotOptimize(nonce);
  }
  state.SetLabel(bench::twin_label("BM_RawHmacSha256"));
}
BENCHMARK(BM_NonceIssue);

// issue() then consume(): true the first time (checked once outside the loop, along with
// the refusal of a replay). The clock is virtual and moves one second every 65,536 uses:
// this loop runs faster than the ledger's half (196,608 uses) fills in a second, and a
// half filled within the second it began refuses the rest of that second's nonces
// (nonce_ledger.h), a rate no server reaches with a signature to verify per use.
void BM_NonceIssueConsume(benchmark::State& state) {
  bench::TempStore temp;
  auto clock = std::make_shared<VirtualClock>(1'800'000'000);
  auto service = open_service(state, temp, clock);
  if (!service) return;
  const std::string probe = service->issue();
  auto first = service->consume(probe);
  auto replay = service->consume(probe);
  if (!first || !*first || !replay || *replay) {
    state.SkipWithError("a nonce is not accepted exactly once");
    return;
  }
  std::uint32_t uses = 0;
  for (auto _ : state) {
    if (++uses % 65536 == 0) clock->advance(1);
    auto consumed = service->consume(service->issue());
    if (!consumed || !*consumed) {
      state.SkipWithError("consume failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NonceIssueConsume)->UseRealTime();

// The floor of issue(): one HMAC-SHA256 over the 12 bytes a nonce authenticates.
void BM_RawHmacSha256(benchmark::State& state) {
  const Bytes key = random_bytes(32);
  const Bytes data = random_bytes(12);
  if (bench::raw_hmac_sha256(key, data) != hmac_sha256(key, to_string(data))) {
    state.SkipWithError("raw HMAC differs from core's");
    return;
  }
  for (auto _ : state) {
    Bytes mac = bench::raw_hmac_sha256(key, data);
    if (mac.empty()) {
      state.SkipWithError("HMAC failed");
      break;
    }
    benchmark::DoNotOptimize(mac);
  }
}
BENCHMARK(BM_RawHmacSha256);

}  // namespace

BENCHMARK_MAIN();

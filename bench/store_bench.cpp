// Store micro-benchmarks on a real SQLite file (WAL, synchronous=NORMAL) in a temp dir:
// the per-request costs the ACME server pays for nonces and order state. Real time, not
// CPU time: WAL writes and checkpoint fsyncs are part of what a request waits for.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "server/store/store.h"

namespace {

namespace fs = std::filesystem;
using attestlab::server::Authorization;
using attestlab::server::Challenge;
using attestlab::server::Order;
using attestlab::server::Store;

// A store on a fresh file, removed with its directory when the benchmark run ends.
class TempStore {
 public:
  TempStore() {
    std::string pattern = (fs::temp_directory_path() / "attestlab-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return;
    dir_ = pattern;
    auto r = attestlab::server::open_sqlite_store((dir_ / "bench.db").string());
    if (r.ok()) store_ = std::move(r).value();
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  Store* get() { return store_.get(); }

 private:
  fs::path dir_;
  std::unique_ptr<Store> store_;
};

// One nonce issued (newNonce / Replay-Nonce) and then redeemed by a JWS request.
void BM_NoncePutConsume(benchmark::State& state) {
  TempStore temp;
  Store* store = temp.get();
  if (!store) {
    state.SkipWithError("cannot open store");
    return;
  }
  std::int64_t now = 1'700'000'000;
  std::uint64_t n = 0;
  for (auto _ : state) {
    std::string nonce = "nonce-" + std::to_string(n++);
    if (!store->put_nonce(nonce, now).ok()) {
      state.SkipWithError("put_nonce failed");
      break;
    }
    auto consumed = store->consume_nonce(nonce, now, 3600);
    if (!consumed.ok() || !*consumed) {
      state.SkipWithError("consume_nonce failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NoncePutConsume)->UseRealTime();

// newOrder (order + one authorization with one challenge, one transaction) followed by
// the pending -> ready compare-and-set a successful validation causes.
void BM_OrderCreateUpdate(benchmark::State& state) {
  TempStore temp;
  Store* store = temp.get();
  if (!store) {
    state.SkipWithError("cannot open store");
    return;
  }
  std::uint64_t n = 0;
  for (auto _ : state) {
    const std::string id = std::to_string(n++);
    Authorization authz;
    authz.id = "authz-" + id;
    authz.account_id = "acct-1";
    authz.identifier = {"permanent-identifier", "C02SERIAL" + id};
    authz.expires = 1'700'086'400;
    Challenge challenge;
    challenge.id = "ch-" + id;
    challenge.type = "device-attest-01";
    challenge.token = "token-token-token-token-" + id;
    authz.challenges.push_back(challenge);

    Order order;
    order.id = "order-" + id;
    order.account_id = "acct-1";
    order.expires = 1'700'086'400;
    order.identifiers = {authz.identifier};
    order.authorization_ids = {authz.id};
    order.created = 1'700'000'000;
    if (!store->create_order(order, {authz}).ok()) {
      state.SkipWithError("create_order failed");
      break;
    }
    order.status = "ready";
    if (!store->update_order(order, "pending").ok()) {
      state.SkipWithError("update_order failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrderCreateUpdate)->UseRealTime();

// POST-as-GET of an order: one indexed read plus JSON decoding.
void BM_OrderLookup(benchmark::State& state) {
  TempStore temp;
  Store* store = temp.get();
  if (!store) {
    state.SkipWithError("cannot open store");
    return;
  }
  constexpr int kOrders = 1000;
  for (int i = 0; i < kOrders; ++i) {
    Order order;
    order.id = "order-" + std::to_string(i);
    order.account_id = "acct-1";
    order.identifiers = {{"permanent-identifier", "C02SERIAL"}};
    if (!store->create_order(order, {}).ok()) {
      state.SkipWithError("create_order failed");
      return;
    }
  }
  int i = 0;
  for (auto _ : state) {
    auto order = store->order_by_id("order-" + std::to_string(i++ % kOrders));
    if (!order.ok() || !order->has_value()) {
      state.SkipWithError("order_by_id failed");
      break;
    }
    benchmark::DoNotOptimize(order);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrderLookup)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

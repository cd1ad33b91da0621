// Store micro-benchmarks on a real SQLite file (WAL, synchronous=NORMAL) in a temp dir:
// the per-request costs the ACME server pays for nonces, accounts and order state. Real
// time, not CPU time: WAL writes and checkpoint fsyncs are part of what a request waits
// for. Each benchmark checks the store's answer on every iteration or, where the loop
// only writes, reads the result back once outside it.
#include <benchmark/benchmark.h>

#include <string>

#include "bench/temp_store.h"
#include "core/jose.h"
#include "server/store/store.h"
#include "server/store/stored_json.h"

namespace {

using attestlab::Json;
using attestlab::bench::TempStore;
using attestlab::server::Account;
using attestlab::server::Authorization;
using attestlab::server::CertificateRecord;
using attestlab::server::Challenge;
using attestlab::server::Order;
using attestlab::server::Store;

// The store of `temp`, or nullptr after SkipWithError when it cannot be opened.
Store* open_or_skip(benchmark::State& state, TempStore& temp) {
  if (temp.get() == nullptr) state.SkipWithError("cannot open store");
  return temp.get();
}

// One nonce issued (newNonce / Replay-Nonce) and then redeemed by a JWS request.
void BM_NoncePutConsume(benchmark::State& state) {
  TempStore temp;
  Store* store = open_or_skip(state, temp);
  if (!store) return;
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
  Store* store = open_or_skip(state, temp);
  if (!store) return;
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
  Store* store = open_or_skip(state, temp);
  if (!store) return;
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

// The single-use record every authenticated request writes (NonceService::consume).
void BM_NoncePut(benchmark::State& state) {
  TempStore temp;
  Store* store = open_or_skip(state, temp);
  if (!store) return;
  std::int64_t now = 1'700'000'000;
  auto first = store->put_nonce("probe", now);
  auto replay = store->put_nonce("probe", now);
  if (!first.ok() || replay.ok()) {
    state.SkipWithError("put_nonce does not refuse a second use");
    return;
  }
  std::uint64_t n = 0;
  for (auto _ : state) {
    if (!store->put_nonce("nonce-" + std::to_string(n++), now).ok()) {
      state.SkipWithError("put_nonce failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NoncePut)->UseRealTime();

// An account as newAccount stores it: a real P-256 JWK, a unique thumbprint.
Account bench_account(const Json& jwk, std::uint64_t n) {
  Account account;
  account.id = "acct-" + std::to_string(n);
  account.jwk = jwk;
  account.thumbprint = "thumbprint-" + std::to_string(n);
  account.contact = {"mailto:bench@example.com"};
  account.tos_agreed = true;
  account.created = 1'700'000'000;
  return account;
}

// A fresh P-256 public JWK, or null after SkipWithError.
Json bench_jwk_or_skip(benchmark::State& state) {
  auto key = attestlab::pki::PrivateKey::generate(attestlab::pki::KeySpec::p256());
  if (!key) state.SkipWithError("cannot make a JWK");
  return key ? attestlab::jose::Jwk(key->public_key()).to_json() : Json();
}

void BM_AccountCreate(benchmark::State& state) {
  TempStore temp;
  Store* store = open_or_skip(state, temp);
  const Json jwk = store ? bench_jwk_or_skip(state) : Json();
  if (jwk.is_null()) return;
  std::uint64_t n = 0;
  for (auto _ : state) {
    if (!store->create_account(bench_account(jwk, n++)).ok()) {
      state.SkipWithError("create_account failed");
      break;
    }
  }
  auto last = store->account_by_id("acct-" + std::to_string(n - 1));
  if (n > 0 && (!last.ok() || !last->has_value() || (*last)->jwk != jwk))
    state.SkipWithError("the last account does not read back");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AccountCreate)->UseRealTime();

// A kid lookup that misses the server's account cache: one indexed read plus decoding.
void BM_AccountGet(benchmark::State& state) {
  TempStore temp;
  Store* store = open_or_skip(state, temp);
  const Json jwk = store ? bench_jwk_or_skip(state) : Json();
  if (jwk.is_null()) return;
  constexpr std::uint64_t kAccounts = 1000;
  for (std::uint64_t i = 0; i < kAccounts; ++i) {
    if (!store->create_account(bench_account(jwk, i)).ok()) {
      state.SkipWithError("create_account failed");
      return;
    }
  }
  std::uint64_t i = 0;
  for (auto _ : state) {
    const std::string id = "acct-" + std::to_string(i++ % kAccounts);
    auto account = store->account_by_id(id);
    if (!account.ok() || !account->has_value() || (*account)->id != id) {
      state.SkipWithError("account_by_id failed");
      break;
    }
    benchmark::DoNotOptimize(account);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AccountGet)->UseRealTime();

Order ready_order(std::uint64_t n) {
  Order order;
  order.id = "order-" + std::to_string(n);
  order.account_id = "acct-1";
  order.status = "ready";
  order.expires = 1'700'086'400;
  order.identifiers = {{"ip", "127.0.0.1"}};
  order.created = 1'700'000'000;
  return order;
}

// What finalize writes: claim the ready order (CAS ready -> processing, so only one
// finalize wins), store the certificate, CAS processing -> valid.
bool finalize(Store& store, Order order, const std::string& chain_pem) {
  order.status = "processing";
  if (!store.update_order(order, "ready").ok()) return false;
  CertificateRecord record;
  record.id = "cert-" + order.id;
  record.account_id = order.account_id;
  record.order_id = order.id;
  record.serial_hex = "4a" + order.id;
  record.chain_pem = chain_pem;
  record.spki_sha256 = "spki-" + order.id;
  record.not_after = 1'707'776'000;
  record.issued = 1'700'000'000;
  if (!store.put_certificate(record).ok()) return false;
  order.status = "valid";
  order.certificate_id = record.id;
  return store.update_order(order, "processing").ok();
}

void BM_OrderFinalizeCas(benchmark::State& state) {
  TempStore temp;
  Store* store = open_or_skip(state, temp);
  if (!store) return;
  const std::string chain_pem(1500, 'M');  // about a leaf and an intermediate in PEM
  // Checked once: finalize moves the order to valid, and a second claim of it conflicts.
  const Order probe = ready_order(0);
  if (!store->create_order(probe, {}).ok() || !finalize(*store, probe, chain_pem)) {
    state.SkipWithError("finalize failed");
    return;
  }
  auto finalized = store->order_by_id(probe.id);
  Order again = probe;
  again.status = "processing";
  auto second = store->update_order(again, "ready");
  if (!finalized.ok() || !finalized->has_value() || (*finalized)->status != "valid" ||
      (*finalized)->certificate_id != "cert-" + probe.id || second.ok() ||
      second.error().type != "conflict") {
    state.SkipWithError("finalize is not a compare-and-set");
    return;
  }
  // Ready orders are made in batches outside the timed region.
  constexpr std::uint64_t kBatch = 1000;
  std::uint64_t next = 1, made = 1;
  for (auto _ : state) {
    if (next == made) {
      state.PauseTiming();
      for (std::uint64_t i = 0; i < kBatch; ++i) {
        if (!store->create_order(ready_order(made++), {}).ok()) break;
      }
      state.ResumeTiming();
    }
    if (next == made || !finalize(*store, ready_order(next++), chain_pem)) {
      state.SkipWithError("finalize failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrderFinalizeCas)->UseRealTime();

// What a new device certificate looks up (the device's valid certificates, which it
// supersedes) for a device that has renewed range(0) times before: flat in the history,
// as revoked certificates are neither indexed nor read.
void BM_DeviceValidCertificates(benchmark::State& state) {
  TempStore temp;
  Store* store = open_or_skip(state, temp);
  if (store == nullptr) return;
  const auto history = state.range(0);
  const std::string chain_pem(2200, 'p');  // a leaf and an intermediate in PEM
  for (std::int64_t i = 0; i <= history; ++i) {
    CertificateRecord c;
    c.id = "cert-" + std::to_string(i);
    c.account_id = "acct-1";
    c.order_id = "order-" + std::to_string(i);
    c.serial_hex = "4a" + std::to_string(i);
    c.chain_pem = chain_pem;
    c.device_id = "device-1";
    c.status = i < history ? "revoked" : "valid";
    c.not_after = 1'707'776'000;
    c.issued = 1'700'000'000 + i;
    if (!store->put_certificate(c).ok()) {
      state.SkipWithError("put_certificate failed");
      return;
    }
  }
  const std::string newest = "cert-" + std::to_string(history);
  for (auto _ : state) {
    auto valid = store->valid_certificates_by_device("device-1");
    if (!valid.ok() || valid->size() != 1 || (*valid)[0].id != newest) {
      state.SkipWithError("not exactly the newest certificate");
      break;
    }
    benchmark::DoNotOptimize(valid);
  }
}
BENCHMARK(BM_DeviceValidCertificates)->Arg(0)->Arg(100)->Arg(1000)->UseRealTime();

// The two rows a finalize writes (the certificate, the completed order) as the text the store
// keeps: through a Json tree and its dump, as the stores did, or by stored_text. The same
// text both ways, checked once before the loop.
void BM_StoredText(benchmark::State& state, bool direct) {
  CertificateRecord c;
  c.id = "01JF8K3V5Q2M7X9ZB4C6D8E0GH";
  c.account_id = "01JF8K3T0A1B2C3D4E5F6G7H8J";
  c.order_id = "01JF8K3TZZ1B2C3D4E5F6G7H8J";
  c.serial_hex = "4001938a7bc2d4e5f60718293a4b5c6d";
  c.chain_pem.clear();
  for (int block = 0; block < 2; ++block) {
    c.chain_pem += "-----BEGIN CERTIFICATE-----\n";
    for (int line = 0; line < 13; ++line) c.chain_pem += std::string(64, 'M') + "\n";
    c.chain_pem += "-----END CERTIFICATE-----\n";
  }
  c.spki_sha256 = "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg";
  c.not_after = 1'707'776'000;
  c.not_before = 1'700'000'000;
  c.issued = 1'700'000'060;
  Order o;
  o.id = c.order_id;
  o.account_id = c.account_id;
  o.status = "valid";
  o.expires = 1'700'604'800;
  o.identifiers = {{"ip", "127.0.0.1"}};
  o.authorization_ids = {"01JF8K3TZY1B2C3D4E5F6G7H8J"};
  o.certificate_id = c.id;
  o.created = 1'700'000'000;
  auto tree = [](const auto& r) { return attestlab::server::stored_json::dump(to_json(r)); };
  if (stored_text(c) != tree(c) || stored_text(o) != tree(o)) {
    state.SkipWithError("stored_text differs from the dump of the tree");
    return;
  }
  for (auto _ : state) {
    std::string certificate = direct ? stored_text(c) : tree(c);
    std::string order = direct ? stored_text(o) : tree(o);
    benchmark::DoNotOptimize(certificate);
    benchmark::DoNotOptimize(order);
  }
}
BENCHMARK_CAPTURE(BM_StoredText, tree, false)->Name("BM_StoredText/tree");
BENCHMARK_CAPTURE(BM_StoredText, direct, true)->Name("BM_StoredText/direct");

}  // namespace

BENCHMARK_MAIN();

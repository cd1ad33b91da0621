#include "server/store/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include "server/store/sqlite_internal.h"
#include "server/store/sqlite_wal_vfs.h"
#include "server/store/stored_json.h"
#include "testing/pg_server.h"
#include "testing/store_backends.h"

namespace attestlab::server {
namespace {

namespace fs = std::filesystem;

// The suite every Store implementation must pass, once per backend (testing/store_backends.h).
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      backend_ = std::make_unique<attestlab::testing::SqliteBackend>();
      return;
    }
    PG_SERVER_OR_FAIL(pg);
    std::string url = pg.fresh_database();
    ASSERT_FALSE(url.empty()) << pg.error();
    backend_ = std::make_unique<attestlab::testing::PgBackend>(url);
  }

  std::unique_ptr<Store> open() { return backend_->open(); }
  std::int64_t raw_count(const std::string& table) { return backend_->raw_count(table); }

  std::unique_ptr<attestlab::testing::StoreBackend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// What only the SQLite store has: files, WAL, checkpoints, in-memory databases.
class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open() { return backend_.open(); }

  attestlab::testing::SqliteBackend backend_;
  const fs::path dir_{backend_.dir()};
  const std::string& db_path_ = backend_.path();
};

Account make_account(const std::string& id, const std::string& thumbprint,
                     const std::string& eab_kid = "") {
  Account a;
  a.id = id;
  a.thumbprint = thumbprint;
  a.jwk = Json{{"kty", "EC"}, {"crv", "P-256"}, {"x", id}, {"y", thumbprint}};
  a.contact = {"mailto:" + id + "@example.com"};
  a.tos_agreed = true;
  a.eab_kid = eab_kid;
  a.created = 1000;
  return a;
}

Authorization make_authz(const std::string& id, const std::string& account_id,
                         const std::vector<std::string>& challenge_ids) {
  Authorization a;
  a.id = id;
  a.account_id = account_id;
  a.identifier = {"permanent-identifier", "serial-" + id};
  a.expires = 5000;
  for (const auto& cid : challenge_ids) {
    Challenge c;
    c.id = cid;
    c.type = "device-attest-01";
    c.token = "token-" + cid;
    a.challenges.push_back(c);
  }
  return a;
}

Order make_order(const std::string& id, const std::string& account_id,
                 const std::vector<Authorization>& authzs) {
  Order o;
  o.id = id;
  o.account_id = account_id;
  o.expires = 5000;
  o.created = 1000;
  for (const auto& a : authzs) {
    o.identifiers.push_back(a.identifier);
    o.authorization_ids.push_back(a.id);
  }
  return o;
}

// Four stores on one database (four server processes).
void open_four(attestlab::testing::StoreBackend& backend,
               std::vector<std::unique_ptr<Store>>& stores) {
  for (int i = 0; i < 4; ++i) {
    stores.push_back(backend.open());
    ASSERT_TRUE(stores.back());
  }
}

// The same, and a "ready" order "order-1" in it.
void open_four_with_ready_order(attestlab::testing::StoreBackend& backend,
                                std::vector<std::unique_ptr<Store>>& stores, Order& order) {
  ASSERT_NO_FATAL_FAILURE(open_four(backend, stores));
  auto z = make_authz("authz-1", "acct-1", {"ch-1"});
  order = make_order("order-1", "acct-1", {z});
  order.status = "ready";
  ASSERT_TRUE(stores[0]->create_order(order, {z}).ok());
}

CertificateRecord make_certificate(const std::string& id, const std::string& serial,
                                   const std::string& device_id) {
  CertificateRecord c;
  c.id = id;
  c.account_id = "acct-1";
  c.order_id = "order-" + id;
  c.serial_hex = serial;
  c.chain_pem = "PEM " + id;
  c.device_id = device_id;
  c.not_after = 9000;
  c.issued = 1000;
  return c;
}

// --- nonces -----------------------------------------------------------------------------

TEST_P(StoreTest, NonceIsAcceptedExactlyOnce) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_nonce("n1", 1000).ok());
  auto first = store->consume_nonce("n1", 1010, 300);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  auto second = store->consume_nonce("n1", 1011, 300);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  auto unknown = store->consume_nonce("never-issued", 1011, 300);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(*unknown);
}

TEST_P(StoreTest, ExpiredNonceIsRefused) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_nonce("old", 1000).ok());
  ASSERT_TRUE(store->put_nonce("edge", 1000).ok());
  auto old = store->consume_nonce("old", 1301, 300);
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(*old);
  auto edge = store->consume_nonce("edge", 1300, 300);  // exactly max_age old: still valid
  ASSERT_TRUE(edge.ok());
  EXPECT_TRUE(*edge);
}

TEST_P(StoreTest, DuplicateNonceIsAConflict) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_nonce("dup", 1000).ok());
  auto again = store->put_nonce("dup", 1001);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().type, "conflict");
}

TEST_P(StoreTest, OldNoncesArePurgedSoTheTableStaysBounded) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->consume_nonce("none", 0, 60).ok());  // teaches the store max_age = 60
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(store->put_nonce("old-" + std::to_string(i), 0).ok());
  for (int i = 0; i < 1500; ++i) {
    ASSERT_TRUE(store->put_nonce("new-" + std::to_string(i), 10'000).ok());
  }
  // The 500 old nonces are past any window a caller asked for and must be gone; the
  // fresh ones must all still be there.
  EXPECT_EQ(raw_count("nonces"), 1500);
  EXPECT_TRUE(*store->consume_nonce("new-0", 10'001, 60));
}

TEST_P(StoreTest, EightThreadsConsumeEachNonceExactlyOnce) {
  auto store = open();
  ASSERT_TRUE(store);
  constexpr int kNonces = 1000;
  constexpr int kThreads = 8;
  for (int i = 0; i < kNonces; ++i) {
    ASSERT_TRUE(store->put_nonce("n" + std::to_string(i), 1000).ok());
  }
  std::array<std::atomic<int>, kNonces> accepted{};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> order(kNonces);
      for (int i = 0; i < kNonces; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937(t));
      for (int i : order) {
        auto r = store->consume_nonce("n" + std::to_string(i), 1001, 300);
        if (!r.ok()) {
          ++errors;
        } else if (*r) {
          ++accepted[i];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  int total = 0;
  for (int i = 0; i < kNonces; ++i) {
    EXPECT_EQ(accepted[i].load(), 1) << "nonce n" << i;
    total += accepted[i].load();
  }
  EXPECT_EQ(total, kNonces);
}

TEST_P(StoreTest, TwoConnectionsOnOneFileConsumeEachNonceOnce) {
  // Two stores on one file behave like two server processes sharing it.
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a && b);
  constexpr int kNonces = 500;
  for (int i = 0; i < kNonces; ++i) ASSERT_TRUE(a->put_nonce("m" + std::to_string(i), 1).ok());
  std::atomic<int> accepted{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    Store* s = t % 2 ? a.get() : b.get();
    threads.emplace_back([&, s] {
      for (int i = 0; i < kNonces; ++i) {
        auto r = s->consume_nonce("m" + std::to_string(i), 2, 300);
        if (!r.ok()) {
          ++errors;
        } else if (*r) {
          ++accepted;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(accepted.load(), kNonces);
}

// A store keeps the parse of rows it read (SQLite: ParsedRows); a row changed through another
// store on the same database, or through itself, is read as it now is, every time.
TEST_P(StoreTest, RowsChangedElsewhereAreReadAsTheyNowAre) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a && b);
  auto z = make_authz("authz-m", "acct-m", {"ch-m"});
  Order o = make_order("order-m", "acct-m", {z});
  ASSERT_TRUE(a->create_order(o, {z}).ok());
  for (int round = 0; round < 2; ++round) {  // twice: the second read of each is a known row
    EXPECT_EQ((*a->authz_by_id("authz-m"))->status, "pending");
    EXPECT_EQ((*a->order_by_id("order-m"))->status, "pending");
  }
  Authorization valid = z;
  valid.status = "valid";
  valid.challenges[0].status = "valid";
  ASSERT_TRUE(b->update_authz(valid, "pending").ok());
  o.status = "ready";
  ASSERT_TRUE(b->update_order(o, "pending").ok());
  auto authz = a->authz_by_id("authz-m");
  ASSERT_TRUE(authz.ok() && authz->has_value());
  EXPECT_EQ((*authz)->status, "valid");
  EXPECT_EQ((*authz)->challenges[0].status, "valid");
  EXPECT_EQ((*a->order_by_id("order-m"))->status, "ready");
  // And back through the first store, then read through both.
  o.status = "invalid";
  ASSERT_TRUE(a->update_order(o, "ready").ok());
  EXPECT_EQ((*a->order_by_id("order-m"))->status, "invalid");
  EXPECT_EQ((*b->order_by_id("order-m"))->status, "invalid");
  // A certificate written and read through one store, revoked through the other.
  ASSERT_TRUE(a->put_certificate(make_certificate("cert-m", "0m", "dev-m")).ok());
  EXPECT_EQ((*a->certificate_by_id("cert-m"))->status, "valid");
  ASSERT_TRUE(*b->revoke_certificate_if_valid("cert-m", 1, 1'700'000'000));
  EXPECT_EQ((*a->certificate_by_id("cert-m"))->status, "revoked");
  EXPECT_EQ((*a->authz_by_challenge("ch-m"))->status, "valid");
  // Rows read once each, many more than a store keeps parsed: every one still right.
  for (int i = 0; i < 600; ++i) {
    auto zi = make_authz("authz-m" + std::to_string(i), "acct-m", {"ch-m" + std::to_string(i)});
    ASSERT_TRUE(
        a->create_order(make_order("order-m" + std::to_string(i), "acct-m", {zi}), {zi}).ok());
  }
  for (int i = 0; i < 600; i += 7) {
    auto read = a->authz_by_id("authz-m" + std::to_string(i));
    ASSERT_TRUE(read.ok() && read->has_value());
    EXPECT_EQ((*read)->id, "authz-m" + std::to_string(i));
  }
  EXPECT_FALSE(a->authz_by_id("authz-none")->has_value());
}

// A row read right after this store wrote it (the SQLite store answers that read from what
// it wrote) reads as a parse of the stored text would: equal to what was written, and with
// U+FFFD where the written record had invalid UTF-8, never the bytes as they were.
TEST_P(StoreTest, RowsReadBackAfterAWriteAreWhatTheStoreHolds) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z = make_authz("authz-w", "acct-w", {"ch-w"});
  Order o = make_order("order-w", "acct-w", {z});
  ASSERT_TRUE(store->create_order(o, {z}).ok());
  EXPECT_EQ(**store->order_by_id("order-w"), o);
  EXPECT_EQ(**store->authz_by_id("authz-w"), z);

  Authorization updated = z;
  updated.status = "invalid";
  updated.challenges[0].status = "invalid";
  updated.challenges[0].error = Json{{"detail", "caf\u00e9 \xff\xfe"}};
  ASSERT_TRUE(store->update_authz(updated, "pending").ok());
  const Authorization read = **store->authz_by_id("authz-w");
  EXPECT_EQ(read.status, "invalid");
  EXPECT_EQ(read.challenges[0].error["detail"], "caf\u00e9 \ufffd\ufffd");
  EXPECT_NE(read, updated);

  o.status = "invalid";
  o.error = Json{{"detail", "ok \u00e9"}};
  ASSERT_TRUE(store->update_order(o, "pending").ok());
  EXPECT_EQ(**store->order_by_id("order-w"), o);
  o.error = Json{{"detail", "bad \xc3"}};
  ASSERT_TRUE(store->update_order(o, "invalid").ok());
  EXPECT_EQ((**store->order_by_id("order-w")).error["detail"], "bad \ufffd");

  // Read through the challenge it holds: the row as it now is.
  EXPECT_EQ(**store->authz_by_challenge("ch-w"), read);

  // Certificates: as written, as updated, and as revoked by the store's own statement.
  CertificateRecord c = make_certificate("cert-w", "0w", "dev-w");
  ASSERT_TRUE(store->put_certificate(c).ok());
  EXPECT_EQ(**store->certificate_by_id("cert-w"), c);
  c.replaced_by = "order-next";
  ASSERT_TRUE(store->update_certificate(c).ok());
  EXPECT_EQ(**store->certificate_by_id("cert-w"), c);
  ASSERT_TRUE(*store->revoke_certificate_if_valid("cert-w", 4, 1'700'000'900));
  const CertificateRecord revoked = **store->certificate_by_id("cert-w");
  EXPECT_EQ(revoked.status, "revoked");
  EXPECT_EQ(revoked.revocation_reason, 4);
  EXPECT_EQ(revoked.revoked_at, 1'700'000'900);
  EXPECT_EQ(revoked.replaced_by, "order-next");

  // One transaction: a certificate that supersedes another of its device and completes its
  // order. Each row it wrote reads back as written (the order was read, pending, before).
  CertificateRecord first = make_certificate("cert-w1", "0w1", "dev-w1");
  ASSERT_TRUE(store->put_certificate(first).ok());
  EXPECT_EQ(**store->certificate_by_id("cert-w1"), first);
  auto z2 = make_authz("authz-w2", "acct-w", {"ch-w2"});
  Order o2 = make_order("order-w2", "acct-w", {z2});
  ASSERT_TRUE(store->create_order(o2, {z2}).ok());
  EXPECT_EQ(**store->order_by_id("order-w2"), o2);
  o2.status = "valid";
  o2.certificate_id = "cert-w2";
  const CertificateRecord second = make_certificate("cert-w2", "0w2", "dev-w1");
  auto superseded =
      store->put_certificate_superseding(second, {{"dev-w1"}, 1'700'000'950}, &o2, "pending");
  ASSERT_TRUE(superseded.ok()) << superseded.error().detail;
  EXPECT_EQ(*superseded, std::vector<std::string>{"cert-w1"});
  first.revoke(4, 1'700'000'950);
  EXPECT_EQ(**store->certificate_by_id("cert-w1"), first);
  EXPECT_EQ(**store->certificate_by_id("cert-w2"), second);
  EXPECT_EQ(**store->order_by_id("order-w2"), o2);
}

// A row whose text is not what to_json writes today (an older build's members, spacing):
// update_authz_if compares the text the store read, so a writer holding that row still wins
// its compare-and-set (comparing a re-serialised row failed every time: "changed" until the
// caller gave up).
TEST_P(StoreTest, AuthzCompareAndSetUsesTheTextAsRead) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z = make_authz("authz-old", "acct-1", {"ch-old"});
  ASSERT_TRUE(store->create_order(make_order("order-old", "acct-1", {z}), {z}).ok());
  std::string spaced = stored_json::dump(to_json(z)).insert(1, " ");  // "{ \"account_id\"..."
  ASSERT_EQ(spaced.find('\''), std::string::npos);
  backend_->raw_exec("UPDATE authzs SET json = '" + spaced + "' WHERE id = 'authz-old'");

  // Another store that never read the row compares the re-serialised text: changed.
  auto other = open();
  Authorization updated = z;
  updated.challenges[0].status = "processing";
  auto stale = other->update_authz_if(updated, z);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().type, "changed");
  // Read, then written: the text as read is compared, and the write lands.
  const Authorization read = **store->authz_by_id("authz-old");
  EXPECT_EQ(read, z);
  ASSERT_TRUE(store->update_authz_if(updated, read).ok());
  EXPECT_EQ((**other->authz_by_id("authz-old")).challenges[0].status, "processing");
  // The row now is what to_json writes; a writer still holding the old read loses.
  auto late = store->update_authz_if(updated, read);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().type, "changed");
  // Read through its challenge, the same row.
  EXPECT_EQ(**other->authz_by_challenge("ch-old"), updated);
}

// --- accounts ---------------------------------------------------------------------------

TEST_P(StoreTest, AccountCreateLookupAndKeyRollover) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_account(make_account("acct-1", "tp-1")).ok());

  auto by_id = store->account_by_id("acct-1");
  ASSERT_TRUE(by_id.ok());
  ASSERT_TRUE(by_id->has_value());
  EXPECT_EQ((*by_id)->thumbprint, "tp-1");
  EXPECT_EQ((*by_id)->jwk.at("x"), "acct-1");
  EXPECT_EQ((*by_id)->contact, std::vector<std::string>{"mailto:acct-1@example.com"});

  auto by_tp = store->account_by_thumbprint("tp-1");
  ASSERT_TRUE(by_tp.ok());
  ASSERT_TRUE(by_tp->has_value());
  EXPECT_EQ((*by_tp)->id, "acct-1");

  EXPECT_FALSE(store->account_by_id("nope")->has_value());
  EXPECT_FALSE(store->account_by_thumbprint("nope")->has_value());

  // Key rollover: the thumbprint index follows the new key.
  Account rolled = **by_id;
  rolled.thumbprint = "tp-2";
  rolled.jwk = Json{{"kty", "EC"}, {"x", "new"}};
  rolled.status = "deactivated";
  ASSERT_TRUE(store->update_account(rolled).ok());
  EXPECT_FALSE(store->account_by_thumbprint("tp-1")->has_value());
  auto after = store->account_by_thumbprint("tp-2");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->id, "acct-1");
  EXPECT_EQ((*after)->status, "deactivated");
  EXPECT_EQ((*after)->jwk.at("x"), "new");
}

TEST_P(StoreTest, DuplicateThumbprintIsAConflict) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_account(make_account("acct-1", "tp-1")).ok());
  ASSERT_TRUE(store->create_account(make_account("acct-2", "tp-2")).ok());

  auto dup = store->create_account(make_account("acct-3", "tp-1"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().type, "conflict");
  EXPECT_FALSE(store->account_by_id("acct-3")->has_value());

  // Rolling acct-2 over to acct-1's key must fail too and leave acct-2 unchanged.
  Account clash = make_account("acct-2", "tp-1");
  auto upd = store->update_account(clash);
  ASSERT_FALSE(upd.ok());
  EXPECT_EQ(upd.error().type, "conflict");
  EXPECT_EQ((*store->account_by_id("acct-2"))->thumbprint, "tp-2");

  auto same_id = store->create_account(make_account("acct-1", "tp-9"));
  ASSERT_FALSE(same_id.ok());
  EXPECT_EQ(same_id.error().type, "conflict");
}

// Compare-and-set: only a writer that saw the current row wins; the loser learns "changed"
// and the row keeps the winner's write.
TEST_P(StoreTest, UpdateAccountIfIsCompareAndSet) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_account(make_account("acct-1", "tp-1")).ok());
  ASSERT_TRUE(store->create_account(make_account("acct-2", "tp-2")).ok());
  Account seen = **store->account_by_id("acct-1");
  Account rolled = seen;
  rolled.thumbprint = "tp-new";
  ASSERT_TRUE(store->update_account_if(rolled, seen).ok());
  Account stale = seen;
  stale.contact = {"mailto:x@example.com"};
  auto lost = store->update_account_if(stale, seen);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().type, "changed");
  EXPECT_EQ((*store->account_by_id("acct-1"))->thumbprint, "tp-new");
  EXPECT_EQ((*store->account_by_id("acct-1"))->contact,
            std::vector<std::string>{"mailto:acct-1@example.com"});
  // Re-applied to the fresh row, both changes stand.
  Account fresh = **store->account_by_id("acct-1");
  Account both = fresh;
  both.contact = {"mailto:x@example.com"};
  ASSERT_TRUE(store->update_account_if(both, fresh).ok());
  EXPECT_EQ((*store->account_by_id("acct-1"))->thumbprint, "tp-new");
  EXPECT_EQ((*store->account_by_id("acct-1"))->contact,
            std::vector<std::string>{"mailto:x@example.com"});
  // A thumbprint that another account holds is still a conflict.
  Account clash = both;
  clash.thumbprint = "tp-2";
  auto conflict = store->update_account_if(clash, both);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().type, "conflict");
  EXPECT_EQ(store->update_account_if(make_account("ghost", "tp-g"), make_account("ghost", "tp-g"))
                .error()
                .type,
            "changed");
}

TEST_P(StoreTest, UpdatingAMissingAccountFails) {
  auto store = open();
  ASSERT_TRUE(store);
  auto r = store->update_account(make_account("ghost", "tp-x"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().type, "conflict");
}

TEST_P(StoreTest, EabKeyIdBindsAtMostOneAccount) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_FALSE(*store->eab_kid_used("kid-1"));
  ASSERT_TRUE(store->create_account(make_account("acct-1", "tp-1", "kid-1")).ok());
  EXPECT_TRUE(*store->eab_kid_used("kid-1"));
  EXPECT_FALSE(*store->eab_kid_used(""));

  auto reuse = store->create_account(make_account("acct-2", "tp-2", "kid-1"));
  ASSERT_FALSE(reuse.ok());
  EXPECT_EQ(reuse.error().type, "conflict");

  // Accounts without EAB do not collide with each other.
  EXPECT_TRUE(store->create_account(make_account("acct-3", "tp-3")).ok());
  EXPECT_TRUE(store->create_account(make_account("acct-4", "tp-4")).ok());
  EXPECT_EQ((*store->account_by_id("acct-1"))->eab_kid, "kid-1");
}

// --- orders and authorizations ----------------------------------------------------------

TEST_P(StoreTest, OrderAndAuthorizationsAreCreatedAndFound) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z1 = make_authz("authz-1", "acct-1", {"ch-1", "ch-2"});
  auto z2 = make_authz("authz-2", "acct-1", {"ch-3"});
  ASSERT_TRUE(store->create_order(make_order("order-1", "acct-1", {z1, z2}), {z1, z2}).ok());
  auto z3 = make_authz("authz-3", "acct-1", {"ch-4"});
  ASSERT_TRUE(store->create_order(make_order("order-2", "acct-1", {z3}), {z3}).ok());
  auto z4 = make_authz("authz-4", "acct-2", {"ch-5"});
  ASSERT_TRUE(store->create_order(make_order("order-3", "acct-2", {z4}), {z4}).ok());

  auto order = store->order_by_id("order-1");
  ASSERT_TRUE(order.ok() && order->has_value());
  EXPECT_EQ((*order)->status, "pending");
  EXPECT_EQ((*order)->authorization_ids, (std::vector<std::string>{"authz-1", "authz-2"}));
  EXPECT_EQ((*order)->identifiers.size(), 2u);
  EXPECT_FALSE(store->order_by_id("order-9")->has_value());

  auto ids = store->order_ids_by_account("acct-1");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"order-1", "order-2"}));
  EXPECT_TRUE(store->order_ids_by_account("acct-none")->empty());

  auto authz = store->authz_by_id("authz-2");
  ASSERT_TRUE(authz.ok() && authz->has_value());
  EXPECT_EQ((*authz)->identifier.value, "serial-authz-2");
  ASSERT_EQ((*authz)->challenges.size(), 1u);
  EXPECT_EQ((*authz)->challenges[0].token, "token-ch-3");

  auto owner = store->authz_by_challenge("ch-2");
  ASSERT_TRUE(owner.ok() && owner->has_value());
  EXPECT_EQ((*owner)->id, "authz-1");
  EXPECT_EQ((*store->authz_by_challenge("ch-5"))->id, "authz-4");
  EXPECT_FALSE(store->authz_by_challenge("ch-99")->has_value());

  // Counted by account and status (the pending-authorizations quota).
  EXPECT_EQ(store->count_authzs("acct-1", "pending").value(), 3);
  EXPECT_EQ(store->count_authzs("acct-2", "pending").value(), 1);
  EXPECT_EQ(store->count_authzs("acct-none", "pending").value(), 0);
  Authorization settled = **store->authz_by_id("authz-2");
  settled.status = "valid";
  ASSERT_TRUE(store->update_authz(settled, "pending").ok());
  EXPECT_EQ(store->count_authzs("acct-1", "pending").value(), 2);
  EXPECT_EQ(store->count_authzs("acct-1", "valid").value(), 1);
}

TEST_P(StoreTest, CreateOrderIsAtomic) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z1 = make_authz("authz-1", "acct-1", {"ch-1"});
  ASSERT_TRUE(store->create_order(make_order("order-1", "acct-1", {z1}), {z1}).ok());

  // The second authz of this order clashes with an existing one: nothing may be written.
  auto fresh = make_authz("authz-2", "acct-1", {"ch-2"});
  auto clash = make_authz("authz-1", "acct-1", {"ch-3"});
  auto r = store->create_order(make_order("order-2", "acct-1", {fresh, clash}), {fresh, clash});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "conflict");
  EXPECT_FALSE(store->order_by_id("order-2")->has_value());
  EXPECT_FALSE(store->authz_by_id("authz-2")->has_value());
  EXPECT_FALSE(store->authz_by_challenge("ch-2")->has_value());
  EXPECT_EQ((*store->authz_by_challenge("ch-1"))->id, "authz-1");

  // A clashing challenge id rolls back too.
  auto other = make_authz("authz-5", "acct-1", {"ch-1"});
  auto r2 = store->create_order(make_order("order-3", "acct-1", {other}), {other});
  ASSERT_FALSE(r2.ok());
  EXPECT_FALSE(store->order_by_id("order-3")->has_value());

  // And the store is still usable afterwards (no transaction left open).
  auto z6 = make_authz("authz-6", "acct-1", {"ch-6"});
  EXPECT_TRUE(store->create_order(make_order("order-4", "acct-1", {z6}), {z6}).ok());
}

TEST_P(StoreTest, StatusUpdatesAreCompareAndSet) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z = make_authz("authz-1", "acct-1", {"ch-1"});
  Order o = make_order("order-1", "acct-1", {z});
  ASSERT_TRUE(store->create_order(o, {z}).ok());

  // Two validators read "pending"; only the first transition wins.
  Authorization first = z, second = z;
  first.status = "valid";
  first.challenges[0].status = "valid";
  second.status = "invalid";
  ASSERT_TRUE(store->update_authz(first, "pending").ok());
  auto lost = store->update_authz(second, "pending");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().type, "conflict");
  auto now = store->authz_by_id("authz-1");
  EXPECT_EQ((*now)->status, "valid");
  EXPECT_EQ((*now)->challenges[0].status, "valid");

  o.status = "ready";
  ASSERT_TRUE(store->update_order(o, "pending").ok());
  o.status = "processing";
  auto stale = store->update_order(o, "pending");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().type, "conflict");
  EXPECT_EQ((*store->order_by_id("order-1"))->status, "ready");

  // Without an expected status the write is unconditional.
  o.status = "invalid";
  o.error = Json{{"type", "urn:ietf:params:acme:error:badCSR"}};
  ASSERT_TRUE(store->update_order(o).ok());
  auto final_order = store->order_by_id("order-1");
  EXPECT_EQ((*final_order)->status, "invalid");
  EXPECT_EQ((*final_order)->error.at("type"), "urn:ietf:params:acme:error:badCSR");

  // A missing object is an error, but not a lost race.
  Order ghost = make_order("ghost", "acct-1", {});
  auto missing = store->update_order(ghost, "pending");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().type, "conflict");
  auto missing_authz = store->update_authz(make_authz("ghost", "acct-1", {}), "");
  ASSERT_FALSE(missing_authz.ok());
  EXPECT_NE(missing_authz.error().type, "conflict");
}

TEST_P(StoreTest, ConcurrentTransitionsHaveExactlyOneWinner) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z = make_authz("authz-1", "acct-1", {"ch-1"});
  ASSERT_TRUE(store->create_order(make_order("order-1", "acct-1", {z}), {z}).ok());
  std::atomic<int> wins{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Authorization mine = z;
      mine.status = "valid";
      mine.challenges[0].token = "winner-" + std::to_string(t);
      auto r = store->update_authz(mine, "pending");
      if (r.ok()) {
        ++wins;
      } else if (r.error().type == "conflict") {
        ++conflicts;
      } else {
        ++other;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(other.load(), 0);
}

// update_authz_if compares the whole row: a writer that read the authorization before
// another changed one of its challenges cannot write its stale copy over that change.
TEST_P(StoreTest, AuthzUpdateIfComparesTheWholeRow) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z = make_authz("authz-1", "acct-1", {"ch-http", "ch-dns"});
  ASSERT_TRUE(store->create_order(make_order("order-1", "acct-1", {z}), {z}).ok());
  Authorization http = z, dns = z;  // both read the same pending row
  http.challenges[0].status = "processing";
  dns.challenges[1].status = "processing";
  ASSERT_TRUE(store->update_authz_if(http, z).ok());
  auto stale = store->update_authz_if(dns, z);  // same status, other challenges
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().type, "changed");
  auto now = store->authz_by_id("authz-1");
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ((*now)->challenges[0].status, "processing");
  EXPECT_EQ((*now)->challenges[1].status, "pending");
  // Re-applied to the row as it now is, the change is written and keeps the first.
  Authorization fresh = **now;
  fresh.challenges[1].status = "processing";
  ASSERT_TRUE(store->update_authz_if(fresh, **now).ok());
  auto both = store->authz_by_id("authz-1");
  EXPECT_EQ((*both)->challenges[0].status, "processing");
  EXPECT_EQ((*both)->challenges[1].status, "processing");
  auto missing =
      store->update_authz_if(make_authz("ghost", "acct-1", {}), make_authz("ghost", "acct-1", {}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().type, "changed");
  EXPECT_FALSE(store->authz_by_id("ghost")->has_value());
}

// Writers on four stores (four server processes) each answer their own challenge of one
// authorization, all from the same read (released together by a barrier), then re-read and
// retry on "changed": every one's change survives, none is written over by another's.
TEST_P(StoreTest, ConcurrentChallengeWritersOfOneAuthzKeepEveryChange) {
  std::vector<std::unique_ptr<Store>> stores;
  ASSERT_NO_FATAL_FAILURE(open_four(*backend_, stores));
  auto z = make_authz("authz-1", "acct-1", {"ch-0", "ch-1", "ch-2", "ch-3"});
  ASSERT_TRUE(stores[0]->create_order(make_order("order-1", "acct-1", {z}), {z}).ok());
  std::barrier read_done(static_cast<std::ptrdiff_t>(stores.size()));
  std::atomic<int> first_try_wins{0}, errors{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < stores.size(); ++t) {
    threads.emplace_back([&, t] {
      Store& store = *stores[t];
      auto read = store.authz_by_id("authz-1");
      read_done.arrive_and_wait();
      for (int attempt = 0; attempt < 16; ++attempt) {
        if (!read.ok() || !read->has_value()) break;
        Authorization mine = **read;
        mine.challenges[t].status = "processing";
        auto written = store.update_authz_if(mine, **read);
        if (written.ok()) {
          if (attempt == 0) ++first_try_wins;
          return;
        }
        if (written.error().type != "changed") break;
        read = store.authz_by_id("authz-1");
      }
      ++errors;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(first_try_wins.load(), 1);  // the others had read a row that changed
  auto now = stores[1]->authz_by_id("authz-1");
  ASSERT_TRUE(now.ok() && now->has_value());
  for (const auto& c : (*now)->challenges) EXPECT_EQ(c.status, "processing") << c.id;
}

TEST_P(StoreTest, ChallengeIndexFollowsAuthorizationUpdates) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z = make_authz("authz-1", "acct-1", {"ch-1"});
  ASSERT_TRUE(store->create_order(make_order("order-1", "acct-1", {z}), {z}).ok());
  Authorization changed = make_authz("authz-1", "acct-1", {"ch-2"});
  ASSERT_TRUE(store->update_authz(changed).ok());
  EXPECT_FALSE(store->authz_by_challenge("ch-1")->has_value());
  EXPECT_EQ((*store->authz_by_challenge("ch-2"))->id, "authz-1");
}

TEST_P(StoreTest, ChallengeIndexKeptWhenTheListIsUnchangedAndRewrittenWhenItChanges) {
  // update_authz rewrites the index only when the list differs (as a set, in any order).
  auto store = open();
  ASSERT_TRUE(store);
  auto z = make_authz("authz-1", "acct-1", {"ch-b", "ch-a", "ch-c"});
  ASSERT_TRUE(store->create_order(make_order("order-1", "acct-1", {z}), {z}).ok());
  Authorization same = make_authz("authz-1", "acct-1", {"ch-c", "ch-b", "ch-a"});
  same.status = "valid";
  ASSERT_TRUE(store->update_authz(same).ok());
  for (const char* id : {"ch-a", "ch-b", "ch-c"}) {
    auto owner = store->authz_by_challenge(id);
    ASSERT_TRUE(owner.ok() && owner->has_value()) << id;
    EXPECT_EQ((*owner)->status, "valid") << id;
  }
  Authorization changed = make_authz("authz-1", "acct-1", {"ch-b", "ch-d"});
  ASSERT_TRUE(store->update_authz(changed).ok());
  EXPECT_FALSE(store->authz_by_challenge("ch-a")->has_value());
  EXPECT_FALSE(store->authz_by_challenge("ch-c")->has_value());
  EXPECT_EQ((*store->authz_by_challenge("ch-b"))->id, "authz-1");
  EXPECT_EQ((*store->authz_by_challenge("ch-d"))->id, "authz-1");
}

// --- certificates -----------------------------------------------------------------------

TEST_P(StoreTest, CertificatesByIdSerialAndDevice) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_certificate(make_certificate("cert-1", "01", "dev-A")).ok());
  ASSERT_TRUE(store->put_certificate(make_certificate("cert-2", "02", "dev-B")).ok());
  ASSERT_TRUE(store->put_certificate(make_certificate("cert-3", "03", "dev-A")).ok());
  ASSERT_TRUE(store->put_certificate(make_certificate("cert-4", "04", "")).ok());

  auto by_id = store->certificate_by_id("cert-2");
  ASSERT_TRUE(by_id.ok() && by_id->has_value());
  EXPECT_EQ((*by_id)->serial_hex, "02");
  EXPECT_EQ((*by_id)->chain_pem, "PEM cert-2");

  auto by_serial = store->certificate_by_serial("03");
  ASSERT_TRUE(by_serial.ok() && by_serial->has_value());
  EXPECT_EQ((*by_serial)->id, "cert-3");
  EXPECT_FALSE(store->certificate_by_serial("ff")->has_value());
  EXPECT_FALSE(store->certificate_by_id("cert-9")->has_value());

  auto revoked = make_certificate("cert-6", "06", "dev-A");
  revoked.status = "revoked";
  ASSERT_TRUE(store->put_certificate(revoked).ok());
  auto device_a = store->valid_certificates_by_device("dev-A");
  ASSERT_TRUE(device_a.ok());
  ASSERT_EQ(device_a->size(), 2u);  // oldest first, the revoked cert-6 left out
  EXPECT_EQ((*device_a)[0].id, "cert-1");
  EXPECT_EQ((*device_a)[1].id, "cert-3");
  EXPECT_TRUE(store->valid_certificates_by_device("")->empty());  // not a device
  EXPECT_TRUE(store->valid_certificates_by_device("dev-Z")->empty());
  // A certificate revoked later leaves the list; one made valid again comes back.
  auto first = (*device_a)[0];
  first.status = "revoked";
  ASSERT_TRUE(store->update_certificate(first).ok());
  device_a = store->valid_certificates_by_device("dev-A");
  ASSERT_TRUE(device_a.ok());
  ASSERT_EQ(device_a->size(), 1u);
  EXPECT_EQ((*device_a)[0].id, "cert-3");
  revoked.status = "valid";
  ASSERT_TRUE(store->update_certificate(revoked).ok());
  device_a = store->valid_certificates_by_device("dev-A");
  ASSERT_TRUE(device_a.ok());
  ASSERT_EQ(device_a->size(), 2u);
  EXPECT_EQ((*device_a)[1].id, "cert-6");

  auto dup_serial = store->put_certificate(make_certificate("cert-5", "01", "dev-C"));
  ASSERT_FALSE(dup_serial.ok());
  EXPECT_EQ(dup_serial.error().type, "conflict");
  EXPECT_FALSE(store->certificate_by_id("cert-5")->has_value());
}

TEST_P(StoreTest, CertificateRevocationIsStored) {
  auto store = open();
  ASSERT_TRUE(store);
  auto c = make_certificate("cert-1", "01", "dev-A");
  ASSERT_TRUE(store->put_certificate(c).ok());
  c.status = "revoked";
  c.revocation_reason = 1;
  c.revoked_at = 4242;
  ASSERT_TRUE(store->update_certificate(c).ok());
  auto back = store->certificate_by_serial("01");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->status, "revoked");
  EXPECT_EQ((*back)->revocation_reason, 1);
  EXPECT_EQ((*back)->revoked_at, 4242);
  EXPECT_FALSE(store->update_certificate(make_certificate("cert-9", "09", "")).ok());
}

// Issuance and the revocation of what it supersedes are one transaction, and the store finds
// what it supersedes: every certificate still valid under one of the device's identifiers.
TEST_P(StoreTest, PutCertificateSupersedingRevokesTheDevicesValidCertificates) {
  auto store = open();
  ASSERT_TRUE(store);
  auto gone = make_certificate("cert-r", "0f", "dev-A");
  gone.status = "revoked";
  gone.revocation_reason = 1;
  gone.revoked_at = 2000;
  for (const auto& c :
       {make_certificate("cert-1", "01", "dev-A"), make_certificate("cert-2", "02", "dev-B"), gone,
        make_certificate("cert-u", "0a", "udid-A")}) {
    ASSERT_TRUE(store->put_certificate(c).ok());
  }
  const Supersede device_a{{"dev-A", "udid-A"}, 5000};

  // The new certificate's serial is taken: nothing is written, the old ones stay valid.
  auto clash = store->put_certificate_superseding(make_certificate("cert-3", "02", "dev-A"),
                                                  device_a, nullptr, "");
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().type, "conflict");
  EXPECT_EQ((*store->certificate_by_id("cert-1"))->status, "valid");
  EXPECT_EQ((*store->certificate_by_id("cert-u"))->status, "valid");
  EXPECT_FALSE(store->certificate_by_id("cert-3")->has_value());

  // Under both identifiers, oldest first; the revoked one and the other device's untouched.
  auto revoked = store->put_certificate_superseding(make_certificate("cert-3", "03", "dev-A"),
                                                    device_a, nullptr, "");
  ASSERT_TRUE(revoked.ok()) << revoked.error().detail;
  EXPECT_EQ(*revoked, (std::vector<std::string>{"cert-1", "cert-u"}));
  for (const char* id : {"cert-1", "cert-u"}) {
    const auto c = **store->certificate_by_id(id);
    EXPECT_EQ(c.status, "revoked") << id;
    EXPECT_EQ(c.revocation_reason, 4) << id;
    EXPECT_EQ(c.revoked_at, 5000) << id;
    EXPECT_EQ(c.chain_pem, std::string("PEM ") + id) << id;  // the rest of the record kept
  }
  EXPECT_EQ((*store->certificate_by_id("cert-r"))->revocation_reason, 1);
  EXPECT_EQ((*store->certificate_by_id("cert-r"))->revoked_at, 2000);
  EXPECT_EQ((*store->certificate_by_id("cert-2"))->status, "valid");
  EXPECT_EQ((*store->certificate_by_id("cert-3"))->status, "valid");

  // The next one supersedes that one; naming no identifiers supersedes nothing.
  revoked = store->put_certificate_superseding(make_certificate("cert-4", "04", "dev-A"), device_a,
                                               nullptr, "");
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, std::vector<std::string>{"cert-3"});
  revoked = store->put_certificate_superseding(make_certificate("cert-5", "05", "dev-A"), {},
                                               nullptr, "");
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->empty());
  EXPECT_EQ(store->valid_certificates_by_device("dev-A")->size(), 2u);  // cert-4, cert-5

  // An order that has moved on fails the whole transaction: nothing revoked either.
  auto z = make_authz("authz-9", "acct-1", {"ch-9"});
  Order order = make_order("order-9", "acct-1", {z});
  order.status = "valid";
  ASSERT_TRUE(store->create_order(order, {z}).ok());
  auto late = store->put_certificate_superseding(make_certificate("cert-6", "06", "dev-A"),
                                                 device_a, &order, "ready");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().type, "conflict");
  EXPECT_FALSE(store->certificate_by_id("cert-6")->has_value());
  EXPECT_EQ(store->valid_certificates_by_device("dev-A")->size(), 2u);
}

// Issuances for one device racing over four stores (four server processes): each looks up
// what it supersedes inside its own transaction, so whatever the interleaving exactly one
// certificate is left valid and every other one was revoked by exactly one issuance.
TEST_P(StoreTest, IssuancesForOneDeviceRaceToOneValidCertificate) {
  std::vector<std::unique_ptr<Store>> stores;
  ASSERT_NO_FATAL_FAILURE(open_four(*backend_, stores));
  ASSERT_TRUE(stores[0]->put_certificate(make_certificate("cert-old", "ff", "dev-R")).ok());
  std::mutex mu;
  std::vector<std::string> revoked, errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      // By serial or by UDID: the attestation names both either way.
      const Supersede both{t % 2 ? std::vector<std::string>{"dev-R", "udid-R"}
                                 : std::vector<std::string>{"udid-R", "dev-R"},
                           7000};
      auto c = make_certificate("cert-" + std::to_string(t), std::to_string(20 + t),
                                t % 2 ? "dev-R" : "udid-R");
      auto r = stores[t % 4]->put_certificate_superseding(c, both, nullptr, "");
      std::lock_guard lock(mu);
      if (r.ok()) {
        revoked.insert(revoked.end(), r->begin(), r->end());
      } else {
        errors.push_back(r.error().detail);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  auto valid = *stores[1]->valid_certificates_by_device("dev-R");
  auto valid_udid = *stores[1]->valid_certificates_by_device("udid-R");
  EXPECT_EQ(valid.size() + valid_udid.size(), 1u);
  std::sort(revoked.begin(), revoked.end());
  EXPECT_EQ(std::adjacent_find(revoked.begin(), revoked.end()), revoked.end());  // once each
  EXPECT_EQ(revoked.size(), 8u);  // cert-old and seven of the eight new ones
  EXPECT_TRUE(std::binary_search(revoked.begin(), revoked.end(), "cert-old"));
}

// A finalize's certificate and its order's "valid" are one transaction: an order that is
// no longer "processing" (another finalize won, or it was invalidated) stores neither.
TEST_P(StoreTest, PutCertificateCompletingItsOrder) {
  auto store = open();
  ASSERT_TRUE(store);
  auto z1 = make_authz("authz-1", "acct-1", {"ch-1"});
  Order order = make_order("order-cert-5", "acct-1", {z1});
  order.status = "processing";
  ASSERT_TRUE(store->create_order(order, {z1}).ok());
  Order done = order;
  done.status = "valid";
  done.certificate_id = "cert-5";

  Order elsewhere = done;
  elsewhere.id = "order-not-stored";
  auto ghost = store->put_certificate_superseding(make_certificate("cert-6", "06", ""), {},
                                                  &elsewhere, "processing");
  EXPECT_FALSE(ghost.ok());
  EXPECT_FALSE(store->certificate_by_id("cert-6")->has_value());

  ASSERT_TRUE(store
                  ->put_certificate_superseding(make_certificate("cert-5", "05", ""), {}, &done,
                                                "processing")
                  .ok());
  EXPECT_EQ((*store->order_by_id("order-cert-5"))->status, "valid");
  EXPECT_EQ((*store->order_by_id("order-cert-5"))->certificate_id, "cert-5");
  EXPECT_TRUE(store->certificate_by_id("cert-5")->has_value());

  // The order is "valid" now, not "processing": a second completion writes nothing.
  auto again = store->put_certificate_superseding(make_certificate("cert-7", "07", ""), {}, &done,
                                                  "processing");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().type, "conflict");
  EXPECT_FALSE(store->certificate_by_id("cert-7")->has_value());
}

// The orders a crash left "processing", oldest first; no others.
TEST_P(StoreTest, ProcessingOrderIds) {
  auto store = open();
  ASSERT_TRUE(store);
  Order a = make_order("order-a", "acct-1", {});
  Order b = make_order("order-b", "acct-1", {});
  ASSERT_TRUE(store->create_order(a, {}).ok());
  ASSERT_TRUE(store->create_order(b, {}).ok());
  b.status = "processing";
  b.processing_since = 77;
  ASSERT_TRUE(store->update_order(b, "pending").ok());
  auto processing = store->processing_order_ids();
  ASSERT_TRUE(processing.ok());
  EXPECT_EQ(*processing, std::vector<std::string>{"order-b"});
  EXPECT_EQ((*store->order_by_id("order-b"))->processing_since, 77);
  // A later one comes after it; one that moves on leaves the list.
  a.status = "processing";
  ASSERT_TRUE(store->update_order(a, "pending").ok());
  Order c = make_order("order-c", "acct-1", {});
  c.status = "processing";
  ASSERT_TRUE(store->create_order(c, {}).ok());
  EXPECT_EQ(*store->processing_order_ids(),
            (std::vector<std::string>{"order-a", "order-b", "order-c"}));
  b.status = "valid";
  ASSERT_TRUE(store->update_order(b, "processing").ok());
  EXPECT_EQ(*store->processing_order_ids(), (std::vector<std::string>{"order-a", "order-c"}));
}

// --- settings, specs --------------------------------------------------------------------

TEST_P(StoreTest, SettingsAreKeyValue) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->get_setting("ca.serial")->has_value());
  ASSERT_TRUE(store->set_setting("ca.serial", "1").ok());
  ASSERT_TRUE(store->set_setting("ca.serial", "2").ok());
  // add_setting writes only a missing setting (the nonce key of processes starting together).
  EXPECT_EQ(store->add_setting("ca.serial", "3").value(), false);
  EXPECT_EQ(store->add_setting("nonce.key", "first").value(), true);
  EXPECT_EQ(store->add_setting("nonce.key", "second").value(), false);
  EXPECT_EQ(**store->get_setting("nonce.key"), "first");
  auto v = store->get_setting("ca.serial");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "2");
}

TEST_F(SqliteStoreTest, OpenStoreParsesSpecs) {
  auto sqlite = open_store("sqlite:" + db_path_);
  ASSERT_TRUE(sqlite.ok()) << sqlite.error().detail;
  EXPECT_TRUE((*sqlite)->put_nonce("x", 1).ok());
  EXPECT_TRUE(fs::exists(db_path_));

  // A PostgreSQL URL opens the PostgreSQL store: here nothing listens on port 1.
  auto pg = open_store("postgresql://user@127.0.0.1:1/attestlab");
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.error().type, "serverInternal");
  EXPECT_EQ(pg.error().detail.rfind("postgresql: ", 0), 0u) << pg.error().detail;
  EXPECT_FALSE(is_schema_too_new(pg.error()));

  EXPECT_FALSE(open_store("sqlite:").ok());
  EXPECT_FALSE(open_store("mysql://db").ok());
  EXPECT_FALSE(open_store("").ok());
  EXPECT_FALSE(open_store(db_path_).ok());  // a bare path is not a spec
}

TEST_F(SqliteStoreTest, InMemoryDatabaseWorks) {
  auto r = open_sqlite_store(":memory:");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  ASSERT_TRUE((*r)->put_nonce("n", 1).ok());
  EXPECT_TRUE(*(*r)->consume_nonce("n", 1, 10));
}

TEST_F(SqliteStoreTest, UnusablePathsAreErrorsNotCrashes) {
  {
    std::ofstream garbage(db_path_);
    garbage << "this is not an SQLite database, just text that is long enough to matter....";
  }
  auto not_db = open_sqlite_store(db_path_);
  ASSERT_FALSE(not_db.ok());
  EXPECT_EQ(not_db.error().type, "serverInternal");
  EXPECT_EQ(not_db.error().detail.rfind("sqlite: ", 0), 0u) << not_db.error().detail;

  auto no_dir = open_sqlite_store((dir_ / "missing-dir" / "x.db").string());
  ASSERT_FALSE(no_dir.ok());
  EXPECT_EQ(no_dir.error().type, "serverInternal");
}

// --- durability and schema --------------------------------------------------------------

TEST_P(StoreTest, EverythingSurvivesCloseAndReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_nonce("n1", 1000).ok());
    ASSERT_TRUE(store->create_account(make_account("acct-1", "tp-1", "kid-1")).ok());
    auto z = make_authz("authz-1", "acct-1", {"ch-1"});
    ASSERT_TRUE(store->create_order(make_order("order-1", "acct-1", {z}), {z}).ok());
    ASSERT_TRUE(store->put_certificate(make_certificate("cert-1", "01", "dev-A")).ok());
    ASSERT_TRUE(store->set_setting("k", "v").ok());
  }
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(*store->consume_nonce("n1", 1001, 300));
  EXPECT_EQ((*store->account_by_thumbprint("tp-1"))->id, "acct-1");
  EXPECT_TRUE(*store->eab_kid_used("kid-1"));
  EXPECT_EQ((*store->order_by_id("order-1"))->authorization_ids,
            std::vector<std::string>{"authz-1"});
  EXPECT_EQ((*store->authz_by_challenge("ch-1"))->id, "authz-1");
  EXPECT_EQ(store->valid_certificates_by_device("dev-A")->size(), 1u);
  EXPECT_EQ(**store->get_setting("k"), "v");
}

TEST_P(StoreTest, MigrationsAreIdempotentOnReopen) {
  int version = 0;
  {
    auto store = open();
    ASSERT_TRUE(store);
    version = store->schema_version();
    EXPECT_GE(version, 1);
    ASSERT_TRUE(store->create_account(make_account("acct-1", "tp-1")).ok());
  }
  for (int i = 0; i < 3; ++i) {
    auto store = open();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), version);
    EXPECT_TRUE(store->account_by_id("acct-1")->has_value());
  }
  EXPECT_EQ(raw_count("accounts"), 1);
}

TEST_P(StoreTest, DatabaseFromANewerVersionIsRefused) {
  int version = 0;
  {
    auto store = open();
    ASSERT_TRUE(store);
    version = store->schema_version();
  }
  backend_->set_schema_version(version + 1);
  auto r = backend_->open_raw();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "serverInternal");
  EXPECT_NE(r.error().detail.find("newer"), std::string::npos) << r.error().detail;
  // The message names both versions, and serve recognises it (exit 2).
  EXPECT_NE(r.error().detail.find("version " + std::to_string(version + 1)), std::string::npos)
      << r.error().detail;
  EXPECT_NE(r.error().detail.find("(version " + std::to_string(version) + ")"), std::string::npos)
      << r.error().detail;
  EXPECT_TRUE(is_schema_too_new(r.error()));
  EXPECT_EQ(version, kStoreSchemaVersion);
}

// Column `column` of every row `sql` returns from the database at `path`, a line each.
std::string query_lines(const std::string& path, const std::string& sql, int column = 0) {
  std::string out;
  sqlite3* db = nullptr;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK ||
      sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  } else {
    while (sqlite3_step(s) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(s, column);
      out += text != nullptr ? reinterpret_cast<const char*>(text) : "";
      out += "\n";
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST_F(SqliteStoreTest, DatabaseIsInWalMode) {
  { ASSERT_TRUE(open()); }
  EXPECT_EQ(query_lines(db_path_, "PRAGMA journal_mode"), "wal\n");
}

TEST_F(SqliteStoreTest, ValidDeviceCertificatesAreFoundThroughTheirPartialIndex) {
  // The lookup a new device certificate makes must not read the device's revoked history:
  // SQLite answers it from the partial index of valid device certificates.
  { ASSERT_TRUE(open()); }
  const std::string plan = query_lines(db_path_,
                                       "EXPLAIN QUERY PLAN SELECT json FROM certificates "
                                       "WHERE device_id = ? AND status = 'valid' ORDER BY rowid",
                                       3);
  EXPECT_NE(plan.find("USING INDEX certificates_valid_by_device"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;  // no sort step
  // The index holds only valid certificates of devices.
  const std::string sql = query_lines(
      db_path_, "SELECT sql FROM sqlite_master WHERE name = 'certificates_valid_by_device'");
  EXPECT_NE(sql.find("WHERE status = 'valid' AND device_id IS NOT NULL"), std::string::npos) << sql;
}

TEST_F(SqliteStoreTest, StartUpFindsProcessingOrdersWithoutScanningOrders) {
  { ASSERT_TRUE(open()); }
  const std::string plan = query_lines(db_path_,
                                       "EXPLAIN QUERY PLAN SELECT id FROM orders "
                                       "WHERE status = 'processing' ORDER BY rowid",
                                       3);
  EXPECT_NE(plan.find("USING INDEX orders_processing"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN orders\n"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
}

TEST_F(SqliteStoreTest, BackgroundCheckpointMovesTheWalIntoTheDatabase) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto initial = fs::file_size(db_path_);
  // ~6000 WAL frames (one page per certificate plus index pages): past the background
  // threshold (4000), well below the one where commits checkpoint inline (16000).
  for (int i = 0; i < 1200; ++i) {
    auto c = make_certificate("cert-" + std::to_string(i), std::to_string(i), "dev");
    c.chain_pem.assign(3000, 'p');
    ASSERT_TRUE(store->put_certificate(c).ok());
  }
  // Only a checkpoint makes the main file grow. Liveness with a generous limit, not speed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (fs::file_size(db_path_) < initial + 1'500'000 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(fs::file_size(db_path_), initial + 1'500'000);
}

TEST_F(SqliteStoreTest, WalStaysBoundedUnderSustainedWrites) {
  auto store = open();
  ASSERT_TRUE(store);
  // ~30000 WAL frames written without a pause (several pages a commit): the WAL must be
  // checkpointed and restarted along the way, not grow with the writes.
  std::uintmax_t largest_wal = 0;
  for (int i = 0; i < 6000; ++i) {
    auto c = make_certificate("cert-" + std::to_string(i), std::to_string(i), "dev");
    c.chain_pem.assign(3000, 'p');
    ASSERT_TRUE(store->put_certificate(c).ok());
    if (i % 500 == 0) largest_wal = std::max(largest_wal, fs::file_size(db_path_ + "-wal"));
  }
  largest_wal = std::max(largest_wal, fs::file_size(db_path_ + "-wal"));
  EXPECT_LT(largest_wal, 80u * 1024 * 1024);  // inline limit: 16000 frames of 4 KiB + headers
  EXPECT_EQ(store->valid_certificates_by_device("dev")->size(), 6000u);
}

// Under writes without a pause the background checkpointer still lets the WAL start over
// each time it has copied it: it copies the frames committed while it ran with the store's
// writers held off, so one run per WAL cycle, not a run per commit past the threshold until
// a write happens to find every frame copied.
TEST_F(SqliteStoreTest, EachBackgroundCheckpointLetsTheWalStartOver) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto before = sqlite_internal::checkpoint_stats();
  // ~30000 WAL frames (several pages a commit): past the background threshold (4000 frames)
  // several times over.
  for (int i = 0; i < 6000; ++i) {
    auto c = make_certificate("cert-" + std::to_string(i), std::to_string(i), "dev");
    c.chain_pem.assign(3000, 'p');
    ASSERT_TRUE(store->put_certificate(c).ok());
  }
  const auto after = sqlite_internal::checkpoint_stats();
  const auto runs = after.background_runs - before.background_runs;
  const auto restarts = after.wal_restarts - before.wal_restarts;
  const auto inline_runs = after.inline_runs - before.inline_runs;
  EXPECT_GE(restarts, 3u);
  // Each run ends with every frame copied, so the next commit starts the WAL over (the last
  // run may have no commit after it). Without that, runs follow one another until a commit
  // reaches the inline bound: 15 runs for 3 restarts, all of them inline.
  EXPECT_LE(runs, restarts + 1) << runs << " runs, " << restarts << " restarts, " << inline_runs
                                << " of them after an inline checkpoint";
}

TEST_F(SqliteStoreTest, CommittedWritesSurviveKillMinus9) {
  pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // Child: write, then die without closing anything (no destructors, no checkpoint).
    auto r = open_sqlite_store(db_path_);
    if (!r.ok()) _exit(10);
    Store& store = **r;
    auto z = make_authz("authz-k", "acct-k", {"ch-k"});
    if (!store.create_order(make_order("order-k", "acct-k", {z}), {z}).ok()) _exit(11);
    if (!store.put_certificate(make_certificate("cert-k", "0k", "dev-K")).ok()) _exit(12);
    if (!store.put_nonce("nonce-k", 1000).ok()) _exit(13);
    raise(SIGKILL);
    _exit(14);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_TRUE(fs::exists(db_path_ + "-wal"));  // the writes live in the WAL, not yet merged

  auto store = open();
  ASSERT_TRUE(store);
  auto order = store->order_by_id("order-k");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(order->has_value());
  EXPECT_EQ((*order)->account_id, "acct-k");
  EXPECT_EQ((*store->authz_by_challenge("ch-k"))->id, "authz-k");
  EXPECT_TRUE(store->certificate_by_serial("0k")->has_value());
  EXPECT_TRUE(*store->consume_nonce("nonce-k", 1001, 300));
}

// The first column of the first row of `sql` on a plain SQLite connection, "" if none.
std::string scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  return out;
}

// The store's connections write each transaction's WAL frames (headers and pages) with one
// call (sqlite_wal_vfs.h); a plain SQLite connection on the default VFS shares the database
// with them both ways, and finds it intact.
TEST_F(SqliteStoreTest, WalFramesGoDownWholeAndPlainSqliteSharesTheDatabase) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto before = sqlite_internal::wal_batch_stats();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store
                    ->put_certificate(
                        make_certificate("cert-" + std::to_string(i), std::to_string(i), "dev"))
                    .ok());
  }
  // Each commit wrote its frames (the table's page and its indexes' pages: several) with one
  // write, and nothing else wrote frames.
  const auto after = sqlite_internal::wal_batch_stats();
  EXPECT_EQ(after.writes - before.writes, 50u);
  EXPECT_GE(after.frames - before.frames, 100u);
  const auto wal_size = fs::file_size(db_path_ + "-wal");
  EXPECT_EQ((wal_size - 32) % (24 + 4096), 0u) << wal_size;  // header + whole frames

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM certificates"), "50");
  EXPECT_EQ(scalar(db, "PRAGMA integrity_check"), "ok");
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO settings(key, value) VALUES('plain', 'written')", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto value = store->get_setting("plain");
  ASSERT_TRUE(value.ok());
  ASSERT_TRUE(value->has_value());
  EXPECT_EQ(**value, "written");
  EXPECT_TRUE(store->certificate_by_serial("49")->has_value());
}

// The VFS's own rules, call by call on a WAL file (sqlite_wal_vfs.h): frames are held until
// their commit frame, and any other call (a read, a sync, a write that does not continue
// them) writes them first, at their offsets.
TEST_F(SqliteStoreTest, WalBatchingVfsHoldsFramesUntilTheCommitFrameOrAnotherCall) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(sqlite_internal::wal_batching_vfs());
  ASSERT_NE(vfs, nullptr);
  const std::string path = (dir_ / "calls.db-wal").string();
  std::ofstream((dir_ / "calls.db").string()).flush();  // a WAL file takes its database's mode
  std::vector<char> storage(static_cast<std::size_t>(vfs->szOsFile));
  auto* file = reinterpret_cast<sqlite3_file*>(storage.data());
  int out_flags = 0;
  ASSERT_EQ(vfs->xOpen(vfs, path.c_str(), file,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL, &out_flags),
            SQLITE_OK);
  const sqlite3_io_methods* io = file->pMethods;
  constexpr int kPage = 4096, kFrame = 24 + kPage;
  auto header = [](bool commit, unsigned char fill) {
    std::vector<unsigned char> h(24, fill);
    for (int i = 4; i < 8; ++i) h[static_cast<std::size_t>(i)] = commit ? 1 : 0;
    return h;
  };
  auto page = [](unsigned char fill) { return std::vector<unsigned char>(kPage, fill); };
  auto write = [&](const std::vector<unsigned char>& bytes, sqlite3_int64 offset) {
    return io->xWrite(file, bytes.data(), static_cast<int>(bytes.size()), offset);
  };
  auto on_disk = [&] { return fs::file_size(path); };
  auto writes = [] { return sqlite_internal::wal_batch_stats().writes; };

  const std::vector<unsigned char> wal_header(32, 0x77);
  ASSERT_EQ(write(wal_header, 0), SQLITE_OK);  // not a frame: written at once
  EXPECT_EQ(on_disk(), 32u);

  // Two frames, the second a commit frame: nothing on disk until its page, then one write.
  std::uint64_t before = writes();
  ASSERT_EQ(write(header(false, 0x11), 32), SQLITE_OK);
  ASSERT_EQ(write(page(0xA1), 32 + 24), SQLITE_OK);
  ASSERT_EQ(write(header(true, 0x12), 32 + kFrame), SQLITE_OK);
  EXPECT_EQ(on_disk(), 32u);
  ASSERT_EQ(write(page(0xA2), 32 + kFrame + 24), SQLITE_OK);
  EXPECT_EQ(on_disk(), 32u + 2 * kFrame);
  EXPECT_EQ(writes() - before, 1u);

  // A frame without its commit is written by a read of the file, before the read.
  ASSERT_EQ(write(header(false, 0x13), 32 + 2 * kFrame), SQLITE_OK);
  ASSERT_EQ(write(page(0xA3), 32 + 2 * kFrame + 24), SQLITE_OK);
  EXPECT_EQ(on_disk(), 32u + 2 * kFrame);
  std::vector<unsigned char> read_back(kPage);
  ASSERT_EQ(io->xRead(file, read_back.data(), kPage, 32 + 2 * kFrame + 24), SQLITE_OK);
  EXPECT_EQ(read_back, page(0xA3));

  // A header that does not continue the held frames: they go down first, at their offset.
  const sqlite3_int64 far = 32 + 10 * kFrame;
  ASSERT_EQ(write(header(false, 0x14), 32 + 3 * kFrame), SQLITE_OK);
  ASSERT_EQ(write(page(0xA4), 32 + 3 * kFrame + 24), SQLITE_OK);
  ASSERT_EQ(write(header(false, 0x15), far), SQLITE_OK);
  EXPECT_EQ(on_disk(), 32u + 4 * kFrame);
  ASSERT_EQ(write(page(0xA5), far + 24), SQLITE_OK);
  ASSERT_EQ(io->xSync(file, SQLITE_SYNC_NORMAL), SQLITE_OK);  // and a sync writes the rest
  EXPECT_EQ(on_disk(), static_cast<std::uintmax_t>(far + kFrame));
  ASSERT_EQ(io->xClose(file), SQLITE_OK);

  // Byte for byte where SQLite put them.
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> all((std::istreambuf_iterator<char>(in)), {});
  auto at = [&](sqlite3_int64 offset, std::size_t n) {
    return std::vector<unsigned char>(all.begin() + offset, all.begin() + offset + n);
  };
  EXPECT_EQ(at(0, 32), wal_header);
  EXPECT_EQ(at(32, 24), header(false, 0x11));
  EXPECT_EQ(at(32 + 24, kPage), page(0xA1));
  EXPECT_EQ(at(32 + kFrame, 24), header(true, 0x12));
  EXPECT_EQ(at(32 + kFrame + 24, kPage), page(0xA2));
  EXPECT_EQ(at(32 + 2 * kFrame, 24), header(false, 0x13));
  EXPECT_EQ(at(32 + 3 * kFrame, 24), header(false, 0x14));
  EXPECT_EQ(at(32 + 3 * kFrame + 24, kPage), page(0xA4));
  EXPECT_EQ(at(far, 24), header(false, 0x15));
  EXPECT_EQ(at(far + 24, kPage), page(0xA5));
}

// A transaction larger than the page cache spills pages into the WAL and rewrites some of
// them before it commits; SQLite then rewrites those frames' headers (new checksums), with no
// page write after them. Those headers must be on disk when the commit is published: killed
// right after COMMIT, the database recovered by a fresh connection (which checks every
// frame's checksum) holds the whole transaction.
TEST_F(SqliteStoreTest, WalChecksumRewritesOfASpilledTransactionSurviveKillMinus9) {
  // The default page size, and the largest: frames held together stay within one write the
  // unix VFS accepts (sqlite_wal_vfs.cpp, kMaxHeld).
  for (const int page_size : {4096, 65536}) {
    SCOPED_TRACE(page_size);
    const std::string path = (dir_ / ("spill-" + std::to_string(page_size) + ".db")).string();
    pid_t child = fork();
    ASSERT_NE(child, -1);
    if (child == 0) {
      sqlite3* db = nullptr;
      if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                          sqlite_internal::wal_batching_vfs()) != SQLITE_OK)
        _exit(10);
      const std::string script =
          "PRAGMA page_size=" + std::to_string(page_size) +
          ";"
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=8;"
          "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);"
          "BEGIN;"
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
          "  INSERT INTO t SELECT i, randomblob(300) FROM n;"
          "UPDATE t SET v = randomblob(300) WHERE k % 3 = 0;"
          "UPDATE t SET v = randomblob(300) WHERE k % 5 = 0;"
          "COMMIT;";
      if (sqlite3_exec(db, script.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) _exit(11);
      raise(SIGKILL);
      _exit(12);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    ASSERT_GT(fs::file_size(path + "-wal"), 100u * 4096);  // the transaction is in the WAL

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(scalar(db, "PRAGMA page_size"), std::to_string(page_size));
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM t"), "2000");
    EXPECT_EQ(scalar(db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);
  }
}

// --- added with the PostgreSQL store: schema 2, migrations, several processes ------------

TEST_P(StoreTest, AnOrderHasAtMostOneCertificate) {
  auto store = open();
  ASSERT_TRUE(store);
  auto first = make_certificate("cert-1", "01", "dev-A");
  ASSERT_TRUE(store->put_certificate(first).ok());
  auto second = make_certificate("cert-2", "02", "dev-A");
  second.order_id = first.order_id;
  auto r = store->put_certificate(second);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "conflict");
  EXPECT_EQ(r.error().detail, "the order already has a certificate");
  EXPECT_FALSE(store->certificate_by_id("cert-2")->has_value());
  // Certificates without an order do not collide with each other.
  auto loose1 = make_certificate("cert-3", "03", "");
  auto loose2 = make_certificate("cert-4", "04", "");
  loose1.order_id.clear();
  loose2.order_id.clear();
  EXPECT_TRUE(store->put_certificate(loose1).ok());
  EXPECT_TRUE(store->put_certificate(loose2).ok());
  EXPECT_EQ(raw_count("certificates"), 3);
}

// Creates an order with one authorization of its own replacing certificate_id, as
// create_replacing_order does for newOrder.
Result<void> create_replacing(Store& store, const std::string& order_id,
                              const std::string& certificate_id, const std::string& expected) {
  auto z = make_authz("authz-" + order_id, "acct-1", {"ch-" + order_id});
  return store.create_replacing_order(make_order(order_id, "acct-1", {z}), {z}, certificate_id,
                                      expected);
}

// RFC 9773 §5's one successor per certificate, as a compare-and-set of one member.
TEST_P(StoreTest, SetReplacedByIsCompareAndSetOfThatMemberOnly) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_certificate(make_certificate("cert-1", "01", "dev-A")).ok());
  EXPECT_TRUE(create_replacing(*store, "order-1", "cert-1", "").ok());
  EXPECT_EQ(create_replacing(*store, "order-2", "cert-1", "").error().type, "changed");
  EXPECT_EQ((*store->certificate_by_id("cert-1"))->replaced_by, "order-1");
  EXPECT_TRUE(create_replacing(*store, "order-2", "cert-1", "order-1").ok());
  auto after = store->certificate_by_id("cert-1");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->replaced_by, "order-2");
  EXPECT_EQ((*after)->serial_hex, "01");  // the rest of the record is untouched
  EXPECT_EQ((*after)->device_id, "dev-A");
  EXPECT_EQ((*after)->status, "valid");
  EXPECT_EQ(create_replacing(*store, "order-3", "cert-9", "").error().type, "changed");
  EXPECT_FALSE(store->order_by_id("order-3")->has_value());
}

// create_replacing_order claims the certificate in the transaction that creates the order:
// the loser of the claim writes nothing (no order, no authorization, no challenge index), so
// it leaves nothing pending; the winner's order and claim are there together.
TEST_P(StoreTest, CreateReplacingOrderWritesNothingWhenTheClaimIsLost) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_certificate(make_certificate("cert-1", "01", "dev-A")).ok());
  auto z1 = make_authz("authz-1", "acct-1", {"ch-1"});
  ASSERT_TRUE(
      store->create_replacing_order(make_order("order-1", "acct-1", {z1}), {z1}, "cert-1", "")
          .ok());
  EXPECT_EQ((*store->certificate_by_id("cert-1"))->replaced_by, "order-1");

  auto z2 = make_authz("authz-2", "acct-1", {"ch-2"});
  auto lost =
      store->create_replacing_order(make_order("order-2", "acct-1", {z2}), {z2}, "cert-1", "");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().type, "changed");
  EXPECT_FALSE(store->order_by_id("order-2")->has_value());
  EXPECT_FALSE(store->authz_by_id("authz-2")->has_value());
  EXPECT_FALSE(store->authz_by_challenge("ch-2")->has_value());
  EXPECT_EQ(store->count_authzs("acct-1", "pending").value(), 1);
  EXPECT_EQ(raw_count("orders"), 1);
  EXPECT_EQ(raw_count("authzs"), 1);
  EXPECT_EQ(raw_count("challenges"), 1);
  EXPECT_EQ((*store->certificate_by_id("cert-1"))->replaced_by, "order-1");
  // A claim made from what is stored now (order-1 gave up, say) wins.
  ASSERT_TRUE(
      store
          ->create_replacing_order(make_order("order-2", "acct-1", {z2}), {z2}, "cert-1", "order-1")
          .ok());
  EXPECT_EQ((*store->certificate_by_id("cert-1"))->replaced_by, "order-2");
  EXPECT_EQ(raw_count("authzs"), 2);
}

// Four stores (four server processes) create orders replacing one certificate at once:
// exactly one is created, and the others leave no order and no pending authorization.
TEST_P(StoreTest, RacingReplacingOrdersLeaveOnlyTheWinnersRows) {
  std::vector<std::unique_ptr<Store>> stores;
  ASSERT_NO_FATAL_FAILURE(open_four(*backend_, stores));
  ASSERT_TRUE(stores[0]->put_certificate(make_certificate("cert-1", "01", "dev-A")).ok());
  std::latch start(static_cast<std::ptrdiff_t>(stores.size()));
  std::atomic<int> created{0}, changed{0}, other{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < stores.size(); ++t) {
    threads.emplace_back([&, t] {
      const std::string n = std::to_string(t);
      auto z = make_authz("authz-" + n, "acct-1", {"ch-" + n});
      Order o = make_order("order-" + n, "acct-1", {z});
      start.arrive_and_wait();
      auto r = stores[t]->create_replacing_order(o, {z}, "cert-1", "");
      if (r.ok()) {
        ++created;
      } else if (r.error().type == "changed") {
        ++changed;
      } else {
        ++other;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(changed.load(), 3);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(raw_count("orders"), 1);
  EXPECT_EQ(raw_count("authzs"), 1);
  EXPECT_EQ(raw_count("challenges"), 1);
  EXPECT_EQ(stores[0]->count_authzs("acct-1", "pending").value(), 1);
  const std::string winner = (*stores[0]->certificate_by_id("cert-1"))->replaced_by;
  EXPECT_TRUE(stores[0]->order_by_id(winner)->has_value()) << winner;
}

// A revocation writes status, reason and time only, and only over a valid certificate: the
// second of two revocations loses (and leaves the first one's reason), a replaced_by claim
// made meanwhile survives, and the valid-by-device index no longer lists the certificate.
TEST_P(StoreTest, RevokeIfValidRevokesOnceAndKeepsTheRestOfTheRecord) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_certificate(make_certificate("cert-1", "01", "dev-A")).ok());
  ASSERT_TRUE(create_replacing(*store, "order-1", "cert-1", "").ok());
  EXPECT_EQ(store->revoke_certificate_if_valid("cert-1", 1, 1'700'000'500).value(), true);
  EXPECT_EQ(store->revoke_certificate_if_valid("cert-1", 4, 1'700'000'600).value(), false);
  auto after = store->certificate_by_id("cert-1");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->status, "revoked");
  EXPECT_EQ((*after)->revocation_reason, 1);
  EXPECT_EQ((*after)->revoked_at, 1'700'000'500);
  EXPECT_EQ((*after)->replaced_by, "order-1");
  EXPECT_EQ((*after)->serial_hex, "01");
  EXPECT_EQ((*after)->device_id, "dev-A");
  auto valid = store->valid_certificates_by_device("dev-A");
  ASSERT_TRUE(valid.ok());
  EXPECT_TRUE(valid->empty());
  EXPECT_EQ(store->revoke_certificate_if_valid("cert-9", 0, 1'700'000'700).value(), false);
}

TEST_P(StoreTest, AVersion1DatabaseIsMigratedOnOpen) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_certificate(make_certificate("cert-1", "01", "dev-A")).ok());
  }
  backend_->downgrade_to_v1();
  {
    // Version 1 had no per-order rule: prove the downgrade took before migrating again.
    auto raw = backend_->open_raw();
    ASSERT_TRUE(raw.ok()) << raw.error().detail;
  }
  backend_->downgrade_to_v1();  // the open above migrated it back; downgrade once more
  backend_->raw_exec(
      "INSERT INTO certificates(id, serial, device_id, account_id, order_id, status, json) "
      "VALUES('cert-2', '02', NULL, 'acct-1', 'order-X', 'valid', '{}')");
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), kStoreSchemaVersion);
  auto dup = make_certificate("cert-3", "03", "");
  dup.order_id = "order-X";
  auto r = store->put_certificate(dup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "conflict");
  EXPECT_EQ(raw_count("certificates"), 2);
  EXPECT_EQ((*store->certificate_by_id("cert-1"))->serial_hex, "01");
  // Step 4's index of valid device certificates covers rows written before it.
  auto device_a = store->valid_certificates_by_device("dev-A");
  ASSERT_TRUE(device_a.ok());
  ASSERT_EQ(device_a->size(), 1u);
  EXPECT_EQ((*device_a)[0].id, "cert-1");
}

TEST_P(StoreTest, StoresOpenedTogetherMigrateOnce) {
  // Server processes starting at the same moment on an empty database.
  std::vector<std::unique_ptr<Store>> stores(4);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto r = backend_->open_raw();
      if (r.ok()) {
        stores[i] = std::move(*r);
      } else {
        errors[i] = r.error().detail;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(stores[i]) << errors[i];
    EXPECT_EQ(stores[i]->schema_version(), kStoreSchemaVersion);
  }
  ASSERT_TRUE(stores[0]->create_account(make_account("acct-1", "tp-1")).ok());
  EXPECT_TRUE(stores[3]->account_by_id("acct-1")->has_value());
}

TEST_P(StoreTest, FinalizeRacesAcrossStoresHaveOneWinner) {
  // Four stores (four server processes) race to claim one ready order and store its
  // certificate: exactly one claim wins, and the order ends with exactly one certificate.
  std::vector<std::unique_ptr<Store>> stores;
  Order o;
  ASSERT_NO_FATAL_FAILURE(open_four_with_ready_order(*backend_, stores, o));
  std::atomic<int> claims{0}, conflicts{0}, certificates{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Store& s = *stores[t % 4];
      Order mine = o;
      mine.status = "processing";
      auto claimed = s.update_order(mine, "ready");
      if (!claimed.ok()) {
        (claimed.error().type == "conflict" ? conflicts : other)++;
        return;
      }
      ++claims;
      auto c = make_certificate("cert-" + std::to_string(t), std::to_string(t), "dev");
      c.order_id = o.id;
      if (s.put_certificate(c).ok()) ++certificates;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(claims.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(certificates.load(), 1);
  EXPECT_EQ(raw_count("certificates"), 1);
  EXPECT_EQ((*stores[2]->order_by_id("order-1"))->status, "processing");
}

// The finalize handler completes a "ready" order in the transaction that stores its
// certificate (no "processing" claim first): of eight racing completions over four stores,
// exactly one stores its certificate and its order; the others write nothing.
TEST_P(StoreTest, CompletionsFromReadyRaceToOneWinner) {
  std::vector<std::unique_ptr<Store>> stores;
  Order o;
  ASSERT_NO_FATAL_FAILURE(open_four_with_ready_order(*backend_, stores, o));
  std::atomic<int> wins{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto c = make_certificate("cert-" + std::to_string(t), std::to_string(10 + t), "");
      c.order_id = o.id;
      Order done = o;
      done.status = "valid";
      done.certificate_id = c.id;
      auto stored = stores[t % 4]->put_certificate_superseding(c, {}, &done, "ready");
      if (stored.ok()) {
        ++wins;
      } else {
        (stored.error().type == "conflict" ? conflicts : other)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(raw_count("certificates"), 1);
  auto final_order = *stores[1]->order_by_id("order-1");
  ASSERT_TRUE(final_order.has_value());
  EXPECT_EQ(final_order->status, "valid");
  EXPECT_TRUE(stores[2]->certificate_by_id(final_order->certificate_id)->has_value());
}

TEST_P(StoreTest, NoncesConsumedThroughFourStoresAreAcceptedOnce) {
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < 4; ++i) {
    stores.push_back(open());
    ASSERT_TRUE(stores.back());
  }
  constexpr int kNonces = 300;
  for (int i = 0; i < kNonces; ++i) {
    ASSERT_TRUE(stores[i % 4]->put_nonce("p" + std::to_string(i), 1).ok());
  }
  std::array<std::atomic<int>, kNonces> accepted{};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Store& s = *stores[t % 4];
      for (int i = 0; i < kNonces; ++i) {
        auto r = s.consume_nonce("p" + std::to_string((i + t * 37) % kNonces), 2, 300);
        if (!r.ok()) {
          ++errors;
        } else if (*r) {
          ++accepted[(i + t * 37) % kNonces];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kNonces; ++i) EXPECT_EQ(accepted[i].load(), 1) << "nonce p" << i;
  EXPECT_EQ(raw_count("nonces"), 0);
}

// --- PostgreSQL only --------------------------------------------------------------------

TEST(PgStoreTest, BadUrlsAreErrorsNotCrashes) {
  for (const char* url : {"postgresql://", "postgresql://nobody@127.0.0.1:1/x",
                          "postgresql://a@[::1/x", "postgres://a@127.0.0.1:99999/x"}) {
    auto r = open_store(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().type, "serverInternal") << url;
    EXPECT_EQ(r.error().detail.rfind("postgresql: ", 0), 0u) << r.error().detail;
  }
}

TEST(PgStoreTest, AMissingDatabaseIsAnErrorNamingIt) {
  PG_SERVER_OR_FAIL(pg);
  std::string url = pg.url();
  auto r = open_store(url.substr(0, url.rfind('/')) + "/no_such_database");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("no_such_database"), std::string::npos) << r.error().detail;
}

}  // namespace
}  // namespace attestlab::server

#include "server/acme/nonce.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>
#include "testing/temp_dir.h"

namespace attestlab::server {
namespace {

class NonceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = open_sqlite_store(dir + "/db.sqlite");
    ASSERT_TRUE(opened.ok()) << opened.error().detail;
    store = std::move(*opened);
  }
  void TearDown() override {
    store.reset();
  }
  std::unique_ptr<NonceService> service(std::int64_t lifetime = 60) {
    auto s = NonceService::open(*store, clock, lifetime);
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  }
  attestlab::testing::TempDir tmp_{"nonce"};
  std::string dir = tmp_.path();
  std::unique_ptr<Store> store;
  std::shared_ptr<VirtualClock> clock = std::make_shared<VirtualClock>();
};

TEST_F(NonceTest, AcceptedExactlyOnce) {
  auto nonces = service();
  std::string n = nonces->issue();
  EXPECT_EQ(n.size(), 32u);
  EXPECT_TRUE(*nonces->consume(n));
  EXPECT_FALSE(*nonces->consume(n));
}

TEST_F(NonceTest, UniqueForgedAndMalformedRefused) {
  auto nonces = service();
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) seen.insert(nonces->issue());
  EXPECT_EQ(seen.size(), 200u);
  std::string n = nonces->issue();
  std::string forged = n;
  forged[30] = forged[30] == 'A' ? 'B' : 'A';  // inside the MAC
  EXPECT_FALSE(*nonces->consume(forged));
  std::string shifted = n;
  shifted[3] = shifted[3] == 'A' ? 'B' : 'A';  // inside the timestamp
  EXPECT_FALSE(*nonces->consume(shifted));
  EXPECT_FALSE(*nonces->consume(""));
  EXPECT_FALSE(*nonces->consume(std::string(32, '!')));
  EXPECT_FALSE(*nonces->consume(std::string(32, 'A')));
  EXPECT_TRUE(*nonces->consume(n));  // the genuine one still works once
}

// The ledger (nonce_ledger.h) probes from the first 8 bytes of a nonce's tag (its last 16
// bytes): consecutive nonces of one second must not share them, or its probes would pile
// up in one run of slots.
TEST_F(NonceTest, ConsecutiveNoncesSpreadOverTheLedger) {
  auto nonces = service();
  constexpr int kCount = 4096;
  constexpr std::uint64_t kSlotMask = (1u << 18) - 1;  // a half of the default table
  std::set<std::string> seen;
  std::set<std::uint64_t> starts;
  for (int i = 0; i < kCount; ++i) {
    const std::string n = nonces->issue();
    seen.insert(n);
    auto raw = base64url_decode(n);
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(raw->size(), 24u);
    std::uint64_t start = 0;
    std::memcpy(&start, raw->data() + 24 - kNonceTagBytes, sizeof start);
    starts.insert(start & kSlotMask);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount));
  // Uniform random starts would give about 4064 distinct slots out of 2^18.
  EXPECT_GT(starts.size(), 4000u);
}

TEST_F(NonceTest, ExpiredRefused) {
  auto nonces = service(60);
  std::string n = nonces->issue();
  clock->advance(61);
  EXPECT_FALSE(*nonces->consume(n));
}

TEST_F(NonceTest, SharedAcrossServicesOnOneStore) {
  auto a = service();
  auto b = service();  // another process on the same store: same key
  std::string n = a->issue();
  EXPECT_TRUE(*b->consume(n));
  EXPECT_FALSE(*a->consume(n));
}

TEST_F(NonceTest, KeySurvivesReopen) {
  std::string n = service()->issue();
  auto reopened = service();
  EXPECT_TRUE(*reopened->consume(n));
}

TEST_F(NonceTest, AnotherStoreDoesNotAccept) {
  std::string n = service()->issue();
  auto other_store = std::move(open_sqlite_store(dir + "/other.sqlite").value());
  auto other = NonceService::open(*other_store, clock, 60);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*(*other)->consume(n));
}

// Two processes on one store, B's clock 50 s ahead (inside the stated skew margin). A nonce
// that A accepted stays refused for as long as A still finds it fresh, even after B purged
// old records: records are judged by the verifier's clock and kept lifetime + margins.
TEST_F(NonceTest, SkewedProcessPurgeOpensNoReplayWindow) {
  auto a = service(600);
  auto b_store = open_sqlite_store(dir + "/db.sqlite");
  ASSERT_TRUE(b_store.ok()) << b_store.error().detail;
  auto b_clock = std::make_shared<VirtualClock>(clock->now() + 50);
  auto b = NonceService::open(**b_store, b_clock, 600);
  ASSERT_TRUE(b.ok());
  std::string n = a->issue();
  ASSERT_TRUE(*a->consume(n));
  clock->advance(590);
  b_clock->advance(590);
  for (int i = 0; i < 1100; ++i) ASSERT_TRUE(*(*b)->consume((*b)->issue()));  // B purges
  EXPECT_TRUE(a->authentic(n));  // A still finds n fresh...
  EXPECT_FALSE(*a->consume(n));  // ...so its use must still be on record
  EXPECT_FALSE(*(*b)->consume(n));
  // A nonce from the skewed process is judged by the verifier's clock: 50 s in A's future
  // is inside the margin, the age counts from A's own view.
  std::string ahead = (*b)->issue();
  EXPECT_TRUE(*a->consume(ahead));
  EXPECT_FALSE(*(*b)->consume(ahead));
}

// The store behaviour this design relies on: a second put of one nonce is a conflict.
TEST_F(NonceTest, StoreRefusesDuplicatePut) {
  ASSERT_TRUE(store->put_nonce("dup", clock->now()).ok());
  auto again = store->put_nonce("dup", clock->now());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().type, "conflict");
}

}  // namespace
}  // namespace attestlab::server

#include "server/nonce.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

namespace attestlab::server {
namespace {

class NonceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/attestlab-nonce-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    auto opened = open_sqlite_store(dir + "/db.sqlite");
    ASSERT_TRUE(opened.ok()) << opened.error().detail;
    store = std::move(*opened);
  }
  void TearDown() override {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  std::unique_ptr<Store> store;
  std::shared_ptr<VirtualClock> clock = std::make_shared<VirtualClock>();
};

TEST_F(NonceTest, AcceptedExactlyOnce) {
  NonceService nonces(*store, clock, 60);
  auto n = nonces.issue();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->size(), 22u);
  EXPECT_TRUE(*nonces.consume(*n));
  EXPECT_FALSE(*nonces.consume(*n));
}

TEST_F(NonceTest, UniqueAndUnknownRefused) {
  NonceService nonces(*store, clock, 60);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(*nonces.issue());
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_FALSE(*nonces.consume("AAAAAAAAAAAAAAAAAAAAAA"));
  EXPECT_FALSE(*nonces.consume(""));
  EXPECT_FALSE(*nonces.consume("not a nonce at all!!!!"));
}

TEST_F(NonceTest, ExpiredRefused) {
  NonceService nonces(*store, clock, 60);
  auto n = *nonces.issue();
  clock->advance(61);
  EXPECT_FALSE(*nonces.consume(n));
}

TEST_F(NonceTest, SharedAcrossServicesOnOneStore) {
  NonceService a(*store, clock, 60), b(*store, clock, 60);
  auto n = *a.issue();
  EXPECT_TRUE(*b.consume(n));
  EXPECT_FALSE(*a.consume(n));
}

}  // namespace
}  // namespace attestlab::server

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "server/acme/acme_context.h"
#include "testing/temp_dir.h"

namespace attestlab::server {
namespace {

class AccountCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store = std::move(open_sqlite_store(dir + "/db").value());
    account.id = "acct1";
    set_key(*pki::PrivateKey::generate(pki::KeySpec::p256()));
    ASSERT_TRUE(store->create_account(account).ok());
  }
  void TearDown() override {
    store.reset();
  }
  void set_key(const pki::PrivateKey& key) {
    jose::Jwk jwk(key.public_key());
    account.jwk = jwk.to_json();
    account.thumbprint = jwk.thumbprint();
  }
  attestlab::testing::TempDir tmp_{"acctcache"};
  std::string dir = tmp_.path();
  std::unique_ptr<Store> store;
  Account account;
};

TEST_F(AccountCacheTest, LoadsParsesAndMissesUnknown) {
  AccountCache cache;
  auto found = cache.lookup(*store, "acct1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->account.thumbprint, account.thumbprint);
  EXPECT_EQ((*found)->key->thumbprint(), account.thumbprint);
  auto missing = cache.lookup(*store, "nobody");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(AccountCacheTest, OwnWritesAtOnceOtherWritesAfterFreshness) {
  AccountCache cache;
  auto first = cache.lookup(*store, "acct1");
  ASSERT_TRUE(first.ok());
  // Another process deactivates and rotates the key behind this cache's back.
  Account changed = account;
  changed.status = "deactivated";
  set_key(*pki::PrivateKey::generate(pki::KeySpec::p384()));
  changed.jwk = account.jwk;
  changed.thumbprint = account.thumbprint;
  ASSERT_TRUE(store->update_account(changed).ok());
  EXPECT_EQ((*cache.lookup(*store, "acct1"))->account.status, "valid");  // still fresh
  std::this_thread::sleep_for(AccountCache::kFreshness + std::chrono::milliseconds(50));
  auto reloaded = cache.lookup(*store, "acct1");
  EXPECT_EQ((*reloaded)->account.status, "deactivated");
  EXPECT_EQ((*reloaded)->key->thumbprint(), changed.thumbprint);  // new key parsed

  // This process's own write is visible immediately.
  Account mine = changed;
  mine.contact = {"mailto:x@example.com"};
  cache.remember(mine, (*reloaded)->key);
  EXPECT_EQ((*cache.lookup(*store, "acct1"))->account.contact, mine.contact);
}

}  // namespace
}  // namespace attestlab::server

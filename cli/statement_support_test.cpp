#include "cli/statement_support.h"

#include <gtest/gtest.h>

#include "conformance/registry.h"

namespace attestlab::cli {
namespace {

TEST(SuiteHash, StableAndSensitiveToEachField) {
  const conformance::CaseList& all = conformance::all_cases();
  ASSERT_FALSE(all.empty());
  const std::string base = suite_hash(all);
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(suite_hash(all), base);

  conformance::CaseList changed = all;
  changed[0].level = changed[0].level == conformance::Level::Must ? conformance::Level::Should
                                                                  : conformance::Level::Must;
  EXPECT_NE(suite_hash(changed), base);
  changed = all;
  changed[0].requirement += ".";
  EXPECT_NE(suite_hash(changed), base);
  changed = all;
  changed[0].section += "1";
  EXPECT_NE(suite_hash(changed), base);
  changed = all;
  changed.pop_back();
  EXPECT_NE(suite_hash(changed), base);
  // The title is not part of the requirement: rewording it keeps the hash.
  changed = all;
  changed[0].title += " (reworded)";
  EXPECT_EQ(suite_hash(changed), base);
}

TEST(TlsLeafSha256, PlainHttpHasNone) {
  auto fp = tls_leaf_sha256("http://127.0.0.1:1/directory");
  ASSERT_TRUE(fp);
  EXPECT_EQ(*fp, "");
  EXPECT_FALSE(tls_leaf_sha256("not a url"));
  // Nothing listens on port 1: an error, not a hang or an empty fingerprint.
  EXPECT_FALSE(tls_leaf_sha256("https://127.0.0.1:1/directory", 5));
}

TEST(StatementKey, RefusesMissingAndRsaKeys) {
  EXPECT_FALSE(load_statement_key("/nonexistent/key.pem"));
  auto rsa = pki::PrivateKey::generate(pki::KeySpec::rsa(2048));
  ASSERT_TRUE(rsa);
  const std::string path = ::testing::TempDir() + "/statement-rsa.pem";
  ASSERT_TRUE(pki::write_file(path, rsa->to_pem()));
  auto loaded = load_statement_key(path);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().type, "malformed");
  auto ed = pki::PrivateKey::generate(pki::KeySpec::ed25519());
  ASSERT_TRUE(ed);
  ASSERT_TRUE(pki::write_file(path, ed->to_pem()));
  EXPECT_TRUE(load_statement_key(path));
}

}  // namespace
}  // namespace attestlab::cli

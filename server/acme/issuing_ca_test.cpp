#include "server/acme/issuing_ca.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>
#include "testing/temp_dir.h"

namespace attestlab::server {
namespace {

class IssuingCaTest : public ::testing::Test {
 protected:
  attestlab::testing::TempDir tmp_{"ca"};
  std::string dir = tmp_.file("ca");
  std::int64_t now = 1800000000;
};

TEST_F(IssuingCaTest, CreatesOnceAndReloads) {
  auto ca = IssuingCa::load_or_create(dir, now);
  ASSERT_TRUE(ca.ok()) << ca.error().detail;
  EXPECT_TRUE((*ca)->root().is_ca());
  EXPECT_TRUE((*ca)->intermediate().is_ca());
  EXPECT_TRUE((*ca)->intermediate().signed_by((*ca)->root().public_key()));
  EXPECT_EQ((*ca)->root().public_key().spec(), pki::KeySpec::p256());
  for (const char* key : {"/root.key", "/intermediate.key"}) {
    struct stat st {};
    ASSERT_EQ(stat((dir + key).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600) << key;
  }
  auto chain = pki::Certificate::bundle_from_pem(*pki::read_file(dir + "/chain.pem"));
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[0].to_der(), (*ca)->intermediate().to_der());
  EXPECT_EQ((*chain)[1].to_der(), (*ca)->root().to_der());

  auto again = IssuingCa::load_or_create(dir, now + 100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->root().to_der(), (*ca)->root().to_der());
  EXPECT_EQ((*again)->intermediate().to_der(), (*ca)->intermediate().to_der());
}

TEST_F(IssuingCaTest, IssuesLeafThatVerifies) {
  auto ca = IssuingCa::load_or_create(dir, now);
  ASSERT_TRUE(ca.ok());
  auto key = *pki::PrivateKey::generate(pki::KeySpec::rsa(2048));
  LeafRequest req;
  req.key = key.public_key();
  req.sans.dns = {"a.example"};
  req.sans.permanent_ids = {{"SERIAL", std::nullopt}};
  req.common_name = "a.example";
  req.not_before = now;
  req.not_after = now + 86400;
  req.extended_key_usages = {"1.3.6.1.5.5.7.3.1"};
  auto issued = (*ca)->issue(req);
  ASSERT_TRUE(issued.ok()) << issued.error().detail;
  auto leaf = pki::Certificate::from_der(issued->der);
  ASSERT_TRUE(leaf.ok()) << leaf.error().detail;
  EXPECT_EQ(issued->serial_hex, leaf->serial_hex());
  EXPECT_EQ(issued->spki_der, key.public_key().spki_der());
  EXPECT_EQ(issued->spki_der, leaf->spki_der());
  EXPECT_EQ(issued->not_before, leaf->not_before());
  EXPECT_EQ(issued->not_after, leaf->not_after());
  EXPECT_EQ(issued->to_pem(), leaf->to_pem());
  EXPECT_FALSE(leaf->is_ca());
  EXPECT_EQ(leaf->not_after(), now + 86400);
  EXPECT_EQ(leaf->subject_alt_names().dns, std::vector<std::string>{"a.example"});
  EXPECT_EQ(leaf->subject_alt_names().permanent_ids.size(), 1u);
  EXPECT_EQ(leaf->extended_key_usages(), std::vector<std::string>{"1.3.6.1.5.5.7.3.1"});
  EXPECT_TRUE(pki::verify_chain(*leaf, {(*ca)->intermediate()}, {(*ca)->root()}, now + 10).ok());
}

// A leaf from a CSR, parsed, is safe to share: threads reading it only read OpenSSL's
// extension cache, filled when it was parsed. Under TSan (scripts/sanitizers.sh tsan, in CI)
// this reports a data race when it is not: the threads start together on each of several new
// leaves, to meet in the first fill.
TEST_F(IssuingCaTest, CopiesOfALeafIssuedFromACsrAreSafeToShareAcrossThreads) {
  auto ca = IssuingCa::load_or_create(dir, now);
  ASSERT_TRUE(ca.ok()) << ca.error().detail;
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  pki::CsrSpec csr_spec;
  csr_spec.sans.dns = {"a.example"};
  auto csr = pki::build_csr(csr_spec, *key);
  ASSERT_TRUE(csr.ok()) << csr.error().detail;
  LeafRequest req;
  req.csr = &*csr;
  req.sans.dns = {"a.example"};
  req.not_before = now;
  req.not_after = now + 86400;
  req.extended_key_usages = {"1.3.6.1.5.5.7.3.2"};

  constexpr int kLeaves = 12, kThreads = 4;
  int good = 0;
  for (int leaf = 0; leaf < kLeaves; ++leaf) {
    auto issued = (*ca)->issue(req);
    ASSERT_TRUE(issued.ok()) << issued.error().detail;
    auto parsed = pki::Certificate::from_der(issued->der);
    ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
    const pki::Certificate shared = *parsed;  // NOLINT(performance-unnecessary-copy-initialization)
    std::atomic<int> waiting{kThreads}, agreed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        waiting.fetch_sub(1);
        while (waiting.load() > 0) std::this_thread::yield();
        if (X509_check_issued((*ca)->intermediate().get(), shared.get()) == X509_V_OK &&
            !shared.is_ca() &&
            shared.extended_key_usages() == std::vector<std::string>{"1.3.6.1.5.5.7.3.2"} &&
            shared.subject_alt_names().dns == std::vector<std::string>{"a.example"})
          agreed.fetch_add(1);
      });
    }
    for (auto& thread : threads) thread.join();
    good += agreed.load();
  }
  EXPECT_EQ(good, kLeaves * kThreads);
}

TEST_F(IssuingCaTest, IncompleteCaIsAnError) {
  ASSERT_TRUE(IssuingCa::load_or_create(dir, now).ok());
  std::filesystem::remove(dir + "/intermediate.key");
  auto broken = IssuingCa::load_or_create(dir, now);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().detail.find("incomplete"), std::string::npos);
}

}  // namespace
}  // namespace attestlab::server

#include "bench/load/crypto_floor.h"

#include <gtest/gtest.h>

#include "bench/load/load_run.h"
#include "bench/load/load_text.h"

namespace attestlab::load {
namespace {

CryptoTimings sample_timings() {
  CryptoTimings t;
  t.es256_verify_us = 100;
  t.csr_p256_verify_us = 120;
  t.issue_sign_us = 40;
  t.p384_leaf_verify_us = 500;
  t.csr_p384_verify_us = 520;
  t.iterations = 10;
  return t;
}

TEST(CryptoFloor, CountsFollowTheFlow) {
  auto plain = crypto_counts_for("plain", false);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->es256_verifies, 6);
  EXPECT_EQ(plain->csr_p256_verifies, 1);
  EXPECT_EQ(plain->issue_signs, 1);
  EXPECT_EQ(plain->p384_leaf_verifies, 0);
  EXPECT_EQ(plain->csr_p384_verifies, 0);
  EXPECT_EQ(crypto_counts_for("plain", true)->es256_verifies, 5);  // no newAccount
  EXPECT_EQ(crypto_counts_for("renewal", true)->es256_verifies, 4);
  auto device = crypto_counts_for("device", false);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->es256_verifies, 6);
  EXPECT_EQ(device->p384_leaf_verifies, 1);
  EXPECT_EQ(device->csr_p384_verifies, 1);
  EXPECT_EQ(device->csr_p256_verifies, 0);
  EXPECT_EQ(device->issue_signs, 1);
  EXPECT_EQ(crypto_counts_for("mix", false), device);
  EXPECT_FALSE(crypto_counts_for("storm", false));
}

TEST(CryptoFloor, PerEnrollmentIsTheSumOfCountTimesTime) {
  CryptoFloor plain{sample_timings(), *crypto_counts_for("plain", false)};
  // 6 x 100 + 1 x 120 + 1 x 40 = 760 us
  EXPECT_DOUBLE_EQ(plain.per_enrollment_ms(), 0.760);
  CryptoFloor device{sample_timings(), *crypto_counts_for("device", false)};
  // 6 x 100 + 500 + 520 + 40 = 1660 us
  EXPECT_DOUBLE_EQ(device.per_enrollment_ms(), 1.660);
  CryptoFloor none{sample_timings(), CryptoCounts{}};
  EXPECT_DOUBLE_EQ(none.per_enrollment_ms(), 0.0);
}

TEST(CryptoFloor, JsonRoundTripsAndRefusesBadInput) {
  CryptoFloor f{sample_timings(), *crypto_counts_for("device", false)};
  Json j = f.to_json();
  EXPECT_DOUBLE_EQ(j["per_enrollment_ms"].get<double>(), 1.660);
  EXPECT_EQ(j["counts"]["p384_leaf_verify"], 1);
  auto back = CryptoFloor::from_json(j);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(*back, f);

  Json negative = j;
  negative["timings_us"]["es256_verify"] = -1;
  EXPECT_EQ(CryptoFloor::from_json(negative).error().type, "malformed");
  Json missing = j;
  missing["counts"].erase("issue_sign");
  EXPECT_EQ(CryptoFloor::from_json(missing).error().type, "malformed");
  EXPECT_FALSE(CryptoFloor::from_json(Json::array()));
}

TEST(CryptoFloor, TravelsInTheLoadResultAndTheSummary) {
  LoadRun run;
  run.target_name = "t";
  run.flow = "plain";
  run.challenge = "http-01";
  run.shards = {0};
  run.stats.completed = 10;
  run.server_cpu_ms = 38.0;  // 3.8 ms per enrollment = 5x the 0.76 ms floor
  run.floor = CryptoFloor{sample_timings(), *crypto_counts_for("plain", false)};
  Json j = run.to_json();
  EXPECT_DOUBLE_EQ(j["summary"]["floor_cpu_ms_per_enrollment"].get<double>(), 0.760);
  auto back = LoadRun::from_json(j);
  ASSERT_TRUE(back) << back.error().detail;
  ASSERT_TRUE(back->floor);
  EXPECT_EQ(*back->floor, *run.floor);
  const std::string text = format_summary(run);
  EXPECT_NE(text.find("crypto floor per enrollment: 0.760 ms (server CPU 5.0x the floor)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("6 x ES256 verify 100.0 us"), std::string::npos) << text;

  run.floor.reset();
  auto without = LoadRun::from_json(run.to_json());
  ASSERT_TRUE(without);
  EXPECT_FALSE(without->floor);
  EXPECT_TRUE(run.to_json()["summary"]["floor_cpu_ms_per_enrollment"].is_null());
}

TEST(CryptoFloor, MeasuresEveryOperation) {
  auto t = measure_crypto_timings(5);
  ASSERT_TRUE(t) << t.error().detail;
  EXPECT_EQ(t->iterations, 5);
  EXPECT_GT(t->es256_verify_us, 0);
  EXPECT_GT(t->csr_p256_verify_us, 0);
  EXPECT_GT(t->issue_sign_us, 0);
  EXPECT_GT(t->p384_leaf_verify_us, 0);
  EXPECT_GT(t->csr_p384_verify_us, 0);
}

}  // namespace
}  // namespace attestlab::load

#include "server/acme/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace attestlab::server {
namespace {

TEST(Metrics, RequestCountersAndHistogram) {
  Metrics m;
  m.observe_request(Route::NewOrder, 201, 0.0004);
  m.observe_request(Route::NewOrder, 201, 0.003);
  m.observe_request(Route::NewOrder, 400, 7.0);
  m.observe_request(Route::Finalize, 599, 0.01);  // unlisted status
  EXPECT_EQ(m.requests(Route::NewOrder, 201), 2u);
  EXPECT_EQ(m.requests(Route::NewOrder, 400), 1u);
  std::string text = m.render();
  EXPECT_NE(text.find("attestlab_http_requests_total{route=\"new-order\",status=\"201\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("attestlab_http_requests_total{route=\"finalize\",status=\"other\"} 1"),
            std::string::npos);
  EXPECT_NE(
      text.find(
          "attestlab_http_request_duration_seconds_bucket{route=\"new-order\",le=\"0.0005\"} 1"),
      std::string::npos);
  EXPECT_NE(
      text.find(
          "attestlab_http_request_duration_seconds_bucket{route=\"new-order\",le=\"0.005\"} 2"),
      std::string::npos);
  EXPECT_NE(
      text.find("attestlab_http_request_duration_seconds_bucket{route=\"new-order\",le=\"2.5\"} 2"),
      std::string::npos);
  EXPECT_NE(
      text.find(
          "attestlab_http_request_duration_seconds_bucket{route=\"new-order\",le=\"+Inf\"} 3"),
      std::string::npos);
  EXPECT_NE(text.find("attestlab_http_request_duration_seconds_count{route=\"new-order\"} 3"),
            std::string::npos);
  EXPECT_EQ(text.find("route=\"directory\""), std::string::npos);  // unused routes stay out
}

TEST(Metrics, ValidationsAndIssuance) {
  Metrics m;
  m.validation(ChallengeKind::Dns01, true);
  m.validation(ChallengeKind::Dns01, false);
  m.validation(ChallengeKind::Dns01, false);
  m.certificate_issued();
  std::string text = m.render();
  EXPECT_NE(text.find("attestlab_validations_total{type=\"dns-01\",outcome=\"invalid\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("attestlab_validations_total{type=\"http-01\",outcome=\"valid\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("attestlab_certificates_issued_total 1"), std::string::npos);
}

// The heap trimmer's counters appear once it is hooked up, read at each render.
TEST(Metrics, HeapTrimCountersFromTheTrimmer) {
  Metrics m;
  EXPECT_EQ(m.render().find("attestlab_heap_trims_total"), std::string::npos);
  Metrics::HeapTrims trims{3, 1'500'000'000};
  m.set_heap_trims([&] { return trims; });
  std::string text = m.render();
  EXPECT_NE(text.find("\nattestlab_heap_trims_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nattestlab_heap_trim_seconds_total 1.5\n"), std::string::npos) << text;
  trims = {4, 2'000'000'000};
  text = m.render();
  EXPECT_NE(text.find("\nattestlab_heap_trims_total 4\n"), std::string::npos);
  EXPECT_NE(text.find("\nattestlab_heap_trim_seconds_total 2\n"), std::string::npos) << text;
}

TEST(Metrics, AttestationDecisionsRegisteredAndNot) {
  Metrics m;
  m.register_attestation_rules({"ok", "chain", "inventory"});
  m.attestation_decision("accept", "ok");
  m.attestation_decision("reject", "chain");
  m.attestation_decision("reject", "chain");
  m.attestation_decision("reject", "brand \"new\" rule");
  EXPECT_EQ(m.attestation_decisions("reject", "chain"), 2u);
  EXPECT_EQ(m.attestation_decisions("accept", "ok"), 1u);
  EXPECT_EQ(m.attestation_decisions("reject", "brand \"new\" rule"), 1u);
  std::string text = m.render();
  EXPECT_NE(
      text.find("attestlab_attestation_decisions_total{outcome=\"reject\",reason=\"chain\"} 2"),
      std::string::npos);
  EXPECT_NE(
      text.find("attestlab_attestation_decisions_total{outcome=\"reject\",reason=\"inventory\"} 0"),
      std::string::npos);
  EXPECT_NE(text.find("reason=\"brand \\\"new\\\" rule\"} 1"), std::string::npos);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) m.observe_request(Route::Order, 200, 0.001);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.requests(Route::Order, 200), 40000u);
}

}  // namespace
}  // namespace attestlab::server

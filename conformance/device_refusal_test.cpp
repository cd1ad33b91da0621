#include "conformance/device_refusal.h"

#include <gtest/gtest.h>

#include "client/acme_types.h"

namespace attestlab::conformance {
namespace {

using reports::Outcome;

sim::EnrollmentResult stopped_at(const char* step, const std::string& type, int status,
                                 bool with_problem) {
  sim::EnrollmentResult r;
  r.failed_step = step;
  r.error = Error::make(type, "detail", status);
  if (with_problem) {
    r.problem = Json{{"type", std::string(client::kAcmeErrorPrefix) + type}, {"detail", "no"}};
  }
  return r;
}

TEST(DeviceRefusal, OnlyAStatedRefusalAtTheChallengeOrFinalizePasses) {
  namespace step = sim::enroll_step;
  EXPECT_EQ(judge_device_refusal(stopped_at(step::kChallenge, "badAttestationStatement", 400, true))
                .outcome,
            Outcome::Pass);
  EXPECT_EQ(judge_device_refusal(stopped_at(step::kFinalize, "badCSR", 400, true)).outcome,
            Outcome::Pass);

  // The server never got to see the fault.
  EXPECT_EQ(
      judge_device_refusal(stopped_at(step::kAuthz, client::kErrorUnexpectedResponse, 0, false))
          .outcome,
      Outcome::Error);
  EXPECT_EQ(judge_device_refusal(stopped_at(step::kOrder, "rejectedIdentifier", 400, true)).outcome,
            Outcome::Error);
  EXPECT_EQ(judge_device_refusal(stopped_at(step::kAccount, "malformed", 400, true)).outcome,
            Outcome::Error);
  // A stalled or unreachable server refused nothing.
  EXPECT_EQ(
      judge_device_refusal(stopped_at(step::kChallenge, client::kErrorTimeout, 0, false)).outcome,
      Outcome::Error);
  EXPECT_EQ(judge_device_refusal(stopped_at(step::kFinalize, "connection", 0, false)).outcome,
            Outcome::Error);
  // An HTTP 500 without a problem document is no stated refusal.
  EXPECT_EQ(judge_device_refusal(
                stopped_at(step::kChallenge, client::kErrorUnexpectedResponse, 500, false))
                .outcome,
            Outcome::Error);
}

TEST(DeviceRefusal, AnIssuedCertificateFailsEvenWhenItsDownloadFailed) {
  sim::EnrollmentResult r =
      stopped_at(sim::enroll_step::kDownload, client::kErrorUnexpectedResponse, 500, false);
  r.certificate_url = "https://ca.example/cert/1";
  const Verdict v = judge_device_refusal(r);
  EXPECT_EQ(v.outcome, Outcome::Fail);
  EXPECT_NE(v.observed.find("https://ca.example/cert/1"), std::string::npos) << v.observed;

  EXPECT_EQ(judge_device_refusal(sim::EnrollmentResult{}).outcome, Outcome::Fail);  // enrolled
}

}  // namespace
}  // namespace attestlab::conformance

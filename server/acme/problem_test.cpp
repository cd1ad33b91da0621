#include "server/acme/problem.h"

#include <gtest/gtest.h>

namespace attestlab::server {
namespace {

TEST(Problem, StatusesFollowRfc8555) {
  EXPECT_EQ(problem_status(Error::make("malformed", "")), 400);
  EXPECT_EQ(problem_status(Error::make("badNonce", "")), 400);
  EXPECT_EQ(problem_status(Error::make("accountDoesNotExist", "")), 400);
  EXPECT_EQ(problem_status(Error::make("unauthorized", "")), 403);
  EXPECT_EQ(problem_status(Error::make("orderNotReady", "")), 403);
  EXPECT_EQ(problem_status(Error::make("rateLimited", "")), 429);
  EXPECT_EQ(problem_status(Error::make("serverInternal", "")), 500);
  EXPECT_EQ(problem_status(Error::make("unauthorized", "", 401)), 401);
}

TEST(Problem, DocumentShape) {
  Json doc = problem_json(Error::make("badCSR", "bad names"));
  EXPECT_EQ(doc["type"], "urn:ietf:params:acme:error:badCSR");
  EXPECT_EQ(doc["detail"], "bad names");
  EXPECT_EQ(doc["status"], 400);
  EXPECT_FALSE(doc.contains("subproblems"));

  Json algs = problem_json(Error::make("badSignatureAlgorithm", "no"));
  ASSERT_TRUE(algs["algorithms"].is_array());
  EXPECT_EQ(algs["algorithms"][0], "ES256");

  Json conflict = problem_json(Error::make("conflict", "key in use", 409));
  EXPECT_EQ(conflict["type"], "urn:ietf:params:acme:error:malformed");
  EXPECT_EQ(conflict["status"], 409);

  Json subs = problem_json(Error::make("rejectedIdentifier", "two"),
                           {{{"dns", "a.example"}, Error::make("rejectedIdentifier", "a")},
                            {{"ip", "::1"}, Error::make("malformed", "b")}});
  ASSERT_EQ(subs["subproblems"].size(), 2u);
  EXPECT_EQ(subs["subproblems"][1]["identifier"]["value"], "::1");
  EXPECT_EQ(subs["subproblems"][1]["type"], "urn:ietf:params:acme:error:malformed");

  auto response = problem_response(Error::make("orderNotReady", "not yet"));
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.header("Content-Type"), "application/problem+json");
}

}  // namespace
}  // namespace attestlab::server

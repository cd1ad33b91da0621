#include "client/http01_responder.h"

#include <gtest/gtest.h>

#include "core/http.h"

namespace attestlab::client {
namespace {

TEST(Http01Responder, ServesProvidedTokensOnly) {
  auto responder = Http01Responder::start("127.0.0.1:0");
  ASSERT_TRUE(responder.ok()) << responder.error().detail;
  const std::uint16_t port = (*responder)->port();
  ASSERT_NE(port, 0);
  http::Client client;
  const std::string base =
      "http://127.0.0.1:" + std::to_string(port) + "/.well-known/acme-challenge/";
  (*responder)->provide("tok", "tok.thumb");
  auto hit = client.get(base + "tok");
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit->status, 200);
  EXPECT_EQ(hit->body, "tok.thumb");
  EXPECT_EQ((*responder)->hits("tok"), 1);
  auto miss = client.get(base + "other");
  ASSERT_TRUE(miss.ok());
  EXPECT_EQ(miss->status, 404);
  (*responder)->withdraw("tok");
  auto gone = client.get(base + "tok");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404);
  // A second responder cannot take the same port.
  EXPECT_FALSE(Http01Responder::start("127.0.0.1:" + std::to_string(port)).ok());
}

TEST(Http01Responder, RefusesAListenAddressThatIsNotHostPort) {
  auto r = Http01Responder::start("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "malformed");
}

}  // namespace
}  // namespace attestlab::client

#include "reports/wire_text.h"

#include <gtest/gtest.h>

namespace attestlab::reports {
namespace {

TEST(WireText, ShowsAnExchangeAsHttp) {
  Json log = Json::array(
      {Json{{"seq", 3},
            {"method", "POST"},
            {"url", "https://acme.example/acme/new-order"},
            {"duration_ms", 12.25},
            {"label", "device-1"},
            {"request",
             {{"headers", Json::array({Json::array({"Content-Type", "application/jose+json"})})},
              {"body", "{\"protected\":\"eyJ...\"}"},
              {"jws",
               {{"protected", {{"alg", "ES256"}, {"url", "https://acme.example/acme/new-order"}}},
                {"payload", {{"identifiers", Json::array()}}}}}}},
            {"response",
             {{"status", 400},
              {"headers", Json::array({Json::array({"Content-Type", "application/problem+json"})})},
              {"body", "{\"type\":\"urn:ietf:params:acme:error:malformed\"}"},
              {"json", {{"type", "urn:ietf:params:acme:error:malformed"}}}}}}});
  const std::string text = wire_log_as_http(log);
  EXPECT_NE(text.find("#3 POST https://acme.example/acme/new-order  (12.2 ms, device-1)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("> Content-Type: application/jose+json\n"), std::string::npos);
  EXPECT_NE(text.find("> JWS protected header:\n{\n  \"alg\": \"ES256\""), std::string::npos);
  EXPECT_NE(text.find("< HTTP 400\n< Content-Type: application/problem+json\n"), std::string::npos);
  EXPECT_NE(text.find("\"type\": \"urn:ietf:params:acme:error:malformed\""), std::string::npos)
      << "the body is pretty-printed";
  EXPECT_EQ(text.find("eyJ..."), std::string::npos) << "the raw JWS is replaced by its decoding";
}

TEST(WireText, PostAsGetTransportErrorsAndOddInput) {
  Json log =
      Json::array({Json{{"seq", 1},
                        {"method", "POST"},
                        {"url", "https://a/authz/1"},
                        {"request", {{"jws", {{"protected", Json::object()}, {"payload", ""}}}}},
                        {"error", "connection: refused"}},
                   "not an exchange", Json{{"seq", "x"}, {"response", 5}}});
  const std::string text = wire_log_as_http(log);
  EXPECT_NE(text.find("JWS payload: (empty: POST-as-GET)"), std::string::npos) << text;
  EXPECT_NE(text.find("! connection: refused"), std::string::npos);
  EXPECT_EQ(wire_log_as_http(Json::object({{"a", 1}})), "{\n  \"a\": 1\n}");
  // Unknown members are shown, not dropped.
  const std::string odd = wire_log_as_http(Json::array(
      {Json{{"method", "POST"}, {"status", 400}, {"response_body", "{\"type\":\"x:badNonce\"}"}}}));
  EXPECT_NE(odd.find("status: 400"), std::string::npos) << odd;
  EXPECT_NE(odd.find("response_body: {\n  \"type\": \"x:badNonce\""), std::string::npos) << odd;
}

}  // namespace
}  // namespace attestlab::reports

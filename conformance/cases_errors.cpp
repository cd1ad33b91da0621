// RFC 8555 §6.7 (errors) with RFC 7807 (problem details): the shape of error responses,
// looked at across several different errors.
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

// Four different error responses: malformed newOrder, unknown nonce, orderNotReady,
// onlyReturnExisting for an unknown key.
std::vector<http::Response> sample_errors(CaseContext& ctx) {
  auto c = ctx.shared_client();
  auto dir = need(c->directory(), "fetch the directory");
  std::vector<http::Response> out;
  const auto keep = [&](Result<http::Response> r, const std::string& what) {
    need_that(r && r->status >= 400, what + " is refused (" + describe(r) + ")");
    out.push_back(*r);
  };
  keep(post_raw_retrying(*c, dir.new_order, Json::object(), Json{{"identifiers", "x"}}.dump()),
       "a malformed newOrder");
  client::RawPostOptions bogus;
  bogus.nonce = base64url_encode(random_bytes(16));
  keep(c->post_raw(c->account_url(), Json::object(), "", bogus), "an unknown nonce");
  client::Order order = create_order(ctx, *c);
  keep(post_retrying(*c, order.finalize, Json{{"csr", base64url_encode(random_bytes(32))}}),
       "finalizing a pending order");
  client::RawPostOptions stranger;
  stranger.signer = fresh_signer();
  keep(post_raw_retrying(*c, dir.new_account, Json::object(),
                         Json{{"onlyReturnExisting", true}}.dump(), stranger),
       "onlyReturnExisting for an unknown key");
  return out;
}

}  // namespace

void add_error_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-6.7-problem-media-type", "Errors are application/problem+json", "6.7",
       Level::Should,
       "Error responses are problem documents (application/problem+json): \"When the "
       "server responds with an error status, it SHOULD provide additional information"
       " using a problem document\""},
      [](CaseContext& ctx) {
        for (const auto& r : sample_errors(ctx)) {
          if (media_type(r) != kProblemJson) {
            return Verdict::fail("Content-Type application/problem+json", describe(r));
          }
        }
        return Verdict::pass();
      }));

  out.push_back(rfc_case({"rfc8555-6.7-problem-acme-type",
                          "ACME errors use the ACME error namespace", "6.7", Level::May,
                          "The problem documents of ACME errors have a \"type\" under "
                          "urn:ietf:params:acme:error:; no BCP 14 keyword binds the server to "
                          "it: RFC 8555 §6.7: \"This list is not exhaustive. The server MAY "
                          "return errors whose \"type\" field is set to a URI other than those "
                          "defined above.\" (the sampled errors whose type is a MUST are judged "
                          "by their own cases: rfc8555-6.5-nonce-unknown, "
                          "rfc8555-7.3.1-only-return-existing-missing)"},
                         [](CaseContext& ctx) {
                           for (const auto& r : sample_errors(ctx)) {
                             auto body = json_body(r);
                             const std::string* type = body ? get_string(*body, "type") : nullptr;
                             if (type == nullptr || type->rfind(client::kAcmeErrorPrefix, 0) != 0) {
                               return Verdict::fail(
                                   std::string("\"type\": \"") + client::kAcmeErrorPrefix + "...\"",
                                   describe(r));
                             }
                           }
                           return Verdict::pass();
                         }));

  out.push_back(rfc_case(
      {"rfc8555-6.7-problem-status-member", "A problem's status member equals the HTTP status",
       "6.7", Level::Must,
       "When a problem document has \"status\", it is the HTTP status code of the response: "
       "RFC 8555 §6.7: \"When the server responds with an error status, it SHOULD provide "
       "additional information using a problem document [RFC7807].\" and RFC 7807 §3.1: "
       "\"Generators MUST use the same status code in the actual HTTP response, to assure that "
       "generic HTTP software that does not understand this format still behaves correctly.\""},
      [](CaseContext& ctx) {
        for (const auto& r : sample_errors(ctx)) {
          auto body = json_body(r);
          if (body && body->contains("status") &&
              (!(*body)["status"].is_number_integer() ||
               (*body)["status"].get<std::int64_t>() != r.status)) {
            return Verdict::fail("\"status\": " + std::to_string(r.status),
                                 "\"status\": " + (*body)["status"].dump());
          }
        }
        return Verdict::pass();
      }));

  out.push_back(
      rfc_case({"rfc8555-6.7-problem-detail", "Problems explain themselves", "6.7", Level::May,
       "Problem documents may carry a human-readable \"detail\"; no BCP 14 keyword "
       "binds the server (RFC 8555 has only \"Clients SHOULD display the \"detail\" "
       "field of all errors.\")."},
               [](CaseContext& ctx) {
                 for (const auto& r : sample_errors(ctx)) {
                   auto body = json_body(r);
                   const std::string* detail = body ? get_string(*body, "detail") : nullptr;
                   if (detail == nullptr || detail->empty())
                     return Verdict::fail("a non-empty \"detail\"", describe(r));
                 }
                 return Verdict::pass();
               }));

  out.push_back(rfc_case(
      {"rfc8555-6.7-malformed-payload", "A payload that is not JSON is refused", "6.7",
       Level::Must,
       "A correctly signed newOrder whose payload is not JSON is refused (any 4xx; the status and "
       "type are the split case rfc8555-6.7-malformed-payload-type): RFC 8555 §7.4: \"The server "
       "MUST return an error if it cannot fulfill the request as specified, and it MUST NOT issue "
       "a certificate with contents other than those requested.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        auto dir = need(c->directory(), "fetch the directory");
        return expect_refused(
            post_raw_retrying(*c, dir.new_order, Json::object(), "{\"identifiers\": ["));
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.7-malformed-payload-type", "A payload that is not JSON is malformed", "6.7",
       Level::May,
       "The refusal of a newOrder whose payload is not JSON is HTTP 400 \"malformed\"; no BCP 14 "
       "keyword binds the server to this type: RFC 8555 §6.7's table defines \"malformed\" as "
       "\"The request message was malformed\", and \"This list is not exhaustive.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        auto dir = need(c->directory(), "fetch the directory");
        return expect_problem(
            post_raw_retrying(*c, dir.new_order, Json::object(), "{\"identifiers\": ["), 400,
            {"malformed"});
      }));
}

}  // namespace attestlab::conformance

// ACME Renewal Information, RFC 9773: the directory's renewalInfo (§3), the RenewalInfo
// resource and object (§4.1, §4.2, §4.3) and newOrder "replaces" (§5). Every case is
// skipped, with the reason, on a target whose directory does not advertise renewalInfo.
#include <utility>

#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/ari_cert_id.h"
#include "core/clock.h"

namespace attestlab::conformance {
namespace {

const std::vector<std::string> kCaps = {"validation"};

Case ari_case(CaseHead head, std::function<Verdict(CaseContext&)> run) {
  return make_case(kSpecRfc9773, kProfileRfc9773, std::move(head), std::move(run));
}

// The directory's renewalInfo URL; ends the case with a skip when there is none.
std::string renewal_info_url(client::AcmeClient& c) {
  auto dir = need(c.directory(), "fetch the directory");
  if (dir.renewal_info.empty()) {
    abort_case(Verdict::skip("the directory does not advertise renewalInfo (RFC 9773 §3)"));
  }
  return dir.renewal_info;
}

std::string cert_id_of(const pki::Certificate& leaf) {
  return need(ari::cert_id(leaf), "the certificate's ARI identifier (AKI keyIdentifier)");
}

// A certificate of c's account and its RenewalInfo response.
struct AskedRenewal {
  Issued issued;
  std::string cert_id;
  Result<http::Response> response;
};
AskedRenewal ask_renewal(CaseContext& ctx, client::AcmeClient& c) {
  std::string base = renewal_info_url(c);
  Issued issued = issue_certificate(ctx, c);
  std::string id = cert_id_of(issued.leaf);
  auto response = c.get(base + "/" + id);
  return {std::move(issued), id, std::move(response)};
}

Result<http::Response> order_replacing(CaseContext& ctx, client::AcmeClient& c,
                                       const std::vector<client::Identifier>& ids,
                                       const std::string& cert_id) {
  auto dir = need(c.directory(), "fetch the directory");
  Json identifiers = Json::array();
  for (const auto& id : ids) identifiers.push_back(id.to_json());
  (void)ctx;
  return post_retrying(c, dir.new_order, Json{{"identifiers", identifiers}, {"replaces", cert_id}});
}

// A certificate of the shared account, ready to be replaced (the case skips without ARI).
struct Predecessor {
  std::unique_ptr<client::AcmeClient> client;
  Issued issued;
  std::string cert_id;
};
Predecessor predecessor(CaseContext& ctx) {
  auto c = ctx.shared_client();
  renewal_info_url(*c);
  Issued issued = issue_certificate(ctx, *c);
  std::string id = cert_id_of(issued.leaf);
  return {std::move(c), std::move(issued), id};
}

}  // namespace

void add_ari_cases(CaseList& out) {
  out.push_back(ari_case(
      {"rfc9773-3-renewal-info-url", "renewalInfo in the directory is a URL", "3", Level::Must,
       "RFC 9773 §3: \"An ACME server that wishes to provide renewal information MUST include a "
       "new field, \"renewalInfo\", in its directory object.\" Its value is the renewal "
       "information URL: a string with an http(s) URL, as the case for the other directory "
       "resources (rfc8555-7.1.1-directory-resources) checks them; \"renewalInfo\": 42 fails."},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto dir = need(c->directory(), "fetch the directory");
        if (!dir.raw.contains("renewalInfo")) {
          return Verdict::skip("the directory does not advertise renewalInfo (RFC 9773 §3)");
        }
        const Json& value = dir.raw["renewalInfo"];
        const bool url = value.is_string() && (value.get<std::string>().rfind("https://", 0) == 0 ||
                                               value.get<std::string>().rfind("http://", 0) == 0);
        return check(url, "an http(s) URL", value.dump());
      }));

  out.push_back(ari_case(
      {"rfc9773-4.2-suggested-window", "renewalInfo answers a suggested window", "4.2", Level::May,
       "An unauthenticated GET of renewalInfo/<CertID> for an issued certificate answers 200 "
       "with a RenewalInfo object whose suggestedWindow has RFC 3339 \"start\" and \"end\". "
       "RFC 9773 §4.2 defines the field as \"suggestedWindow (object, required): A JSON object "
       "with two keys, \"start\" and \"end\", whose values are timestamps, encoded in the "
       "format specified in [RFC3339]\": \"required\" there is lower case, and §2 reads the "
       "keywords \"when, and only when, they appear in all capitals\", so no BCP 14 keyword "
       "binds the server.",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        AskedRenewal asked = ask_renewal(ctx, *c);
        if (!asked.response || asked.response->status != 200)
          return Verdict::fail("HTTP 200", describe(asked.response));
        auto body = json_body(*asked.response);
        const Json window = body ? body->value("suggestedWindow", Json()) : Json();
        bool ok = window.is_object() && window.value("start", Json()).is_string() &&
                  window.value("end", Json()).is_string() &&
                  looks_like_rfc3339(window["start"].get<std::string>()) &&
                  looks_like_rfc3339(window["end"].get<std::string>());
        return check(ok, "suggestedWindow {start, end} in RFC 3339", describe(*asked.response));
      }));

  out.push_back(ari_case(
      {"rfc9773-4.2-window-not-empty", "The suggested window ends after it starts", "4.2",
       Level::Must,
       "RFC 9773 §4.2: \"A RenewalInfo object in which the end timestamp equals or precedes the "
       "start timestamp is invalid. Servers MUST NOT serve such a response\"",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        AskedRenewal asked = ask_renewal(ctx, *c);
        need_that(asked.response && asked.response->status == 200, "renewalInfo answers 200");
        auto body = json_body(*asked.response);
        const Json window = body ? body->value("suggestedWindow", Json()) : Json();
        // Compared to the nanosecond: 00.1Z to 00.9Z is a window, not an empty one.
        std::int64_t start = 0, end = 0, start_ns = 0, end_ns = 0;
        bool parsed = window.is_object() &&
                      parse_rfc3339(window.value("start", ""), start, &start_ns) &&
                      parse_rfc3339(window.value("end", ""), end, &end_ns);
        need_that(parsed, "suggestedWindow has RFC 3339 start and end");
        return check(std::pair(end, end_ns) > std::pair(start, start_ns), "end later than start",
                     window.dump());
      }));

  out.push_back(ari_case(
      {"rfc9773-4.3-retry-after", "renewalInfo answers carry Retry-After", "4.3", Level::May,
       "A renewalInfo answer carries Retry-After; no BCP 14 keyword binds the server: RFC 9773 "
       "§4.3: \"This protocol uses the Retry-After header [RFC9110] to indicate to clients how "
       "often to retry.\", and §4.3.3 counts \"Retry-After is invalid or not present\" among "
       "the client's long-term errors.",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        AskedRenewal asked = ask_renewal(ctx, *c);
        need_that(asked.response && asked.response->status == 200, "renewalInfo answers 200");
        auto value = asked.response->header("retry-after");
        return check(value && client::parse_retry_after(*value, ctx.now()).has_value(),
                     "a Retry-After header (seconds or HTTP-date)", value.value_or("none"));
      }));

  out.push_back(ari_case(
      {"rfc9773-5-replaces-reflected", "An accepted replaces is reflected in the order", "5",
       Level::Must,
       "RFC 9773 §5: \"If the server accepts a newOrder request with a \"replaces\" field, it "
       "MUST reflect that field in the response and in subsequent requests for the "
       "corresponding Order object.\"",
       kCaps},
      [](CaseContext& ctx) {
        Predecessor p = predecessor(ctx);
        auto r = order_replacing(ctx, *p.client, p.issued.order.identifiers, p.cert_id);
        need_that(r.ok(), "the replacing newOrder is answered: " + describe(r));
        // The MUST is conditional on acceptance (any 2xx; 201 has no keyword of its own): a
        // refusal, which §5's SHOULD checks allow, leaves nothing to judge.
        if (r->status / 100 != 2) {
          return Verdict::skip("the target did not accept the replacing order (" + describe(r) +
                               "); the requirement applies to accepted ones");
        }
        auto body = json_body(*r);
        Json fetched = fetch_json(*p.client, new_order_location(*p.client, *r), "the order");
        return first_failure(
            {check(body && body->value("replaces", "") == p.cert_id,
                   "\"replaces\": \"" + p.cert_id + "\" in the newOrder response", describe(*r)),
             check(fetched.value("replaces", "") == p.cert_id, "\"replaces\" in the fetched order",
                   fetched.dump())});
      }));

  out.push_back(ari_case(
      {"rfc9773-5-already-replaced", "Replacing a certificate twice is alreadyReplaced", "5",
       Level::Must,
       "RFC 9773 §5: \"If the server rejects the request because the identified certificate has "
       "already been marked as replaced, it MUST return an HTTP 409 (Conflict) with a problem "
       "document of type \"alreadyReplaced\"\" (servers SHOULD reject a second replacement "
       "while the first order is not invalid; a target that accepts it skips).",
       kCaps},
      [](CaseContext& ctx) {
        Predecessor p = predecessor(ctx);
        auto first = order_replacing(ctx, *p.client, p.issued.order.identifiers, p.cert_id);
        need_that(first.ok(), "the first replacing newOrder is answered: " + describe(first));
        if (first->status / 100 != 2) {
          return Verdict::skip("the target did not accept a replacing order (" + describe(first) +
                               "): nothing is marked replaced");
        }
        auto second = order_replacing(ctx, *p.client, p.issued.order.identifiers, p.cert_id);
        if (second && second->status / 100 == 2) {
          return Verdict::skip("the target accepted a second replacement (allowed: SHOULD)");
        }
        return expect_problem(second, 409, {"alreadyReplaced"});
      }));

  out.push_back(ari_case(
      {"rfc9773-5-replaces-other-account", "Another account cannot replace the certificate", "5",
       Level::Should,
       "\"Servers SHOULD check that the identified certificate and the newOrder request "
       "correspond to the same ACME Account\"; \"If any of these checks fail, the server SHOULD "
       "reject the new-order request.\"",
       kCaps},
      [](CaseContext& ctx) {
        Predecessor p = predecessor(ctx);
        auto other = ctx.client("other-account");
        ctx.new_account(*other);
        return expect_refused(order_replacing(ctx, *other, p.issued.order.identifiers, p.cert_id));
      }));

  out.push_back(ari_case(
      {"rfc9773-5-replaces-shares-identifier", "A replacement must share an identifier", "5",
       Level::Should,
       "\"Servers SHOULD check ... that they share at least one identifier\"; \"If any of these "
       "checks fail, the server SHOULD reject the new-order request.\"",
       kCaps},
      [](CaseContext& ctx) {
        Predecessor p = predecessor(ctx);
        return expect_refused(
            order_replacing(ctx, *p.client, {dns_id(ctx.new_domain("unrelated"))}, p.cert_id));
      }));
}

}  // namespace attestlab::conformance

// ACME profiles, draft-ietf-acme-profiles (the WG adoption of draft-aaron-acme-profiles):
// meta.profiles in the directory (§3), newOrder "profile", its echo in the order and
// invalidProfile (§4). The registry names -01; the requirements quote -00, the newest text
// read (conformance/LEVELS.md). Every case is skipped, with the reason, on a target whose
// directory does not advertise profiles.
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"

namespace attestlab::conformance {
namespace {

Case profiles_case(CaseHead head, std::function<Verdict(CaseContext&)> run) {
  return make_case(kSpecAcmeProfiles, kProfileAcmeProfiles, std::move(head), std::move(run));
}

// The advertised meta.profiles; ends the case with a skip when there are none.
Json advertised_profiles(client::AcmeClient& c) {
  auto dir = need(c.directory(), "fetch the directory");
  if (!dir.profiles.is_object() || dir.profiles.empty()) {
    abort_case(
        Verdict::skip("the directory does not advertise meta.profiles "
                      "(draft-ietf-acme-profiles §3)"));
  }
  return dir.profiles;
}

Result<http::Response> new_order_with(CaseContext& ctx, client::AcmeClient& c, Json extra) {
  auto dir = need(c.directory(), "fetch the directory");
  Json payload = {{"identifiers", Json::array({dns_id(ctx.new_domain("profile")).to_json()})}};
  payload.update(extra);
  return post_retrying(c, dir.new_order, payload);
}

}  // namespace

void add_profiles_cases(CaseList& out) {
  out.push_back(profiles_case(
      {"profiles-3-directory-map", "meta.profiles maps names to descriptions", "3", Level::May,
       "draft-ietf-acme-profiles-00 §3 defines the field's shape with no BCP 14 keyword: "
       "\"profiles (optional, object): A map of profile names to human-readable descriptions of "
       "those profiles.\" (the section's MUST, \"An ACME Server which wishes to allow Clients to "
       "select profiles MUST include a new field, profiles, in the meta field of its Directory "
       "object.\", is met by any server this case reaches: without the field it skips)."},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto dir = need(c->directory(), "fetch the directory");
        const Json meta = dir.raw.value("meta", Json::object());
        if (!meta.is_object() || !meta.contains("profiles")) {
          return Verdict::skip("the directory does not advertise meta.profiles");
        }
        const Json& profiles = meta["profiles"];
        bool ok = profiles.is_object() && !profiles.empty();
        for (const auto& [name, description] : profiles.items()) {
          ok = ok && !name.empty() && description.is_string();
        }
        return check(ok, "a non-empty object of name → description strings", profiles.dump());
      }));

  out.push_back(profiles_case(
      {"profiles-4-order-echoes-profile", "An accepted order names its profile", "4", Level::May,
       "A newOrder naming an advertised profile is accepted, and the order (as answered and as "
       "fetched) names the profile; no BCP 14 keyword binds the server: "
       "draft-ietf-acme-profiles-00 §4: \"If it accepts the request, the server responds with "
       "an Order object including the selected profile.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Json profiles = advertised_profiles(*c);
        std::string name = profiles.begin().key();
        auto r = new_order_with(ctx, *c, Json{{"profile", name}});
        if (!r || r->status != 201) return Verdict::fail("HTTP 201", describe(r));
        auto body = json_body(*r);
        Json fetched = fetch_json(*c, new_order_location(*c, *r), "the order");
        return first_failure({check(body && body->value("profile", "") == name,
                                    "\"profile\": \"" + name + "\" in the response", describe(*r)),
                              check(fetched.value("profile", "") == name,
                                    "\"profile\" in the fetched order", fetched.dump())});
      }));

  out.push_back(profiles_case(
      {"profiles-4-unknown-profile", "An unadvertised profile is invalidProfile", "4", Level::Must,
       "draft-ietf-acme-profiles-00 §4: \"If the server receives a newOrder request specifying a "
       "profile that it is not advertising, or specifying a profile which is incompatible with "
       "the rest of the contents of the request (e.g. a \"tls-server-auth\" profile alongside "
       "an identifier of type \"email\"), it MUST reject the request with a problem document "
       "of type \"invalidProfile\"\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Json profiles = advertised_profiles(*c);
        std::string name = "attestlab-no-such-profile";
        while (profiles.contains(name)) name += "-x";
        return expect_problem(new_order_with(ctx, *c, Json{{"profile", name}}), 0,
                              {"invalidProfile"});
      }));

  out.push_back(profiles_case(
      {"profiles-4-default-profile", "An order without profile gets one", "4", Level::Should,
       "draft-ietf-acme-profiles-00 §4: \"If the server is advertizing profiles and receives a "
       "newOrder request which does not identify a specific profile, it is RECOMMENDED that "
       "the server select a profile and associate it with the new Order object.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Json profiles = advertised_profiles(*c);
        auto r = new_order_with(ctx, *c, Json::object());
        need_that(r && r->status == 201, "newOrder without profile is accepted");
        auto body = json_body(*r);
        std::string chosen = body ? body->value("profile", "") : "";
        return check(profiles.contains(chosen), "an advertised profile in the order",
                     body ? body->dump() : describe(*r));
      }));

  out.push_back(profiles_case(
      {"profiles-4-issue-each-profile",
       "Every advertised profile issues",
       "4",
       Level::May,
       "An order for each advertised profile, validated and finalized, becomes valid with a "
       "certificate; no BCP 14 keyword obliges a server to issue under every profile it "
       "advertises (§3's descriptions are \"up to the CA\"; §4 has a MUST only for a profile "
       "the CA is no longer willing to issue under: \"it MUST respond with a problem document "
       "of type \"invalidProfile\"\").",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Json profiles = advertised_profiles(*c);
        for (const auto& [name, description] : profiles.items()) {
          client::NewOrderRequest req;
          req.identifiers = {dns_id(ctx.new_domain("profile"))};
          req.profile = name;
          auto order = c->new_order(req);
          if (!order) return Verdict::fail("order for profile " + name, describe(order.error()));
          for (const auto& url : order->authorizations) validate_authz(ctx, *c, url);
          client::Order ready = settle_order(ctx, *c, order->url);
          if (ready.status != "ready") {
            return Verdict::fail("order for profile " + name + " ready", ready.raw.dump());
          }
          auto key = need(pki::PrivateKey::generate(pki::KeySpec::p256()), "a certificate key");
          auto finalized = c->finalize(ready, csr_for(req.identifiers, key).to_der());
          if (!finalized) return Verdict::fail("finalize " + name, describe(finalized.error()));
          client::Order done = settle_order(ctx, *c, ready.url);
          if (done.status != "valid" || !done.certificate) {
            return Verdict::fail("profile " + name + " order valid with a certificate",
                                 done.raw.dump());
          }
        }
        return Verdict::pass();
      }));
}

}  // namespace attestlab::conformance

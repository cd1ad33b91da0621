#include "conformance/device_flows.h"

#include "conformance/checks.h"
#include "conformance/flows.h"
#include "core/bytes.h"
#include "sim/device/attestation.h"

namespace attestlab::conformance {

DeviceOrder device_order_on(CaseContext& ctx, std::unique_ptr<client::AcmeClient> client,
                            const std::string& identifier_value) {
  DeviceOrder d;
  d.client = std::move(client);
  d.order = need(d.client->new_order({client::Identifier{kPermanentIdentifier, identifier_value}}),
                 "create a permanent-identifier order");
  need_that(!d.order.authorizations.empty(), "the order has an authorization");
  d.authz = need(d.client->get_authz(d.order.authorizations.front()), "fetch the authorization");
  const client::Challenge* ch = d.authz.find(kDeviceAttest01);
  need_that(ch != nullptr, "the authorization offers device-attest-01");
  d.challenge = *ch;
  (void)ctx;
  return d;
}

DeviceOrder device_order(CaseContext& ctx, const std::string& identifier_value,
                         const std::string& label) {
  auto c = ctx.client(label);
  ctx.new_account(*c);
  return device_order_on(ctx, std::move(c), identifier_value);
}

sim::DeviceFacts slot_facts(CaseContext& ctx, std::size_t slot) {
  return ctx.device(slot).attested_facts();
}

pki::PrivateKey device_key(pki::KeySpec spec) {
  return need(pki::PrivateKey::generate(spec), "generate the device key");
}

sim::LeafSpec honest_leaf(CaseContext& ctx, const pki::PublicKey& key,
                          const sim::DeviceFacts& facts, const std::string& token) {
  return sim::AppleCa::honest_leaf(key, facts, sim::freshness_code(token), ctx.now());
}

sim::AttestationChain issue(CaseContext& ctx, const sim::LeafSpec& spec) {
  return need(ctx.apple_ca().issue_leaf(spec), "issue the attestation leaf");
}

Json attobj_payload(const std::vector<Bytes>& x5c, const std::string& fmt) {
  sim::AttestationObject object;
  object.fmt = fmt;
  object.x5c = x5c;
  return Json{{"attObj", sim::encode_attestation_object_b64u(object)}};
}

Json attobj_payload(const sim::AttestationChain& chain) {
  return attobj_payload(chain.x5c());
}

AttestOutcome submit(CaseContext& ctx, DeviceOrder& d, const Json& payload) {
  AttestOutcome o;
  o.answer = post_retrying(*d.client, d.challenge.url, payload);
  need_that(o.answer.ok(), "an answer to the challenge response (" + describe(o.answer) + ")");
  if (o.answer->status / 100 == 2) {
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
      o.challenge = need(d.client->get_challenge(d.challenge.url), "fetch the challenge");
      if (o.challenge.status != "pending" && o.challenge.status != "processing") break;
      if (ctx.remaining() <= std::chrono::milliseconds(0)) {
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        abort_case(Verdict::error("timeout: the challenge is still \"" + o.challenge.status +
                                  "\" after " + std::to_string(waited.count()) + " ms"));
      }
      ctx.pause(ctx.target().timing.poll_interval);
    }
  } else {
    o.challenge = need(d.client->get_challenge(d.challenge.url), "fetch the challenge");
  }
  o.authz = need(d.client->get_authz(d.authz.url), "fetch the authorization");
  return o;
}

Verdict expect_accepted(const AttestOutcome& o) {
  if (!o.answer || o.answer->status / 100 != 2) {
    return Verdict::fail("the attestation accepted",
                         "the challenge response was refused: " + describe(o.answer));
  }
  return first_failure({check(o.challenge.status == "valid", "challenge \"valid\"",
                              "challenge \"" + o.challenge.status + "\"" +
                                  (o.challenge.error ? " error " + o.challenge.error->dump() : "")),
                        check(o.authz.status == "valid", "authorization \"valid\"",
                              "authorization \"" + o.authz.status + "\"")});
}

Verdict expect_rejected(const AttestOutcome& o) {
  const bool refused_post = o.answer && o.answer->status >= 400 && o.answer->status < 500;
  const bool invalid = o.challenge.status == "invalid";
  if (!refused_post && !invalid) {
    return Verdict::fail(
        "the attestation rejected (challenge response refused, or challenge \"invalid\")",
        "challenge \"" + o.challenge.status + "\", authorization \"" + o.authz.status + "\"");
  }
  if (o.authz.status == "valid") {
    return Verdict::fail("the authorization not valid", "authorization \"valid\"");
  }
  std::string how = refused_post ? "response refused: " + describe(*o.answer) : "challenge invalid";
  if (invalid && o.challenge.error) how += " " + o.challenge.error->dump();
  return Verdict::pass(how);
}

std::optional<Json> rejection_problem(const AttestOutcome& o) {
  if (o.answer && o.answer->status >= 400) {
    if (auto body = json_body(*o.answer)) return body;
  }
  if (o.challenge.error && o.challenge.error->is_object()) return *o.challenge.error;
  return std::nullopt;
}

pki::CsrSpec device_csr_spec(const std::optional<std::string>& permanent_id,
                             const std::vector<std::string>& dns_names) {
  pki::CsrSpec spec;
  if (permanent_id) {
    spec.subject = {{"CN", *permanent_id}};
    spec.sans.permanent_ids.push_back(pki::PermanentIdentifier{*permanent_id, std::nullopt});
  }  // privacy-preserving: no subject and no identifying SAN at all
  spec.sans.dns = dns_names;
  spec.key_usage_digital_signature = true;
  spec.extended_key_usages = {"1.3.6.1.5.5.7.3.2"};
  return spec;
}

pki::Csr device_csr(const pki::PrivateKey& key, const std::optional<std::string>& permanent_id,
                    const std::vector<std::string>& dns_names) {
  return need(pki::build_csr(device_csr_spec(permanent_id, dns_names), key),
              "build the device CSR");
}

FinalizeOutcome finalize_device(CaseContext& ctx, DeviceOrder& d, const pki::Csr& csr) {
  FinalizeOutcome f;
  client::Order ready = settle_order(ctx, *d.client, d.order.url);
  need_that(ready.status == "ready", "the device order is ready (it is \"" + ready.status + "\")");
  f.answer =
      post_retrying(*d.client, ready.finalize, Json{{"csr", base64url_encode(csr.to_der())}});
  f.order = settle_order(ctx, *d.client, d.order.url);
  return f;
}

Verdict expect_not_issued(const FinalizeOutcome& f) {
  return first_failure(
      {expect_refused(f.answer),
       check(f.order.status != "valid" && !f.order.certificate, "no certificate issued",
             "order \"" + f.order.status + "\"" +
                 (f.order.certificate ? " with certificate " + *f.order.certificate : ""))});
}

Enrolled enroll(CaseContext& ctx, std::size_t slot, const pki::PrivateKey& key,
                std::optional<std::string> identifier) {
  return enroll(
      ctx, slot, key.public_key(),
      [&key](const pki::CsrSpec& spec) {
        return need(pki::build_csr(spec, key), "build the device CSR");
      },
      std::move(identifier));
}

Enrolled enroll(CaseContext& ctx, std::size_t slot, const pki::PublicKey& attested,
                const std::function<pki::Csr(const pki::CsrSpec&)>& sign_csr,
                std::optional<std::string> identifier) {
  const std::string value = identifier.value_or(ctx.identity(slot).serial);
  DeviceOrder d = device_order(ctx, value);
  auto chain = issue(ctx, honest_leaf(ctx, attested, slot_facts(ctx, slot), d.challenge.token));
  AttestOutcome o = submit(ctx, d, attobj_payload(chain));
  const Verdict accepted = expect_accepted(o);
  need_that(accepted.passed(), "the honest attestation is accepted (" + accepted.reason + ")");
  FinalizeOutcome f = finalize_device(ctx, d, sign_csr(device_csr_spec(value)));
  need_that(f.order.status == "valid" && f.order.certificate.has_value(),
            "the device certificate is issued (order \"" + f.order.status + "\", " +
                describe(f.answer) + ")");
  pki::Certificate leaf = issued_leaf(d, f.order);
  return Enrolled{std::move(d), std::move(leaf)};
}

pki::Certificate issued_leaf(DeviceOrder& d, const client::Order& order) {
  need_that(order.certificate.has_value(), "the order names its certificate");
  auto chain = need(d.client->download_certificate(*order.certificate), "download the certificate");
  return need(pki::Certificate::from_der(chain.der.front()), "parse the certificate");
}

}  // namespace attestlab::conformance

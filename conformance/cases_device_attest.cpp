// draft-ietf-acme-device-attest-10: identifier syntax (§3.1, §4.1), CSR contents (§3.2),
// the device-attest-01 challenge and its validation (§5), with the Apple format as the
// attestation statement. The requirements quote -09, the newest text read
// (conformance/LEVELS.md).
#include <algorithm>

#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/device_flows.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"
#include "sim/device/attestation.h"
#include "sim/device/forgery.h"

namespace attestlab::conformance {
namespace {

const std::vector<std::string> kDeviceCaps = {"device-attest-01"};

// Device 0 enrolled with a fresh key for its serial: the key, the certificate's
// permanentIdentifiers and the serial they should name.
struct SerialEnrollment {
  pki::PrivateKey key;
  Enrolled enrolled;
  std::vector<pki::PermanentIdentifier> ids;
  std::string serial;
};

SerialEnrollment enroll_serial(CaseContext& ctx) {
  SerialEnrollment out{device_key(), {}, {}, ctx.identity(0).serial};
  out.enrolled = enroll(ctx, 0, out.key);
  out.ids = out.enrolled.leaf.subject_alt_names().permanent_ids;
  return out;
}

Case da_case(CaseHead head, std::function<Verdict(CaseContext&)> run,
             std::vector<DeviceSlot> devices = {}) {
  return make_case(kSpecDeviceAttest, kProfileDeviceAttest, std::move(head), std::move(run),
                   std::move(devices));
}

const std::vector<DeviceSlot> kOneDevice = {device_slot()};

// newOrder for an identifier value of `type` is refused (any 4xx) with malformed: the draft
// names the error type, not the HTTP status.
Verdict identifier_malformed(CaseContext& ctx, const std::string& type, const std::string& value) {
  auto c = ctx.shared_client();
  auto dir = need(c->directory(), "fetch the directory");
  auto r =
      post_retrying(*c, dir.new_order, Json{{"identifiers", {{{"type", type}, {"value", value}}}}});
  return expect_problem(r, 0, {"malformed"});
}

// The device of slot 0 orders its serial and answers with `payload(order)`.
AttestOutcome answer_with(
    CaseContext& ctx,
    const std::function<Json(CaseContext&, DeviceOrder&, const pki::PrivateKey&)>& payload) {
  DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
  pki::PrivateKey key = device_key();
  return submit(ctx, d, payload(ctx, d, key));
}

// The honest chain of slot 0's device for key and the order's token.
sim::AttestationChain honest_chain(CaseContext& ctx, const DeviceOrder& d,
                                   const pki::PrivateKey& key) {
  return issue(ctx, honest_leaf(ctx, key.public_key(), slot_facts(ctx, 0), d.challenge.token));
}

// An honest attestation object as CBOR, for cases that damage it.
Json honest_attobj_json(CaseContext& ctx, DeviceOrder& d, const pki::PrivateKey& key) {
  return sim::attestation_object_json(sim::apple_attestation_object(honest_chain(ctx, d, key)));
}

// Slot 0's genuine attestation is accepted; the case aborts otherwise (it tests what follows).
void need_genuine_accepted(CaseContext& ctx, DeviceOrder& d, const pki::PrivateKey& key) {
  need_that(expect_accepted(submit(ctx, d, attobj_payload(honest_chain(ctx, d, key)))).passed(),
            "the genuine attestation is accepted");
}

Json cbor_payload(const Json& object) {
  return Json{{"attObj", base64url_encode(to_cbor(object))}};
}

// An attestation through a rogue root: the one every verifier must refuse.
Json rogue_root_payload(CaseContext& ctx, DeviceOrder& d, const pki::PrivateKey& key) {
  auto rogue = need(sim::forge::rogue_ca(ctx.apple_ca(), ctx.now()), "make a rogue CA");
  auto chain = need(
      rogue.issue_leaf(honest_leaf(ctx, key.public_key(), slot_facts(ctx, 0), d.challenge.token)),
      "issue the rogue leaf");
  return attobj_payload(chain);
}

// A rejection through a rogue root.
AttestOutcome rogue_root_answer(CaseContext& ctx) {
  return answer_with(ctx, rogue_root_payload);
}

}  // namespace

void add_device_attest_cases(CaseList& out) {
  const std::vector<std::string> pid = {"permanent-identifier"};
  const std::vector<std::string> hwm = {"hardware-module"};
  struct Malformed {
    std::string id, title, type, value;
  };
  for (const auto& m : std::vector<Malformed>{
           {"device-attest-3.1-permanent-id-assigner-not-oid",
            "permanent-identifier with a non-OID assigner", "permanent-identifier",
            "F2LXQ7K9MN/not-an-oid"},
           {"device-attest-3.1-permanent-id-empty-device-part",
            "permanent-identifier without device part", "permanent-identifier",
            "/1.2.840.113635.100.8.9"},
           {"device-attest-3.1-permanent-id-two-slashes",
            "permanent-identifier with a slash in the device part", "permanent-identifier",
            "F2LX/Q7K9MN/1.2.840.113635"},
           {"device-attest-3.1-permanent-id-empty-assigner",
            "permanent-identifier with an empty assigner", "permanent-identifier", "F2LXQ7K9MN/"},
           {"device-attest-4.1-hardware-module-no-type", "hardware-module without hwType OID",
            "hardware-module", "F2LXQ7K9MN"},
           {"device-attest-4.1-hardware-module-type-not-oid",
            "hardware-module whose hwType is not an OID", "hardware-module",
            "F2LXQ7K9MN/secure-enclave"},
       }) {
    const bool is_pid = m.type == "permanent-identifier";
    const std::string rule = is_pid ? "permanent-identifier-value" : "hardware-module-value";
    out.push_back(da_case(
        {m.id, m.title, is_pid ? "3.1" : "4.1", Level::Must,
         "newOrder for a " + m.type + " value that does not follow the draft's syntax (\"" +
             m.value +
             "\") is refused (any 4xx) with malformed: draft-ietf-acme-device-attest-09 " +
             (is_pid ? "§3.1" : "§4.1") +
             ": \"The Server MUST verify that identifier values in newOrder requests conform to "
             "the " +
             rule +
             " production rule and MUST reject requests containing non-conforming values with "
             "a \"malformed\" error.\" (no HTTP status is named there)",
         is_pid ? pid : hwm},
        [m](CaseContext& ctx) { return identifier_malformed(ctx, m.type, m.value); }));
  }

  out.push_back(da_case(
      {"device-attest-5-challenge-offered",
       "A permanent-identifier authorization offers device-attest-01", "5", Level::May,
       "The authorization for a permanent-identifier offers a device-attest-01 challenge with "
       "type, url, status \"pending\" and a token. No BCP 14 keyword obliges a server to offer "
       "it (the object's fields are \"(required, string)\" in lower case), and "
       "draft-ietf-acme-device-attest-09 §6.1.2: \"Servers MAY rely on other authorization "
       "mechanisms, such as external account binding or pre-authorized accounts, to establish "
       "device identity instead of completing the device-attest-01 challenge.\"",
       kDeviceCaps},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        const Json& raw = d.challenge.raw;
        return first_failure(
            {check(d.challenge.status == "pending", "status \"pending\"", raw.dump()),
             check(raw.value("url", Json()).is_string(), "a url", raw.dump()),
             check(raw.value("token", Json()).is_string(), "a token", raw.dump())});
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-5-token-entropy", "device-attest-01 tokens have 128 bits", "5", Level::Must,
       "The device-attest-01 token is base64url without padding with at least 128 bits of entropy "
       "(22 characters or more): draft-ietf-acme-device-attest-09 §8: \"The \"token\" value "
       "MUST have at least 128 bits of entropy. It MUST NOT contain any characters outside the "
       "base64url alphabet, including padding characters (\"=\").\"",
       kDeviceCaps},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        return check(is_base64url(d.challenge.token) && d.challenge.token.size() >= 22,
                     "a base64url token of at least 22 characters",
                     "token \"" + d.challenge.token + "\"");
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-5-valid-attestation", "A genuine attestation validates the challenge", "5",
       Level::May,
       "A genuine attestation (chain to the trusted root, freshness for the token, identifier of "
       "the order) makes the challenge and authorization valid and the order ready. No BCP 14 "
       "keyword makes a server accept one (the validation steps of §5 bind only the refusal), "
       "and draft-ietf-acme-device-attest-09 §8: \"While not described in this document, the "
       "Server MAY use any policy when evaluating this information. This evaluation can result "
       "in rejection of a certificate request that features a verifiable key attestation for "
       "the public key contained in the request.\" The cases that need an accepted attestation "
       "depend on this one.",
       kDeviceCaps},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        pki::PrivateKey key = device_key();
        AttestOutcome o = submit(ctx, d, attobj_payload(honest_chain(ctx, d, key)));
        client::Order order = settle_order(ctx, *d.client, d.order.url);
        return first_failure({expect_accepted(o), check(order.status == "ready", "order \"ready\"",
                                                        "order \"" + order.status + "\"")});
      },
      kOneDevice));

  // The MUST part of what the certificate says (a permanentIdentifier it carries is the
  // order's, octet for octet; the key is the CSR's) and the MAY part (that it carries one
  // at all: a server may issue privacy-preserving certificates).
  out.push_back(da_case(
      {"device-attest-3.2-certificate-identifier",
       "The certificate names no other identifier and certifies the CSR's key",
       "3.2",
       Level::Must,
       "A certificate issued for a CSR naming the permanent identifier names no "
       "permanentIdentifier but the order's, octet for octet, and certifies the CSR's (attested) "
       "key: draft-ietf-acme-device-attest-09 §3.2: \"The value of the identifierValue field of "
       "the PermanentIdentifier MUST be an octet-for-octet match of the device-identifier-value "
       "value as encoded in the Order resource.\"; RFC 8555 §7.4: \"The CSR encodes the "
       "client's requests with regard to the content of the certificate to be issued.\" and "
       "\"it MUST NOT issue a certificate with contents other than those requested\".",
       kDeviceCaps,
       {"device-attest-5-valid-attestation"}},
      [](CaseContext& ctx) {
        const SerialEnrollment r = enroll_serial(ctx);
        std::string other;
        for (const auto& id : r.ids) {
          if (id.value != r.serial) other += (other.empty() ? "\"" : ", \"") + id.value + "\"";
        }
        return first_failure(
            {check(other.empty(), "no permanentIdentifier but \"" + r.serial + "\"",
                   "permanentIdentifier " + other),
             check(r.enrolled.leaf.public_key().equals(r.key.public_key()),
                   "the CSR's (attested) key", "another key")});
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-3.2-certificate-names-identifier",
       "The certificate carries the permanent identifier the CSR named",
       "3.2",
       Level::May,
       "The certificate issued for a CSR naming the permanent identifier carries it as an "
       "id-on-permanentIdentifier otherName; the server may leave it out: "
       "draft-ietf-acme-device-attest-09 §7.4: \"Clients MAY omit the permanent-identifier or "
       "hardware-module from the CSR, and servers MAY issue certificates that do not contain "
       "these identifiers in the subjectAltName extension, even when those identifiers were "
       "used to authorize the request.\"",
       kDeviceCaps,
       {"device-attest-5-valid-attestation"}},
      [](CaseContext& ctx) {
        const SerialEnrollment r = enroll_serial(ctx);
        return check(r.ids.size() == 1 && r.ids.front().value == r.serial,
                     "one permanentIdentifier \"" + r.serial + "\"",
                     r.ids.empty() ? "none"
                                   : "\"" + r.ids.front().value + "\" (" +
                                         std::to_string(r.ids.size()) + ")");
      },
      kOneDevice));

  struct BadObject {
    std::string id, title, what;
    std::function<Json(CaseContext&, DeviceOrder&, const pki::PrivateKey&)> payload;
  };
  for (const auto& b : std::vector<BadObject>{
           {"device-attest-5-attobj-missing", "A response without attObj",
            "a payload without \"attObj\" ({})",
            [](CaseContext&, DeviceOrder&, const pki::PrivateKey&) { return Json::object(); }},
           {"device-attest-5-attobj-not-base64url", "attObj that is not base64url",
            "an \"attObj\" that is not base64url",
            [](CaseContext&, DeviceOrder&, const pki::PrivateKey&) {
              return Json{{"attObj", "not base64url!"}};
            }},
           {"device-attest-5-attobj-bad-cbor", "attObj with truncated CBOR",
            "an attObj whose CBOR is truncated",
            [](CaseContext&ctx, DeviceOrder&d, const pki::PrivateKey&key) {
              Bytes cbor = to_cbor(honest_attobj_json(ctx, d, key));
              cbor.resize(cbor.size() / 2);
              return Json{{"attObj", base64url_encode(cbor)}};
            }},
           {"device-attest-5-attobj-not-map", "attObj that is not a CBOR map",
            "an attObj that is a CBOR array",
            [](CaseContext&ctx, DeviceOrder&d, const pki::PrivateKey&key) {
              Json obj = honest_attobj_json(ctx, d, key);
              return cbor_payload(Json::array({obj["fmt"], obj["attStmt"]}));
            }},
           {"device-attest-5-attobj-unknown-fmt", "attObj with an unsupported fmt",
            "an attObj whose fmt is \"android-key\" (Apple statement inside)",
            [](CaseContext&ctx, DeviceOrder&d, const pki::PrivateKey&key) {
              Json obj = honest_attobj_json(ctx, d, key);
              obj["fmt"] = "android-key";
              return cbor_payload(obj);
            }},
           {"device-attest-5-attobj-empty-x5c", "attObj with an empty x5c",
            "an attObj with \"x5c\": []",
            [](CaseContext&, DeviceOrder&, const pki::PrivateKey&) {
              return attobj_payload(std::vector<Bytes>{});
            }},
           {"device-attest-5-error-field-without-attobj", "A device error report instead of attObj",
            "a payload {\"error\": ...} without attObj (a device that could not attest)",
            [](CaseContext&, DeviceOrder&, const pki::PrivateKey&) {
              return Json{{"error", "attestation failed: the Secure Enclave is unavailable"}};
            }},
       }) {
    out.push_back(da_case(
        {b.id, b.title, "5", Level::Must,
         "A device-attest-01 response with " + b.what +
             " validates nothing (the POST refused, or the challenge \"invalid\"): RFC 8555 "
             "§7.5.1: \"If the client's response is invalid for any reason or does not provide "
             "the server with appropriate information to validate the challenge, then the server "
             "MUST return an HTTP error.\"; draft-ietf-acme-device-attest-09 §5: \"If any of the "
             "steps fail, then the Server MUST respond to the Client with a "
             "\"badAttestationStatement\" error and set the status of the challenge object to "
             "\"invalid\".\"",
         kDeviceCaps},
        [b](CaseContext& ctx) { return expect_rejected(answer_with(ctx, b.payload)); },
        kOneDevice));
  }

  out.push_back(da_case(
      {"device-attest-5-unknown-payload-fields",
       "Unknown payload members are ignored",
       "5",
       Level::Must,
       "A genuine attestation whose payload also carries unknown members still validates: "
       "draft-ietf-acme-device-attest-09 §5: \"Servers MUST ignore unrecognized fields in the "
       "challenge response.\"",
       kDeviceCaps,
       {"device-attest-5-valid-attestation"}},
      [](CaseContext& ctx) {
        return expect_accepted(
            answer_with(ctx, [](CaseContext& c, DeviceOrder& d, const pki::PrivateKey& key) {
              Json payload = cbor_payload(honest_attobj_json(c, d, key));
              payload["x-attestlab-extension"] = {{"nested", true}};
              payload["note"] = "unknown members must be ignored";
              return payload;
            }));
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-5-bad-attestation-type", "A rejected attestation is badAttestationStatement",
       "5", Level::Must,
       "When the attestation statement fails verification (a chain to a rogue root), the error "
       "(on the response or the challenge) has type badAttestationStatement: "
       "draft-ietf-acme-device-attest-09 §5: \"If any of the steps fail, then the Server MUST "
       "respond to the Client with a \"badAttestationStatement\" error and set the status of "
       "the challenge object to \"invalid\".\"",
       kDeviceCaps},
      [](CaseContext& ctx) {
        AttestOutcome o = rogue_root_answer(ctx);
        auto problem = rejection_problem(o);
        const std::string type = problem ? problem->value("type", "") : "";
        return check(
            type == std::string(client::kAcmeErrorPrefix) + "badAttestationStatement",
            "error type urn:ietf:params:acme:error:badAttestationStatement",
            problem ? problem->dump() : "no error (challenge \"" + o.challenge.status + "\")");
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-5-bad-attestation-detail", "A rejected attestation says why", "5",
       Level::Must,
       "The badAttestationStatement error for a chain to a rogue root (a reason that discloses "
       "nothing private) carries the reason in \"detail\": draft-ietf-acme-device-attest-09 "
       "§5: \"The Server MUST provide the reason for rejecting the challenge in the "
       "\"detail\" field of the problem document, unless the disclosure of the reason to the "
       "Client presents a privacy concern\"",
       kDeviceCaps},
      [](CaseContext& ctx) {
        AttestOutcome o = rogue_root_answer(ctx);
        auto problem = rejection_problem(o);
        const std::string detail = problem ? problem->value("detail", "") : "";
        return check(!detail.empty(), "a non-empty detail", problem ? problem->dump() : "no error");
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-5-failure-blocks-order",
       "A rejected attestation leaves the order unfinalizable", "5", Level::Must,
       "After a rejected attestation the order is not ready, so finalizing it answers 403 "
       "orderNotReady: RFC 8555 §7.4: \"A request to finalize an order will result in error if "
       "the order is not in the \"ready\" state. In such cases, the server MUST return a 403 "
       "(Forbidden) error with a problem document of type \"orderNotReady\".\"",
       kDeviceCaps},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        pki::PrivateKey key = device_key();
        AttestOutcome o = submit(ctx, d, rogue_root_payload(ctx, d, key));
        need_that(expect_rejected(o).passed(), "the rogue attestation is rejected");
        auto r = post_retrying(
            *d.client, d.order.finalize,
            Json{{"csr", base64url_encode(device_csr(key, ctx.identity(0).serial).to_der())}});
        return expect_problem(r, 403, {"orderNotReady"});
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-5-invalid-challenge-is-final",
       "An invalid device-attest-01 challenge stays invalid", "5", Level::May,
       "After a device-attest-01 challenge became invalid, a genuine attestation sent afterwards "
       "does not validate it; no BCP 14 keyword makes \"invalid\" final: the draft's MUST sets "
       "the status (§5 \"set the status of the challenge object to \"invalid\"\"), and RFC "
       "8555 §7.1.6 only describes the state machine: \"If validation is successful, the "
       "challenge moves to the \"valid\" state; if there is an error, the challenge moves to "
       "the \"invalid\" state.\"",
       kDeviceCaps},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        pki::PrivateKey key = device_key();
        auto stale = honest_leaf(ctx, key.public_key(), slot_facts(ctx, 0),
                                 "another-token-" + hex_encode(random_bytes(8)));
        AttestOutcome first = submit(ctx, d, attobj_payload(issue(ctx, stale)));
        need_that(first.challenge.status == "invalid",
                  "the stale attestation made the challenge invalid (it is \"" +
                      first.challenge.status + "\")");
        AttestOutcome second = submit(ctx, d, attobj_payload(honest_chain(ctx, d, key)));
        return first_failure(
            {check(second.challenge.status == "invalid", "challenge still \"invalid\"",
                   "challenge \"" + second.challenge.status + "\""),
             check(second.authz.status != "valid", "authorization not valid",
                   "authorization \"valid\"")});
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-3.2-csr-identifier-mismatch",
       "The CSR's permanent identifier must be the order's",
       "3.2",
       Level::Must,
       "Finalizing with a CSR whose permanentIdentifier differs from the order's identifier is "
       "refused and issues nothing: draft-ietf-acme-device-attest-09 §3.2: \"The Server MUST "
       "then ensure that the UTF-8 representation and the identifier presented in the Order "
       "resource are an octet-for-octet match and reject the Order otherwise.\"",
       kDeviceCaps,
       {"device-attest-5-valid-attestation"}},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        pki::PrivateKey key = device_key();
        need_genuine_accepted(ctx, d, key);
        return expect_not_issued(
            finalize_device(ctx, d, device_csr(key, ctx.identity(0).serial + "X")));
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-3.2-csr-extra-dns-name",
       "The CSR cannot add names",
       "3.2",
       Level::Must,
       "Finalizing with a CSR that names a dNSName besides the permanent identifier issues no "
       "certificate naming that dNSName (a refusal is the usual answer; issuing without the "
       "name also keeps the sentence): RFC 8555 §7.4: \"The server MUST return an error if it "
       "cannot fulfill the request as specified, and it MUST NOT issue a certificate with "
       "contents other than those requested.\"",
       kDeviceCaps,
       {"device-attest-5-valid-attestation"}},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        pki::PrivateKey key = device_key();
        need_genuine_accepted(ctx, d, key);
        const std::string extra = ctx.new_domain("extra");
        FinalizeOutcome f =
            finalize_device(ctx, d, device_csr(key, ctx.identity(0).serial, {extra}));
        if (!(f.order.status == "valid" && f.order.certificate)) return expect_not_issued(f);
        const auto dns = issued_leaf(d, f.order).subject_alt_names().dns;
        if (std::find(dns.begin(), dns.end(), extra) != dns.end()) {
          return Verdict::fail("no certificate naming " + extra,
                               "a certificate naming dNSName " + extra);
        }
        return Verdict::pass("issued without the CSR's extra dNSName " + extra);
      },
      kOneDevice));

  out.push_back(da_case(
      {"device-attest-3.2-privacy-preserving-csr",
       "A CSR without the identifier is accepted",
       "3.2",
       Level::May,
       "Finalizing with a CSR without SANs (a privacy-preserving certificate) issues a "
       "certificate for the attested key; the permission binds the client, no BCP 14 keyword "
       "obliges the server to issue: draft-ietf-acme-device-attest-09 §3.2: \"To support "
       "privacy-preserving certificates, Clients MAY omit identifiers of types "
       "permanent-identifier and hardware-module in the certificate signing request (CSR).\"",
       kDeviceCaps,
       {"device-attest-5-valid-attestation"}},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        pki::PrivateKey key = device_key();
        need_genuine_accepted(ctx, d, key);
        FinalizeOutcome f = finalize_device(ctx, d, device_csr(key, std::nullopt));
        return first_failure(
            {expect_success(f.answer),
             check(f.order.status == "valid" && f.order.certificate,
                   "order \"valid\" with a certificate", "order \"" + f.order.status + "\"")});
      },
      kOneDevice));
}

}  // namespace attestlab::conformance

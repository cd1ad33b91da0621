// The hijack step: while a victim device enrolls, an attacker with an ACME account of its
// own reaches for the victim's objects at the moment they matter:
//   respond_challenge  after the victim fetched its authorization: the attacker answers the
//                      victim's device-attest-01 challenge with an attestation of its own
//                      device's key;
//   finalize           when the victim's order is ready: the attacker finalizes it with a
//                      CSR for its own key naming the victim's identifier;
//   revoke             after the victim installed its certificate: the attacker revokes it.
// The step observes the attacker's request; the victim's own enrollment is a note.
// Object URLs are read from the victim's wire log, as an attacker on the path would.
#include <optional>

#include "core/bytes.h"
#include "scenarios/world.h"
#include "sim/device/attestation.h"

namespace attestlab::scenarios {

namespace {

// The newest response body of the victim's exchanges since `mark` that parses as JSON and
// has `member`.
std::optional<Json> newest_with(const client::WireLog& log, std::size_t mark, const char* member) {
  const auto exchanges = log.exchanges(mark);
  for (auto it = exchanges.rbegin(); it != exchanges.rend(); ++it) {
    auto body = parse_json(it->response_body);
    if (body && body->is_object() && body->contains(member)) return *body;
  }
  return std::nullopt;
}

// The attacker's answer as an observation: the problem it got, or success.
void observe_response(Observation& o, const client::AcmeClient& client,
                      const Result<http::Response>& response) {
  if (!response) {
    o.error = response.error();
    return;
  }
  if (response->status >= 400) {
    o.error = client.last_problem()
                  ? client::problem_to_error(*client.last_problem(), response->status)
                  : Error::make(client::kErrorUnexpectedResponse, "no problem document",
                                response->status);
    return;
  }
  o.notes.push_back("the attacker's request was accepted (HTTP " +
                    std::to_string(response->status) + ")");
}

}  // namespace

Observation hijack(World& world, DeviceRuntime& victim, DeviceRuntime& attacker, const Step& step) {
  Observation o;
  const std::size_t mark = victim.log.size();
  client::AcmeClientOptions client_options = world.client_options("attacker");
  client::AcmeClient client(world.target().directory_url, client_options, &victim.log);
  bool acted = false;
  std::string setup_error;

  auto attacker_account = [&]() -> bool {
    auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
    if (!key) return false;
    client::NewAccountRequest request;
    request.eab = world.target().eab;
    auto account = client.new_account(client::make_signer(std::move(*key)), request);
    if (!account)
      setup_error = "the attacker could not create an account: " + account.error().detail;
    return account.ok();
  };

  auto act = [&](const std::string& done_step) {
    if (acted) return;
    if (step.hijack == "respond_challenge" && done_step == sim::enroll_step::kAuthz) {
      acted = true;
      auto authz = newest_with(victim.log, mark, "challenges");
      if (!authz) {
        setup_error = "the victim's authorization is not in its wire log";
        return;
      }
      std::string url, token;
      for (const auto& c : (*authz)["challenges"]) {
        if (c.value("type", "") == "device-attest-01") {
          url = c.value("url", "");
          token = c.value("token", "");
        }
      }
      if (url.empty() || !attacker_account()) {
        if (setup_error.empty())
          setup_error = "the victim's authorization has no device-attest-01 challenge";
        return;
      }
      // A genuine attestation of the attacker's own Secure Enclave key for the victim's token.
      std::string att_obj;
      attacker.with_device(
          [&](sim::Device& device, sim::AttestationService& attestation, sim::DeviceKeychain&) {
            auto key = device.secure_enclave().generate_key(pki::KeySpec::p384());
            if (!key) return;
            auto attested = attestation.key_attestation(device, *key, token);
            if (attested) att_obj = sim::apple_attobj_b64u(attested->chain);
          });
      if (att_obj.empty()) {
        setup_error = "the attacker's device could not attest";
        return;
      }
      observe_response(o, client, client.post(url, Json{{"attObj", att_obj}}));
    } else if (step.hijack == "finalize" && done_step == sim::enroll_step::kCsr) {
      acted = true;
      auto order = newest_with(victim.log, mark, "finalize");
      if (!order || !attacker_account()) {
        if (setup_error.empty()) setup_error = "the victim's order is not in its wire log";
        return;
      }
      auto key = pki::PrivateKey::generate(pki::KeySpec::p384());
      std::string identifier;
      if (order->contains("identifiers") && !(*order)["identifiers"].empty()) {
        identifier = (*order)["identifiers"][0].value("value", "");
      }
      pki::CsrSpec spec;
      spec.subject.push_back({"CN", identifier});
      spec.sans.permanent_ids.push_back({identifier, std::nullopt});
      auto csr = key ? pki::build_csr(spec, *key) : Result<pki::Csr>(key.error());
      if (!csr) {
        setup_error = "cannot build the attacker's CSR: " + csr.error().detail;
        return;
      }
      observe_response(o, client,
                       client.post((*order)["finalize"].get<std::string>(),
                                   Json{{"csr", base64url_encode(csr->to_der())}}));
    }
  };

  Step enroll_step;
  enroll_step.type = StepType::AcmeEnroll;
  sim::EnrollmentResult victim_result;
  {
    sim::EnrollOptions options;
    options.client = world.client_options(victim.plan.id);
    options.trust_ca_pem_file = world.target().trust_ca_pem_file;
    options.wire_log = &victim.log;
    options.clock = world.clock();
    options.apple_ca = world.target().attestation_ca;
    options.eab = world.target().eab;
    options.after_step = act;
    const sim::AcmePayload payload = world.payload_for(victim, step.payload);
    victim.with_device([&](sim::Device& device, sim::AttestationService& attestation,
                           sim::DeviceKeychain& keychain) {
      victim_result = sim::enroll(device, attestation, keychain, payload, options);
    });
    remember_certificate(victim, victim_result);
  }

  if (step.hijack == "revoke") {
    acted = true;
    if (!victim_result.ok() || !victim_result.certificate) {
      setup_error = "the victim got no certificate to revoke: " + victim_result.summary();
    } else if (attacker_account()) {
      auto revoked = client.revoke(victim_result.certificate->to_der());
      if (revoked) {
        o.revoked = true;
        o.notes.push_back("the attacker revoked the victim's certificate");
      } else {
        o.error = revoked.error();
      }
    }
  }
  if (!acted && setup_error.empty()) {
    setup_error =
        "the victim's enrollment stopped before the attacker could act: " + victim_result.summary();
  }
  if (!setup_error.empty()) o.notes.push_back("harness: " + setup_error);
  o.notes.push_back("victim's enrollment: " + (victim_result.ok()
                                                   ? std::string("certificate issued")
                                                   : victim_result.summary()));
  if (!setup_error.empty() && !o.error) o.error = Error::make(kErrorHijackSetup, setup_error);
  return o;
}

}  // namespace attestlab::scenarios

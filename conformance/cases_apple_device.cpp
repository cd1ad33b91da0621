// The whole Apple device path end to end: a simulated device with its Secure Enclave,
// attestation service and keychain enrolls through the ACMECertificate payload client
// (sim/device/device_acme.h), once genuinely and once per ClientFaults knob that a server must
// refuse (or, for the two that are allowed, accept). Complements the precise one-thing
// cases of cases_apple.cpp / cases_device_attest.cpp with what a real device sends.
#include <set>

#include "conformance/case_builder.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/device_flows.h"
#include "conformance/device_refusal.h"
#include "conformance/harness.h"
#include "conformance/registry.h"
#include "core/clock.h"
#include "sim/device/acme_payload.h"
#include "sim/device/attestation_service.h"
#include "sim/device/device_acme.h"
#include "sim/device/device_keychain.h"

namespace attestlab::conformance {
namespace {

sim::EnrollmentResult enroll_device(CaseContext& ctx, const sim::ClientFaults& faults) {
  auto ca = std::make_shared<const sim::AppleCa>(ctx.apple_ca());
  auto servers = std::make_shared<sim::AppleAttestationServers>(ca, SystemClock::instance());
  sim::AttestationService attestation(servers);
  sim::DeviceKeychain keychain;
  sim::Device device = ctx.device(0);
  const sim::AcmePayload payload =
      sim::AcmePayload::for_attestation(ctx.target().directory_url, ctx.identity(0).serial);

  sim::EnrollOptions options;
  options.client = client_options(ctx.target());
  options.client.log_label = "device";
  // The case timeout is what really bounds the enrollment (a stalled server ends the case
  // in "error"), not the device client's own deadline.
  options.client.poll_timeout = std::chrono::minutes(10);
  options.trust_ca_pem_file = ctx.target().trust_ca;
  options.faults = faults;
  options.wire_log = &ctx.wire_log();
  options.apple_ca = ca;
  options.clock = SystemClock::instance();
  if (ctx.target().eab && ctx.target().eab->required) options.eab = eab_binding(ctx.target());
  return sim::enroll(device, attestation, keychain, payload, options);
}

std::string outcome_of(const sim::EnrollmentResult& r) {
  return r.ok() ? "enrolled" : r.summary();
}

constexpr const char* kEnrollmentCase = "apple-device-enrollment";

Case device_case(CaseHead head, std::function<Verdict(CaseContext&)> run) {
  head.capabilities = {"device-attest-01"};
  return make_case(kSpecAppleFormat, kProfileApple, std::move(head), std::move(run),
                   {device_slot()});
}

}  // namespace

void add_apple_device_cases(CaseList& out) {
  out.push_back(device_case(
      {kEnrollmentCase, "An Apple device enrolls through its ACMECertificate payload",
       "device client", Level::Must,
       "A simulated iPhone with an attesting ACMECertificate payload (P-384, HardwareBound, "
       "Attest) gets a certificate for its Secure Enclave key naming its serial number."},
      [](CaseContext& ctx) {
        sim::EnrollmentResult r = enroll_device(ctx, {});
        if (!r.ok()) return Verdict::fail("the enrollment succeeds", r.summary());
        const auto ids = r.certificate->subject_alt_names().permanent_ids;
        return first_failure({check(r.hardware_bound && r.public_key &&
                                        r.certificate->public_key().equals(*r.public_key),
                                    "a certificate for the hardware-bound key", "another key"),
                              check(ids.size() == 1 && ids[0].value == ctx.identity(0).serial,
                                    "permanentIdentifier " + ctx.identity(0).serial,
                                    Json(ids.size()).dump() + " permanentIdentifier(s)")});
      }));

  struct Knob {
    std::string name;
    bool must_succeed;
    std::string what;
    // Why the server may instead refuse it (then the case is MAY); empty: MUST.
    std::string may_because = {};
  };
  for (const auto& k : std::vector<Knob>{
           {"unknown_payload_fields", true,
            "adds unknown members to the challenge payload (they must be ignored)"},
           {"privacy_preserving_csr", true,
            "leaves the permanentIdentifier out of its CSR (allowed)",
            " The client's freedom binds no server to issue: draft-ietf-acme-device-attest-09 "
            "§3.2: \"To support privacy-preserving certificates, Clients MAY omit "
            "identifiers of types permanent-identifier and hardware-module in the certificate "
            "signing request (CSR).\" (a server holding to RFC 8555 §7.4's \"The CSR MUST "
            "indicate the exact same set of requested identifiers as the initial newOrder "
            "request\" may refuse it)."},
           {"csr_key_swapped", false, "signs its CSR with another key than the attested one"},
           {"rogue_root_chain", false, "sends a chain to a look-alike root"},
           {"omit_freshness", false, "sends a leaf without freshness code"},
           {"expired_attestation", false, "sends an expired leaf"},
           {"other_device_identifier", false,
            "orders another device's serial while attesting as itself"},
           {"rsa_csr", false, "finalizes with an RSA CSR after attesting an EC key"},
           {"malformed_cbor", false, "sends truncated CBOR"},
           {"wrong_fmt", false, "sends fmt \"android-key\""},
           {"empty_x5c", false, "sends an empty x5c"},
           {"payload_error_field", false, "reports an error instead of an attestation"},
           {"wrong_key_attested", false, "sends an attestation for another key than its CSR key"},
           {"permanent_id_san_mismatch", false, "puts another permanentIdentifier in its CSR"},
           {"wrong_jws_url", false, "signs its challenge response for another URL"},
       }) {
    std::string id = "apple-device-fault-" + k.name;
    for (char& ch : id) {
      if (ch == '_') ch = '-';
    }
    out.push_back(device_case(
        {id,
         "A device that " + k.what + (k.must_succeed ? " still enrolls" : " gets no certificate"),
         "device client",
         k.may_because.empty() ? Level::Must : Level::May,
         "An Apple device that " + k.what +
             (k.must_succeed ? " still gets its certificate." : " gets no certificate.") +
             k.may_because,
         {},
         // A refusal shows something only where the genuine device enrolls.
         k.must_succeed ? std::vector<std::string>{} : std::vector<std::string>{kEnrollmentCase}},
        [k](CaseContext& ctx) {
          sim::ClientFaults faults;
          need(sim::set_client_fault(faults, k.name), "switch on " + k.name);
          sim::EnrollmentResult r = enroll_device(ctx, faults);
          // Steps that run on the device alone cannot show anything about the server.
          static const std::set<std::string> device_steps = {"payload", "key", "attest", "csr"};
          if (!r.ok() && device_steps.count(r.failed_step) != 0) {
            abort_case(Verdict::error("the device failed on its own: " + r.summary()));
          }
          if (k.must_succeed) return check(r.ok(), "the enrollment succeeds", outcome_of(r));
          return judge_device_refusal(r);
        }));
  }
}

}  // namespace attestlab::conformance

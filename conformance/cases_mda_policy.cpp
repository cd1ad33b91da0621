// Operator policy for Apple Managed Device Attestation (level "policy"): what a
// well-run enterprise CA refuses although the attestation is genuine. A target declares
// that it enforces these with capabilities (TARGETS.md): "posture-policy" (the defaults of
// fixtures/policy.example.json: SIP on, full secure boot, no third-party kexts, Apple's OS
// floors, no User Enrollment, attestation at most 7 days + 1 hour old, EC P-256/P-384),
// "inventory" (the runner lists the devices in the inventory file the target reads) and
// "device-supersede" (a device's new certificate revokes its older ones).
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/device_flows.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "sim/device/attestation_service.h"
#include "sim/device/forgery.h"

namespace attestlab::conformance {
namespace {

Case policy_case(CaseHead head, std::function<Verdict(CaseContext&)> run,
                 std::vector<DeviceSlot> devices) {
  head.level = Level::Policy;
  return make_case(kSpecMdaPolicy, kProfileMdaPolicy, std::move(head), std::move(run),
                   std::move(devices));
}

// Device slot 0 (with `device` changed by `adjust`) attests genuinely for its serial.
AttestOutcome attest_device(CaseContext& ctx, const std::function<void(sim::Device&)>& adjust,
                            std::optional<std::string> identifier = std::nullopt) {
  sim::Device device = ctx.device(0);
  adjust(device);
  DeviceOrder d = device_order(ctx, identifier.value_or(ctx.identity(0).serial));
  pki::PrivateKey key = device_key();
  return submit(
      ctx, d,
      attobj_payload(issue(
          ctx, honest_leaf(ctx, key.public_key(), device.attested_facts(), d.challenge.token))));
}

void unchanged(sim::Device&) {}

sim::Posture posture(bool sip, sim::SecureBootLevel boot, bool kexts) {
  sim::Posture p;
  p.sip_enabled = sip;
  p.secure_boot = boot;
  p.third_party_kexts_allowed = kexts;
  return p;
}

}  // namespace

void add_mda_policy_cases(CaseList& out) {
  const std::vector<std::string> posture_caps = {"device-attest-01", "posture-policy"};
  const std::vector<std::string> inventory_caps = {"device-attest-01", "inventory"};
  // A refusal shows the policy only where the target accepts a device it should accept
  // (a target refusing everything would pass every refusal case): the premises.
  const std::vector<std::string> after_healthy = {"mda-posture-healthy-mac"};
  const std::vector<std::string> after_active = {"mda-inventory-active"};
  const auto mac = device_slot(sim::DeviceKind::Mac);

  struct MacPosture {
    std::string id, title, requirement;
    sim::Posture p;
  };
  for (const auto& m : std::vector<MacPosture>{
           {"mda-posture-sip-disabled", "A Mac with SIP disabled is refused",
            "A genuine attestation of an Apple silicon Mac reporting System Integrity Protection "
            "disabled is rejected.",
            posture(false, sim::SecureBootLevel::Full, false)},
           {"mda-posture-secure-boot-reduced", "A Mac with reduced security boot is refused",
            "A genuine attestation of a Mac reporting secure boot level \"reduced\" is rejected.",
            posture(true, sim::SecureBootLevel::Reduced, false)},
           {"mda-posture-secure-boot-permissive", "A Mac with permissive security boot is refused",
            "A genuine attestation of a Mac reporting secure boot level \"permissive\" is "
            "rejected.",
            posture(true, sim::SecureBootLevel::Permissive, false)},
           {"mda-posture-kexts-allowed", "A Mac allowing third-party kexts is refused",
            "A genuine attestation of a Mac reporting third-party kernel extensions allowed is "
            "rejected.",
            posture(true, sim::SecureBootLevel::Full, true)},
       }) {
    out.push_back(policy_case(
        {m.id, m.title, "posture", Level::Policy, m.requirement, posture_caps, after_healthy},
        [m](CaseContext& ctx) {
          return expect_rejected(attest_device(ctx, [&](sim::Device& d) { d.set_posture(m.p); }));
        },
        {mac}));
  }

  out.push_back(policy_case(
      {"mda-posture-healthy-mac", "A healthy Mac is accepted", "posture", Level::Policy,
       "A genuine attestation of a Mac with SIP on, full secure boot and no third-party kexts "
       "validates (the policy does not refuse healthy devices).",
       posture_caps},
      [](CaseContext& ctx) { return expect_accepted(attest_device(ctx, unchanged)); }, {mac}));

  out.push_back(policy_case(
      {"mda-os-floor-macos", "A Mac below macOS 14 is refused", "os floor", Level::Policy,
       "A genuine attestation of a Mac reporting macOS 13.6 (below the MDA floor 14.0) is "
       "rejected.",
       posture_caps, after_healthy},
      [](CaseContext& ctx) { return expect_rejected(attest_device(ctx, unchanged)); },
      {device_slot(sim::DeviceKind::Mac, "active", "13.6.1")}));

  out.push_back(policy_case(
      {"mda-os-floor-ios",
       "An iPhone below iOS 16 is refused",
       "os floor",
       Level::Policy,
       "A genuine attestation of an iPhone the inventory lists as iOS, reporting iOS 15.7 (below "
       "the floor 16.0), is rejected.",
       {"device-attest-01", "posture-policy", "inventory"},
       after_active},
      [](CaseContext& ctx) { return expect_rejected(attest_device(ctx, unchanged)); },
      {device_slot(sim::DeviceKind::IPhone, "active", "15.7")}));

  out.push_back(policy_case(
      {"mda-user-enrollment-refused", "A User Enrollment attestation is refused", "identity",
       Level::Policy,
       "A genuine attestation without serial number and UDID (User Enrollment) cannot be matched "
       "to the ordered device and is rejected.",
       posture_caps, after_healthy},
      [](CaseContext& ctx) {
        return expect_rejected(
            attest_device(ctx, [](sim::Device& d) { d.set_user_enrollment(true); }));
      },
      {device_slot()}));

  out.push_back(policy_case(
      {"mda-attestation-too-old", "An attestation older than Apple's cache window is refused",
       "freshness window", Level::Policy,
       "A genuine, still time-valid attestation leaf issued 8 days ago (beyond the policy's "
       "7 days plus 1 hour, fixtures/policy.example.json) is rejected. An ACME attestation is "
       "made when the device generates the key, during the enrollment, so a leaf days old is "
       "not one the enrollment asked for.",
       posture_caps, after_healthy},
      [](CaseContext& ctx) {
        return expect_rejected(submit_edited_leaf(ctx, [&ctx](sim::LeafSpec s, const std::string&) {
          s.not_before = ctx.now() - 8 * 86400;
          s.not_after = ctx.now() + 86400;
          return s;
        }));
      },
      {device_slot()}));

  out.push_back(policy_case(
      {"mda-inventory-active", "An active inventory device is accepted", "inventory", Level::Policy,
       "A genuine attestation of a device the inventory lists as active validates.",
       inventory_caps},
      [](CaseContext& ctx) { return expect_accepted(attest_device(ctx, unchanged)); },
      {device_slot()}));

  for (const auto& [id, title, status, requirement] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"mda-inventory-unknown", "A device missing from the inventory is refused", "",
            "A genuine attestation of a device the inventory does not list is rejected."},
           {"mda-inventory-retired", "A retired device is refused", "retired",
            "A genuine attestation of a device the inventory lists as retired is rejected."},
           {"mda-inventory-lost", "A lost device is refused", "lost",
            "A genuine attestation of a device the inventory lists as lost is rejected."},
       }) {
    out.push_back(policy_case(
        {id, title, "inventory", Level::Policy, requirement, inventory_caps, after_active},
        [](CaseContext& ctx) { return expect_rejected(attest_device(ctx, unchanged)); },
        {device_slot(sim::DeviceKind::IPhone, status)}));
  }

  out.push_back(policy_case(
      {"mda-inventory-pair-mismatch", "Serial and UDID must belong to the same device", "inventory",
       Level::Policy,
       "An attestation whose serial number is one inventory device's and whose UDID is another's "
       "is rejected.",
       inventory_caps, after_active},
      [](CaseContext& ctx) {
        return expect_rejected(submit_edited_leaf(ctx, [&ctx](sim::LeafSpec s, const std::string&) {
          return sim::forge::with_extension_value(std::move(s), sim::kOidUdid,
                                                  to_bytes(ctx.identity(1).udid));
        }));
      },
      {device_slot(), device_slot()}));

  out.push_back(policy_case(
      {"mda-restore-revokes-old-certificate",
       "Re-enrollment after a restore revokes the old certificate",
       "lifecycle",
       Level::Policy,
       "After a device is erased and enrolls again with a new Secure Enclave key, its earlier "
       "certificate is revoked (a second revocation of it answers alreadyRevoked).",
       {"device-attest-01", "device-supersede", "revocation"}},
      [](CaseContext& ctx) {
        sim::Device device = ctx.device(0);
        const auto enroll_with_enclave_key = [&] {
          auto handle = need(device.secure_enclave().generate_key(pki::KeySpec::p384()),
                             "make a Secure Enclave key");
          auto pub = need(device.secure_enclave().public_key(handle), "read the public key");
          return enroll(ctx, 0, pub, [&](const pki::CsrSpec& spec) {
            return need(device.secure_enclave().sign_csr(handle, spec),
                        "sign the CSR in the Secure Enclave");
          });
        };
        Enrolled first = enroll_with_enclave_key();
        device.erase();  // restore: every hardware-bound key is gone; the device makes a new one
        need_that(device.secure_enclave().key_count() == 0, "the restore destroyed the old key");
        Enrolled second = enroll_with_enclave_key();
        need_that(!second.leaf.public_key().equals(first.leaf.public_key()),
                  "the new certificate has a new key");
        auto dir = need(first.device.client->directory(), "fetch the directory");
        auto r = post_retrying(*first.device.client, dir.revoke_cert,
                               Json{{"certificate", base64url_encode(first.leaf.to_der())}});
        need_that(r.ok(), "the revocation request is answered: " + describe(r));
        // A 2xx revoked it now: it was still valid. alreadyRevoked says it was revoked; another
        // refusal says neither (RFC 8555 names alreadyRevoked without a keyword), so it skips.
        if (r->status / 100 == 2) {
          return Verdict::fail(
              "the first certificate already revoked (alreadyRevoked)",
              "it was still valid: the revocation succeeded (" + describe(r) + ")");
        }
        if (is_problem(*r, "alreadyRevoked")) return Verdict::pass();
        return Verdict::skip("the target refused the revocation without alreadyRevoked (" +
                             describe(r) + "): whether it was revoked cannot be told");
      },
      {device_slot()}));

  out.push_back(policy_case(
      {"mda-throttle-cached-attestation",
       "An attestation reused for a new challenge is refused",
       "freshness window",
       Level::Policy,
       "A device that answers a new challenge with the attestation it got earlier for the same "
       "key (freshness of the old token) is rejected. Apple's 7-day attestation rate limit "
       "belongs to DeviceInformation; an ACME attestation is made once, when the key is "
       "generated (Apple Developer Forums thread 783599), so reuse is what a retry with the same "
       "key looks like.",
       {"device-attest-01"}},
      [](CaseContext& ctx) {
        // Apple's side and the device's attestation service, with the simulator's cache
        // applied to key attestations: a second request for the same key returns the first
        // leaf (what a device reusing a key's attestation sends).
        auto ca = std::make_shared<sim::AppleCa>(ctx.apple_ca());
        auto servers = std::make_shared<sim::AppleAttestationServers>(ca, SystemClock::instance());
        sim::AttestationService service(servers, sim::AttestationService::Options{true});
        sim::Device device = ctx.device(0);
        auto handle =
            need(device.secure_enclave().generate_key(pki::KeySpec::p384()), "make the device key");

        DeviceOrder first = device_order(ctx, ctx.identity(0).serial);
        auto a1 =
            need(service.key_attestation(device, handle, first.challenge.token), "attest (first)");
        need_that(!a1.from_cache, "the first attestation is new");
        need_that(expect_accepted(submit(ctx, first, attobj_payload(a1.chain))).passed(),
                  "the first, fresh attestation is accepted");
        DeviceOrder second = device_order_on(ctx, std::move(first.client), ctx.identity(0).serial);
        auto a2 = need(service.key_attestation(device, handle, second.challenge.token),
                       "attest (second)");
        need_that(a2.from_cache, "the throttle returned the cached attestation");
        return expect_rejected(submit(ctx, second, attobj_payload(a2.chain)));
      },
      {device_slot()}));
}

}  // namespace attestlab::conformance

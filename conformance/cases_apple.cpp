// The "apple" attestation format as deployed (PROTOCOL.md §3, docs/APPLE_FORMAT.md): the
// chain to the configured root, leaf validity, the freshness code = SHA-256(token), the
// attested identifier, and the binding of the attested key to the CSR key. Each case
// forges exactly one thing with sim/device/forgery.h (or builds the chain by hand).
#include <cctype>

#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/device_flows.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"
#include "sim/device/forgery.h"

namespace attestlab::conformance {
namespace {

const std::vector<std::string> kCaps = {"device-attest-01"};
const std::vector<DeviceSlot> kOneDevice = {device_slot()};
const std::vector<DeviceSlot> kOneMac = {device_slot(sim::DeviceKind::Mac)};
const std::vector<DeviceSlot> kTwoDevices = {device_slot(), device_slot()};

Case apple_case(CaseHead head, std::function<Verdict(CaseContext&)> run,
                std::vector<DeviceSlot> devices) {
  return make_case(kSpecAppleFormat, kProfileApple, std::move(head), std::move(run),
                   std::move(devices));
}

// The acceptance premises of the refusal cases: the honest variant of what they refuse.
constexpr const char* kGenuineChain = "apple-chain-genuine";
constexpr const char* kGenuineMac = "apple-chain-genuine-mac";
constexpr const char* kAttestedKeyIssued = "apple-key-binding-attested-key";

// A case that passes only on a refusal: it shows something only where the honest variant
// (`premise`) is accepted (a target refusing everything would pass it), so it depends on
// that case.
Case refusal_case(CaseHead head, std::function<Verdict(CaseContext&)> run,
                  std::vector<DeviceSlot> devices, const char* premise = kGenuineChain) {
  head.depends_on.push_back(premise);
  return apple_case(std::move(head), std::move(run), std::move(devices));
}

// Device slot 0 orders `identifier` (default: its serial) and answers with the x5c that
// `chain_for` makes for its key and the challenge token.
AttestOutcome attest_with(CaseContext& ctx,
                          const std::function<std::vector<Bytes>(
                              CaseContext&, const pki::PrivateKey&, const std::string&)>& chain_for,
                          std::optional<std::string> identifier = std::nullopt,
                          pki::KeySpec spec = pki::KeySpec::p384()) {
  DeviceOrder d = device_order(ctx, identifier.value_or(ctx.identity(0).serial));
  pki::PrivateKey key = device_key(spec);
  return submit(ctx, d, attobj_payload(chain_for(ctx, key, d.challenge.token)));
}

// The genuine CA signs the leaf after `edit` changed the honest one.
std::function<std::vector<Bytes>(CaseContext&, const pki::PrivateKey&, const std::string&)> edited(
    std::function<sim::LeafSpec(CaseContext&, sim::LeafSpec)> edit) {
  return [edit](CaseContext& ctx, const pki::PrivateKey& key, const std::string& token) {
    return issue(ctx, edit(ctx, honest_leaf(ctx, key.public_key(), slot_facts(ctx, 0), token)))
        .x5c();
  };
}

// A device attests `attested` genuinely, then finalizes with a CSR by `csr_key`.
struct Bound {
  bool rejected_at_challenge = false;
  std::string challenge_outcome;
  FinalizeOutcome finalized;
};

Bound bind_and_finalize(CaseContext& ctx, const pki::PublicKey& attested,
                        const pki::PrivateKey& csr_key) {
  Bound b;
  DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
  AttestOutcome o = submit(ctx, d,
                           attobj_payload(issue(ctx, honest_leaf(ctx, attested, slot_facts(ctx, 0),
                                                                 d.challenge.token))));
  const Verdict accepted = expect_accepted(o);
  if (!accepted.passed()) {
    b.rejected_at_challenge = true;
    b.challenge_outcome = accepted.observed;
    return b;
  }
  b.finalized = finalize_device(ctx, d, device_csr(csr_key, ctx.identity(0).serial));
  return b;
}

// Nothing was issued, whichever step refused.
Verdict nothing_issued(const Bound& b) {
  if (b.rejected_at_challenge)
    return Verdict::pass("rejected at the challenge: " + b.challenge_outcome);
  const FinalizeOutcome& f = b.finalized;
  return check(f.order.status != "valid" && !f.order.certificate, "no certificate issued",
               "order \"" + f.order.status + "\" " + describe(f.answer));
}

// The attestation itself was genuine and accepted; the CSR is what must be refused.
Verdict csr_refused(const Bound& b) {
  need_that(!b.rejected_at_challenge,
            "the genuine attestation is accepted (" + b.challenge_outcome + ")");
  return first_failure({expect_refused(b.finalized.answer), nothing_issued(b)});
}

// Slot 0's honest attestation (its kind's genuine leaf) validates the challenge.
Verdict genuine_attestation_accepted(CaseContext& ctx) {
  return expect_accepted(attest_with(ctx, edited([](CaseContext&, sim::LeafSpec s) { return s; })));
}

}  // namespace

void add_apple_cases(CaseList& out) {
  out.push_back(apple_case(
      {kGenuineChain, "A genuine chain to the trusted root validates", "x5c", Level::Must,
       "An attestation whose x5c (leaf, intermediate) chains to the configured Apple root, "
       "fresh for the token and for the ordered serial, validates the challenge.",
       kCaps},
      genuine_attestation_accepted, kOneDevice));

  out.push_back(refusal_case(
      {"apple-chain-rogue-root", "A chain to a look-alike root is refused", "x5c", Level::Must,
       "An attestation from a CA that copies the Apple root's and intermediate's names but not "
       "their keys is rejected.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(ctx, [](CaseContext& c, const pki::PrivateKey& key,
                                                   const std::string& token) {
          auto rogue = need(sim::forge::rogue_ca(c.apple_ca(), c.now()), "make a rogue CA");
          return need(rogue.issue_leaf(honest_leaf(c, key.public_key(), slot_facts(c, 0), token)),
                      "issue")
              .x5c();
        }));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-chain-rogue-root-included", "A root sent inside x5c is not trusted", "x5c",
       Level::Must,
       "An attestation whose x5c carries a look-alike CA's leaf, intermediate and self-signed root "
       "is rejected: only the configured roots are trust anchors.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(ctx, [](CaseContext& c, const pki::PrivateKey& key,
                                                   const std::string& token) {
          auto rogue = need(sim::forge::rogue_ca(c.apple_ca(), c.now()), "make a rogue CA");
          auto chain = need(
              rogue.issue_leaf(honest_leaf(c, key.public_key(), slot_facts(c, 0), token)), "issue");
          return std::vector<Bytes>{chain.leaf_der, chain.intermediate_der, rogue.root().to_der()};
        }));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-chain-leaf-only", "A leaf without its intermediate is refused", "x5c", Level::Must,
       "An x5c holding only the leaf (no intermediate) is rejected: the intermediate is not a "
       "trust anchor and the leaf does not chain to the root by itself.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(
            ctx, [](CaseContext& c, const pki::PrivateKey& key, const std::string& token) {
              return std::vector<Bytes>{
                  issue(c, honest_leaf(c, key.public_key(), slot_facts(c, 0), token)).leaf_der};
            }));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-chain-reversed", "x5c must start with the leaf", "x5c", Level::Must,
       "An x5c in the wrong order (intermediate first) is rejected: x5c[0] is the attestation "
       "certificate.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(
            ctx, [](CaseContext& c, const pki::PrivateKey& key, const std::string& token) {
              auto chain = issue(c, honest_leaf(c, key.public_key(), slot_facts(c, 0), token));
              return std::vector<Bytes>{chain.intermediate_der, chain.leaf_der};
            }));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-chain-self-signed-leaf", "A self-signed leaf is refused", "x5c", Level::Must,
       "A leaf with all the Apple extensions but signed by the device key itself is rejected.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(
            ctx, [](CaseContext& c, const pki::PrivateKey& key, const std::string& token) {
              sim::LeafSpec leaf = honest_leaf(c, key.public_key(), slot_facts(c, 0), token);
              pki::CertificateSpec spec;
              spec.subject = {{"CN", "self-attested"}};
              spec.not_before = leaf.not_before;
              spec.not_after = leaf.not_after;
              spec.extra_extensions = leaf.extensions;
              auto cert =
                  need(pki::issue_certificate(spec, key.public_key(), nullptr, key), "self-sign");
              return std::vector<Bytes>{cert.to_der(), c.apple_ca().intermediate().to_der()};
            }));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-chain-garbage-leaf", "An x5c entry that is not a certificate is refused", "x5c",
       Level::Must, "An x5c whose first entry is not a DER certificate is rejected.", kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(
            attest_with(ctx, [](CaseContext& c, const pki::PrivateKey&, const std::string&) {
              return std::vector<Bytes>{random_bytes(200), c.apple_ca().intermediate().to_der()};
            }));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-leaf-expired", "An expired attestation leaf is refused", "leaf", Level::Must,
       "An attestation whose leaf validity ended is rejected.", kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(ctx, edited([](CaseContext& c, sim::LeafSpec s) {
                                             return sim::forge::expired(std::move(s), c.now());
                                           })));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-leaf-not-yet-valid", "A leaf from the future is refused", "leaf", Level::Must,
       "An attestation whose leaf becomes valid only tomorrow is rejected.", kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(ctx, edited([](CaseContext& c, sim::LeafSpec s) {
                                             return sim::forge::not_yet_valid(std::move(s),
                                                                              c.now());
                                           })));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-freshness-required", "An attestation without freshness is refused",
       "1.2.840.113635.100.8.11.1", Level::Must,
       "An attestation whose leaf has no freshness code (1.2.840.113635.100.8.11.1) is rejected: "
       "the freshness code is required, not checked only when present.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(ctx, edited([](CaseContext&, sim::LeafSpec s) {
                                             return sim::forge::without_extension(
                                                 std::move(s), sim::kOidFreshnessCode);
                                           })));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-freshness-other-token", "Freshness for another token is refused",
       "1.2.840.113635.100.8.11.1", Level::Must,
       "An attestation whose freshness code is SHA-256 of a different token (a replayed or stale "
       "attestation) is rejected.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(
            attest_with(ctx, edited([](CaseContext&, sim::LeafSpec s) {
                          return sim::forge::with_extension_value(
                              std::move(s), sim::kOidFreshnessCode,
                              sim::freshness_code("stale-" + hex_encode(random_bytes(8))));
                        })));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-freshness-unhashed-token", "Freshness must be the SHA-256 of the token",
       "1.2.840.113635.100.8.11.1", Level::Must,
       "An attestation whose freshness code is the token itself (not its SHA-256) is rejected.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(
            submit_edited_leaf(ctx, [](sim::LeafSpec s, const std::string& token) {
              return sim::forge::with_extension_value(std::move(s), sim::kOidFreshnessCode,
                                                      to_bytes(token));
            }));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-freshness-truncated", "A truncated freshness code is refused",
       "1.2.840.113635.100.8.11.1", Level::Must,
       "An attestation whose freshness code is SHA-256(token) cut to 31 bytes is rejected.", kCaps},
      [](CaseContext& ctx) {
        DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
        pki::PrivateKey key = device_key();
        Bytes code = sim::freshness_code(d.challenge.token);
        code.pop_back();
        sim::LeafSpec s = sim::forge::with_extension_value(
            honest_leaf(ctx, key.public_key(), slot_facts(ctx, 0), d.challenge.token),
            sim::kOidFreshnessCode, code);
        return expect_rejected(submit(ctx, d, attobj_payload(issue(ctx, s))));
      },
      kOneDevice));

  out.push_back(apple_case(
      {"apple-replayed-attestation", "An attestation from an earlier enrollment is refused",
       "1.2.840.113635.100.8.11.1", Level::Must,
       "The attestation object a device sent for an earlier, successful challenge is rejected on "
       "a new challenge (its freshness belongs to the old token).",
       kCaps},
      [](CaseContext& ctx) {
        DeviceOrder first = device_order(ctx, ctx.identity(0).serial);
        pki::PrivateKey key = device_key();
        const Json payload = attobj_payload(issue(
            ctx, honest_leaf(ctx, key.public_key(), slot_facts(ctx, 0), first.challenge.token)));
        need_that(expect_accepted(submit(ctx, first, payload)).passed(),
                  "the first attestation is accepted");
        DeviceOrder second = device_order_on(ctx, std::move(first.client), ctx.identity(0).serial);
        need_that(second.challenge.url != first.challenge.url,
                  "the second order has a new challenge");
        return expect_rejected(submit(ctx, second, payload));
      },
      kOneDevice));

  out.push_back(apple_case(
      {"apple-identifier-serial", "The serial number identifies the device",
       "1.2.840.113635.100.8.9.1", Level::Must,
       "An order for the attested serial number validates.", kCaps},
      [](CaseContext& ctx) {
        return expect_accepted(attest_with(
            ctx, edited([](CaseContext&, sim::LeafSpec s) { return s; }), ctx.identity(0).serial));
      },
      kOneDevice));

  out.push_back(apple_case(
      {"apple-identifier-udid", "The UDID identifies the device", "1.2.840.113635.100.8.9.2",
       Level::Must, "An order for the attested UDID validates.", kCaps},
      [](CaseContext& ctx) {
        return expect_accepted(attest_with(
            ctx, edited([](CaseContext&, sim::LeafSpec s) { return s; }), ctx.identity(0).udid));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-identifier-other-device", "An attestation for another device is refused",
       "1.2.840.113635.100.8.9.1", Level::Must,
       "A genuine attestation of device A answering an order for device B's serial is rejected.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(
            ctx, edited([](CaseContext&, sim::LeafSpec s) { return s; }), ctx.identity(1).serial));
      },
      kTwoDevices));

  out.push_back(refusal_case(
      {"apple-identifier-case-mismatch", "Identifiers match exactly", "1.2.840.113635.100.8.9.1",
       Level::Must,
       "An order for the attested serial in lower case (a different identifier) is rejected: the "
       "identifier must equal the attested value.",
       kCaps},
      [](CaseContext& ctx) {
        std::string lower = ctx.identity(0).serial;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        need_that(lower != ctx.identity(0).serial, "the serial has letters");
        return expect_rejected(
            attest_with(ctx, edited([](CaseContext&, sim::LeafSpec s) { return s; }), lower));
      },
      kOneDevice));

  out.push_back(apple_case(
      {kAttestedKeyIssued, "The attested key is issued its certificate", "key binding", Level::Must,
       "After a genuine attestation of a P-384 key K, finalizing with a CSR for K issues a "
       "certificate (the honest variant of the key-binding refusals).",
       kCaps},
      [](CaseContext& ctx) {
        pki::PrivateKey attested = device_key();
        const Bound b = bind_and_finalize(ctx, attested.public_key(), attested);
        if (b.rejected_at_challenge)
          return Verdict::fail("the genuine attestation accepted", b.challenge_outcome);
        const FinalizeOutcome& f = b.finalized;
        return check(f.order.status == "valid" && f.order.certificate.has_value(),
                     "order \"valid\" with a certificate URL",
                     "order \"" + f.order.status + "\" " + describe(f.answer));
      },
      kOneDevice));

  out.push_back(refusal_case(
      {"apple-key-binding-csr-key", "The CSR key must be the attested key", "key binding",
       Level::Must,
       "After a genuine attestation of key K, finalizing with a CSR for another key is refused and "
       "issues nothing (a hijacked request gets no certificate).",
       kCaps},
      [](CaseContext& ctx) {
        pki::PrivateKey attested = device_key();
        pki::PrivateKey other = device_key();
        return csr_refused(bind_and_finalize(ctx, attested.public_key(), other));
      },
      kOneDevice, kAttestedKeyIssued));

  out.push_back(refusal_case(
      {"apple-key-binding-rsa-csr", "An RSA CSR after an EC attestation is refused", "key binding",
       Level::Must,
       "After a genuine attestation of a P-384 key, finalizing with an RSA-2048 CSR is refused and "
       "issues nothing.",
       kCaps},
      [](CaseContext& ctx) {
        pki::PrivateKey attested = device_key();
        pki::PrivateKey rsa = device_key(pki::KeySpec::rsa(2048));
        return csr_refused(bind_and_finalize(ctx, attested.public_key(), rsa));
      },
      kOneDevice, kAttestedKeyIssued));

  out.push_back(apple_case(
      {"apple-key-p256", "P-256 Secure Enclave keys are accepted", "key binding", Level::Must,
       "A genuine attestation of a P-256 key (what Secure Enclaves also make) validates and is "
       "issued a certificate for that key.",
       kCaps},
      [](CaseContext& ctx) {
        pki::PrivateKey key = device_key(pki::KeySpec::p256());
        Enrolled e = enroll(ctx, 0, key);
        return check(e.leaf.public_key().equals(key.public_key()),
                     "a certificate for the P-256 key", "another key");
      },
      kOneDevice));

  out.push_back(apple_case(
      {kGenuineMac, "A genuine Mac attestation validates", "x5c", Level::Must,
       "An attestation of an Apple silicon Mac (SIP, secure boot and kernel extension flags well "
       "formed) whose x5c chains to the configured Apple root, fresh for the token and for the "
       "ordered serial, validates the challenge.",
       kCaps},
      genuine_attestation_accepted, kOneMac));

  out.push_back(refusal_case(
      {"apple-malformed-posture-flag", "A malformed Apple extension is refused",
       "1.2.840.113635.100.8.13.1", Level::Must,
       "An attestation whose SIP flag extension is not exactly one 0x00/0x01 byte is rejected as a "
       "malformed statement.",
       kCaps},
      [](CaseContext& ctx) {
        return expect_rejected(attest_with(ctx, edited([](CaseContext&, sim::LeafSpec s) {
                                             return sim::forge::with_extension_value(
                                                 std::move(s), sim::kOidSipStatus,
                                                 Bytes{0x01, 0x01});
                                           })));
      },
      kOneMac, kGenuineMac));

  out.push_back(apple_case(
      {"apple-key-rsa-attested",
       "An attested RSA key is refused",
       "key binding",
       Level::Policy,
       "An attestation certifying an RSA key (Secure Enclave keys are EC P-256/P-384) yields no "
       "certificate.",
       {"device-attest-01", "posture-policy"}},
      [](CaseContext& ctx) {
        pki::PrivateKey rsa = device_key(pki::KeySpec::rsa(2048));
        return nothing_issued(bind_and_finalize(ctx, rsa.public_key(), rsa));
      },
      kOneDevice));

  out.push_back(apple_case(
      {"apple-key-p521-attested",
       "An attested P-521 key is refused",
       "key binding",
       Level::Policy,
       "An attestation certifying a P-521 key (not a Secure Enclave curve) yields no certificate.",
       {"device-attest-01", "posture-policy"}},
      [](CaseContext& ctx) {
        pki::PrivateKey key = device_key(pki::KeySpec::p521());
        return nothing_issued(bind_and_finalize(ctx, key.public_key(), key));
      },
      kOneDevice));
}

}  // namespace attestlab::conformance

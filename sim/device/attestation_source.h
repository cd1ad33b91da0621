// Where an enrolling device gets the attestation statement (the device-attest-01 "attObj")
// it sends for its certificate key and the challenge token: ONE source an enrollment, so
// the enrollment steps read as the honest Apple flow and misbehaviour is data
// (ClientFaults), like the forged handshakes of BoringSSL's test runner.
//
//  - HonestAttestationSource: Apple's answer, AttestationService::key_attestation(device,
//    key, token) encoded as {"fmt": "apple", "attStmt": {"x5c": [leaf, intermediate]}}.
//    Throttle and outage semantics are the service's (attestation_service.h).
//  - ForgedAttestationSource: what the attestation knobs of ClientFaults make a device
//    send instead. Each knob forges one detail and leaves the rest genuine:
//      stale_token         Apple's answer for the token of the previous challenge (or a
//                          made-up earlier token when there was none);
//      reused_attestation  the attObj sent for the previous enrollment of the same key,
//                          byte for byte; without one it falls back to stale_token (noted);
//      wrong_key_attested  Apple's answer for another, new Secure Enclave key;
//      omit_freshness      the honest leaf without the freshness extension,
//      expired_attestation the honest leaf with a validity that ended a day ago,
//      rogue_root_chain    the honest leaf issued by a CA that only copies Apple's names:
//                          these three re-sign the leaf Apple would issue
//                          (AppleCa::honest_leaf with key_attestation_freshness(token),
//                          the honest path's freshness) through the forge:: helpers and
//                          AppleCa::issue_leaf, without asking Apple;
//      wrong_fmt           "fmt": "android-key";
//      empty_x5c           "attStmt": {"x5c": []};
//      malformed_cbor      the CBOR cut in half.
//    Knobs combine in that order (the token and key first, then the leaf, then the object).
//
// make_attestation_source() chooses: the honest source when no attestation knob is on.
//
// Threads: a source is used on the enrolling thread only, like the AttestationService and
// Device it is given. Errors are values: statement() never throws.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "sim/device/apple_ca.h"
#include "sim/device/attestation_service.h"
#include "sim/device/client_faults.h"
#include "sim/device/device.h"
#include "sim/device/device_keychain.h"
#include "sim/device/secure_enclave.h"

namespace attestlab::sim {

// What a device sends as its attestation, and how it came about.
struct AttestationStatement {
  std::string att_obj_b64u;  // the "attObj" value: base64url of the CBOR object
  bool from_cache = false;   // Apple answered from its throttle cache
};

class AttestationSource {
 public:
  virtual ~AttestationSource() = default;

  // The statement for `key` (a key in device.secure_enclave(), the certificate key)
  // answering the challenge `token`. Errors: Apple's (outage, a device that cannot
  // attest), the Secure Enclave's for an unknown key, kErrorClientUsage for a forgery
  // that lacks what it needs.
  virtual Result<AttestationStatement> statement(Device& device, KeyHandle key,
                                                 const std::string& token) = 0;

  // The key the device must keep from its earlier enrollment for this source, given the
  // key of the installed identity (invalid when none); nullopt = no need (a renewal may
  // still keep its key). Only reused_attestation has one: the key it attested last.
  virtual std::optional<KeyHandle> key_to_keep(KeyHandle installed) const {
    (void)installed;
    return std::nullopt;
  }

  // How a forger fell back when it could not forge as asked, in order (kept even when
  // statement() then failed). Empty for the honest source.
  const std::vector<std::string>& notes() const { return notes_; }

 protected:
  std::vector<std::string> notes_;
};

// Apple's answer. `apple` must outlive the source.
class HonestAttestationSource final : public AttestationSource {
 public:
  explicit HonestAttestationSource(AttestationService& apple) : apple_(apple) {}

  Result<AttestationStatement> statement(Device& device, KeyHandle key,
                                         const std::string& token) override;

 private:
  AttestationService& apple_;
};

// What a forging device needs besides Apple (see the file comment).
struct ForgeryInputs {
  // The mock Apple CA behind the device's AttestationService: the leaf forgeries sign
  // with it; without it they fail with kErrorClientUsage.
  std::shared_ptr<const AppleCa> apple_ca;
  // The time of the leaf forgeries (notBefore, expiry); nullptr = SystemClock.
  std::shared_ptr<const Clock> clock;
  // The attestation the device sent last for this payload, if any.
  std::optional<SentAttestation> earlier;
};

// The attestation knobs of `faults` (see the file comment); the others are ignored.
// `apple` must outlive the source.
class ForgedAttestationSource final : public AttestationSource {
 public:
  ForgedAttestationSource(const ClientFaults& faults, AttestationService& apple,
                          ForgeryInputs inputs);

  Result<AttestationStatement> statement(Device& device, KeyHandle key,
                                         const std::string& token) override;
  std::optional<KeyHandle> key_to_keep(KeyHandle installed) const override;

 private:
  bool forges_leaf() const;
  std::string attested_token(const std::string& token) const;
  Result<KeyHandle> attested_key(Device& device, KeyHandle key) const;
  Result<AttestationChain> forged_leaf(Device& device, KeyHandle key,
                                       const std::string& token) const;
  std::string encoded(const AttestationChain& chain) const;

  ClientFaults faults_;
  AttestationService& apple_;
  ForgeryInputs inputs_;
};

// True when any knob that ForgedAttestationSource reads is on.
bool forges_attestation(const ClientFaults& faults);

// The source an enrollment with these faults uses: ForgedAttestationSource when
// forges_attestation(faults), else HonestAttestationSource. `apple` must outlive it.
std::unique_ptr<AttestationSource> make_attestation_source(const ClientFaults& faults,
                                                           AttestationService& apple,
                                                           ForgeryInputs inputs);

}  // namespace attestlab::sim

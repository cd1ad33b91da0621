#include "sim/device/attestation_source.h"

#include <utility>

#include "client/acme_types.h"
#include "core/bytes.h"
#include "sim/device/apple_format.h"
#include "sim/device/attestation.h"
#include "sim/device/forgery.h"

namespace attestlab::sim {

Result<AttestationStatement> HonestAttestationSource::statement(Device& device, KeyHandle key,
                                                                const std::string& token) {
  auto attestation = apple_.key_attestation(device, key, token);
  if (!attestation) return attestation.error();
  return AttestationStatement{apple_attobj_b64u(attestation->chain), attestation->from_cache};
}

ForgedAttestationSource::ForgedAttestationSource(const ClientFaults& faults,
                                                 AttestationService& apple, ForgeryInputs inputs)
    : faults_(faults), apple_(apple), inputs_(std::move(inputs)) {}

std::optional<KeyHandle> ForgedAttestationSource::key_to_keep(KeyHandle installed) const {
  if (!faults_.reused_attestation) return std::nullopt;
  return inputs_.earlier ? inputs_.earlier->key : installed;
}

Result<AttestationStatement> ForgedAttestationSource::statement(Device& device, KeyHandle key,
                                                                const std::string& token) {
  AttestationStatement out;
  if (faults_.reused_attestation) {
    const std::optional<SentAttestation>& earlier = inputs_.earlier;
    if (earlier && earlier->key == key && earlier->token != token) {
      out.att_obj_b64u = earlier->att_obj_b64u;
      return out;
    }
    notes_.push_back(
        "reused_attestation: no earlier attestation of this key; sent one made for an "
        "earlier (made-up) challenge token instead");
  }

  const std::string attested = attested_token(token);
  auto attested_by = attested_key(device, key);
  if (!attested_by) return attested_by.error();

  AttestationChain chain;
  if (forges_leaf()) {
    auto forged = forged_leaf(device, *attested_by, attested);
    if (!forged) return forged.error();
    chain = std::move(*forged);
  } else {
    auto genuine = apple_.key_attestation(device, *attested_by, attested);
    if (!genuine) return genuine.error();
    out.from_cache = genuine->from_cache;
    chain = std::move(genuine->chain);
  }
  out.att_obj_b64u = encoded(chain);
  return out;
}

bool ForgedAttestationSource::forges_leaf() const {
  return faults_.rogue_root_chain || faults_.omit_freshness || faults_.expired_attestation;
}

// stale_token (and reused_attestation without an attestation to replay): the token of
// the previous challenge, or a made-up one when there was none or it is this one.
std::string ForgedAttestationSource::attested_token(const std::string& token) const {
  if (!faults_.stale_token && !faults_.reused_attestation) return token;
  const std::optional<SentAttestation>& earlier = inputs_.earlier;
  return earlier && earlier->token != token ? earlier->token : random_token(32);
}

// wrong_key_attested: another Secure Enclave key of the same kind; the CSR keeps `key`.
Result<KeyHandle> ForgedAttestationSource::attested_key(Device& device, KeyHandle key) const {
  if (!faults_.wrong_key_attested) return key;
  auto pub = device.secure_enclave().public_key(key);
  if (!pub) return pub.error();
  return device.secure_enclave().generate_key(pub->spec());
}

// The leaf Apple would issue now, edited by the leaf knobs and signed without asking Apple.
Result<AttestationChain> ForgedAttestationSource::forged_leaf(Device& device, KeyHandle key,
                                                              const std::string& token) const {
  if (!inputs_.apple_ca) {
    return Error::make(client::kErrorClientUsage,
                       "faults rogue_root_chain, omit_freshness and expired_attestation need "
                       "EnrollOptions::apple_ca");
  }
  auto pub = device.secure_enclave().public_key(key);
  if (!pub) return pub.error();
  const std::int64_t now = (inputs_.clock ? inputs_.clock : SystemClock::instance())->now();
  LeafSpec spec =
      AppleCa::honest_leaf(*pub, device.attested_facts(), key_attestation_freshness(token), now);
  if (faults_.omit_freshness) spec = forge::without_extension(std::move(spec), kOidFreshnessCode);
  if (faults_.expired_attestation) spec = forge::expired(std::move(spec), now);
  if (faults_.rogue_root_chain) {
    auto rogue = forge::rogue_ca(*inputs_.apple_ca, now);
    if (!rogue) return rogue.error();
    return rogue->issue_leaf(spec);
  }
  return inputs_.apple_ca->issue_leaf(spec);
}

// The attestation object around `chain`, with the object knobs applied.
std::string ForgedAttestationSource::encoded(const AttestationChain& chain) const {
  AttestationObject object = apple_attestation_object(chain);
  if (faults_.wrong_fmt) object.fmt = "android-key";
  if (faults_.empty_x5c) object.x5c.clear();
  Bytes cbor = encode_attestation_object(object);
  if (faults_.malformed_cbor) cbor.resize(cbor.size() / 2);
  return base64url_encode(cbor);
}

bool forges_attestation(const ClientFaults& f) {
  return f.stale_token || f.reused_attestation || f.wrong_key_attested || f.rogue_root_chain ||
         f.omit_freshness || f.expired_attestation || f.wrong_fmt || f.empty_x5c ||
         f.malformed_cbor;
}

std::unique_ptr<AttestationSource> make_attestation_source(const ClientFaults& faults,
                                                           AttestationService& apple,
                                                           ForgeryInputs inputs) {
  if (!forges_attestation(faults)) return std::make_unique<HonestAttestationSource>(apple);
  return std::make_unique<ForgedAttestationSource>(faults, apple, std::move(inputs));
}

}  // namespace attestlab::sim

#include "sim/device/device_acme_wire.h"

#include <utility>
#include <vector>

#include "sim/device/device_acme.h"

namespace attestlab::sim {
namespace {

// The ClientIdentifier with its last character (before any '/') rotated through [0-9A-Z],
// so it stays a well-formed serial of "another device".
std::string other_identifier_for(const std::string& id) {
  static const std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (id.empty()) return "OTHERDEVICE1";
  std::string other = id;
  const std::size_t last =
      other.find('/') == std::string::npos ? other.size() - 1 : other.find('/') - 1;
  const std::size_t at = alphabet.find(other[last]);
  other[last] = alphabet[at == std::string::npos ? 0 : (at + 1) % alphabet.size()];
  return other;
}

// A value that differs from the order's identifier but is as plausible.
std::string mismatching_identifier(const std::string& id) {
  return other_identifier_for(id) + "X";
}

bool is_bad_nonce(const client::AcmeClient& client, const http::Response& response) {
  return response.status == 400 && client.last_problem() &&
         client.last_problem()->value("type", "") ==
             std::string(client::kAcmeErrorPrefix) + "badNonce";
}

// replay_nonce / wrong_jws_url: the POST goes out raw, so its answer is judged here.
ChallengeAnswer post_raw_challenge_answer(client::AcmeClient& client,
                                          const std::string& challenge_url,
                                          const std::string& authz_url, const Json& payload,
                                          const ClientFaults& faults, int bad_nonce_retries) {
  client::RawPostOptions raw;
  raw.reuse_nonce = faults.replay_nonce;
  if (faults.wrong_jws_url) raw.header_url = authz_url;
  auto response = client.post_raw(challenge_url, Json::object(), payload.dump(), raw);
  // A server that rejects valid nonces at random (Pebble) must not hide what
  // wrong_jws_url is about: retry badNonce like any client, except for the replay.
  for (int retry = 0; !faults.replay_nonce && retry < bad_nonce_retries && response &&
                      is_bad_nonce(client, *response);
       ++retry) {
    response = client.post_raw(challenge_url, Json::object(), payload.dump(), raw);
  }
  ChallengeAnswer answer;
  if (!response) {
    answer.error = response.error();
  } else if (response->status >= 400 && client.last_problem()) {
    answer.error = client::problem_to_error(*client.last_problem(), response->status);
    answer.problem = client.last_problem();
  } else if (response->status >= 400) {
    answer.error =
        Error::make(client::kErrorUnexpectedResponse,
                    "HTTP " + std::to_string(response->status) + " without a problem document",
                    response->status);
  }
  return answer;
}

}  // namespace

std::string ordered_identifier(const AcmePayload& payload, const ClientFaults& faults,
                               const std::string& other) {
  const std::string own = payload.client_identifier.value_or("");
  if (!faults.other_device_identifier) return own;
  return other.empty() ? other_identifier_for(own) : other;
}

Json challenge_payload(const std::string& att_obj, const ClientFaults& faults) {
  Json payload = {{"attObj", att_obj}};
  if (faults.payload_error_field) {
    payload["error"] = "attestation failed: the attestation service returned an error";
  }
  if (faults.unknown_payload_fields) {
    payload["attestlabUnknownMember"] = "ignore me";
    payload["x-vendor-extension"] = Json{{"nested", Json::array({1, 2, 3})}, {"flag", true}};
  }
  return payload;
}

ChallengeAnswer post_challenge_answer(client::AcmeClient& client, const std::string& challenge_url,
                                      const std::string& authz_url, const Json& payload,
                                      const ClientFaults& faults, int bad_nonce_retries) {
  if (faults.replay_nonce || faults.wrong_jws_url) {
    return post_raw_challenge_answer(client, challenge_url, authz_url, payload, faults,
                                     bad_nonce_retries);
  }
  ChallengeAnswer answer;
  auto answered = client.respond_challenge(challenge_url, payload);
  if (answered) {
    answer.status = answered->status;
  } else {
    answer.error = answered.error();
    if (answered.error().status != 0) answer.problem = client.last_problem();
  }
  return answer;
}

pki::CsrSpec csr_spec(const AcmePayload& payload, const std::string& identifier,
                      const ClientFaults& faults) {
  pki::CsrSpec spec = device_csr_spec(payload, identifier);
  // The request names the other device throughout, so the subject's ClientIdentifier (the
  // usual CN) becomes the ordered identifier too.
  if (faults.other_device_identifier) {
    for (auto& [name, value] : spec.subject)
      if (value == payload.client_identifier.value_or("")) value = identifier;
  }
  if (faults.privacy_preserving_csr) spec.sans.permanent_ids.clear();
  if (faults.permanent_id_san_mismatch && !faults.privacy_preserving_csr) {
    spec.sans.permanent_ids = {{mismatching_identifier(identifier), std::nullopt}};
  }
  return spec;
}

Result<DeviceKey> csr_signing_key(Device& device, DeviceKey certificate_key,
                                  const ClientFaults& faults) {
  if (!faults.csr_key_swapped && !faults.rsa_csr) return certificate_key;
  auto swapped = device.software_keystore().generate_key(faults.rsa_csr ? pki::KeySpec::rsa(2048)
                                                                        : pki::KeySpec::p256());
  if (!swapped) return swapped.error();
  return DeviceKey{*swapped, false};
}

}  // namespace attestlab::sim

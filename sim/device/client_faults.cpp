#include "sim/device/client_faults.h"

#include <utility>

namespace attestlab::sim {
namespace {

using Knob = std::pair<const char*, bool ClientFaults::*>;

const std::vector<Knob>& knobs() {
  static const std::vector<Knob> k = {
      {"stale_token", &ClientFaults::stale_token},
      {"reused_attestation", &ClientFaults::reused_attestation},
      {"csr_key_swapped", &ClientFaults::csr_key_swapped},
      {"rogue_root_chain", &ClientFaults::rogue_root_chain},
      {"omit_freshness", &ClientFaults::omit_freshness},
      {"other_device_identifier", &ClientFaults::other_device_identifier},
      {"rsa_csr", &ClientFaults::rsa_csr},
      {"malformed_cbor", &ClientFaults::malformed_cbor},
      {"wrong_fmt", &ClientFaults::wrong_fmt},
      {"empty_x5c", &ClientFaults::empty_x5c},
      {"payload_error_field", &ClientFaults::payload_error_field},
      {"unknown_payload_fields", &ClientFaults::unknown_payload_fields},
      {"expired_attestation", &ClientFaults::expired_attestation},
      {"wrong_key_attested", &ClientFaults::wrong_key_attested},
      {"permanent_id_san_mismatch", &ClientFaults::permanent_id_san_mismatch},
      {"privacy_preserving_csr", &ClientFaults::privacy_preserving_csr},
      {"replay_nonce", &ClientFaults::replay_nonce},
      {"wrong_jws_url", &ClientFaults::wrong_jws_url},
  };
  return k;
}

}  // namespace

const std::vector<std::string>& client_fault_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, member] : knobs()) n.emplace_back(name);
    return n;
  }();
  return names;
}

Result<void> set_client_fault(ClientFaults& faults, const std::string& name, bool on) {
  for (const auto& [knob, member] : knobs()) {
    if (name == knob) {
      faults.*member = on;
      return ok();
    }
  }
  return Error::make("malformed", "unknown client fault \"" + name + "\"");
}

std::vector<std::string> enabled_client_faults(const ClientFaults& faults) {
  std::vector<std::string> on;
  for (const auto& [name, member] : knobs())
    if (faults.*member) on.emplace_back(name);
  return on;
}

}  // namespace attestlab::sim

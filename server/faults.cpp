// server::ServerFaults registry: knob names, the process-wide instance and its start-up
// initialisation from ATTESTLAB_SERVER_FAULTS. Compiles to nothing in production builds.
#include "server/faults.h"

#ifdef ATTESTLAB_FAULTS

#include <cstdlib>
#include <iostream>
#include <utility>

namespace attestlab::server {
namespace {

struct Knob {
  const char* name;
  bool ServerFaults::*flag;
};

// Declaration order of faults.h; one line a knob, so a new knob is one new line here.
#define ATTESTLAB_KNOB(name) Knob{#name, &ServerFaults::name}
const Knob kKnobs[] = {
    ATTESTLAB_KNOB(skip_nonce_check),
    ATTESTLAB_KNOB(accept_reused_nonce),
    ATTESTLAB_KNOB(skip_url_check),
    ATTESTLAB_KNOB(accept_alg_none),
    ATTESTLAB_KNOB(skip_jws_signature_check),
    ATTESTLAB_KNOB(skip_content_type_check),
    ATTESTLAB_KNOB(no_replay_nonce_on_errors),
    ATTESTLAB_KNOB(new_account_200),
    ATTESTLAB_KNOB(missing_location),
    ATTESTLAB_KNOB(wrong_error_type),
    ATTESTLAB_KNOB(skip_contact_validation),
    ATTESTLAB_KNOB(skip_eab_check),
    ATTESTLAB_KNOB(skip_account_ownership_check),
    ATTESTLAB_KNOB(skip_identifier_syntax_check),
    ATTESTLAB_KNOB(allow_finalize_before_ready),
    ATTESTLAB_KNOB(skip_csr_identifier_check),
    ATTESTLAB_KNOB(accept_csr_with_account_key),
    ATTESTLAB_KNOB(skip_challenge_validation),
    ATTESTLAB_KNOB(skip_revocation_authorization),
    ATTESTLAB_KNOB(no_retry_after),
    ATTESTLAB_KNOB(skip_chain_verification),
    ATTESTLAB_KNOB(trust_any_root),
    ATTESTLAB_KNOB(skip_freshness_check),
    ATTESTLAB_KNOB(accept_missing_freshness),
    ATTESTLAB_KNOB(skip_identifier_match),
    ATTESTLAB_KNOB(skip_csr_key_binding),
    ATTESTLAB_KNOB(skip_permanent_id_san_check),
    ATTESTLAB_KNOB(accept_rsa_attestation),
    ATTESTLAB_KNOB(ignore_attestation_validity),
    ATTESTLAB_KNOB(ignore_inventory),
    ATTESTLAB_KNOB(ignore_posture),
    ATTESTLAB_KNOB(accept_user_enrollment),
    ATTESTLAB_KNOB(keep_superseded_certificates),
    ATTESTLAB_KNOB(accept_unknown_format),
    ATTESTLAB_KNOB(reject_unknown_payload_fields),
    ATTESTLAB_KNOB(same_renewal_window),
};
#undef ATTESTLAB_KNOB

// A knob missing from kKnobs would be unreachable from --fault; every knob is one bool.
static_assert(sizeof(kKnobs) / sizeof(kKnobs[0]) == sizeof(ServerFaults) / sizeof(bool),
              "kKnobs must list every ServerFaults member");

ServerFaults from_environment() {
  ServerFaults faults;
  const char* env = std::getenv("ATTESTLAB_SERVER_FAULTS");
  if (env == nullptr) return faults;
  std::string list = env;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(start, comma - start);
    // An unknown name is reported, not fatal: the process may not even be a server.
    if (!name.empty() && !set_server_fault(faults, name)) {
      std::cerr << "attestlab: ATTESTLAB_SERVER_FAULTS: unknown fault \"" << name << "\" ignored\n";
    }
    start = comma + 1;
  }
  return faults;
}

}  // namespace

const std::vector<std::string>& server_fault_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& knob : kKnobs) out.emplace_back(knob.name);
    return out;
  }();
  return names;
}

Result<void> set_server_fault(ServerFaults& faults, const std::string& name) {
  for (const auto& knob : kKnobs) {
    if (name == knob.name) {
      faults.*knob.flag = true;
      return ok();
    }
  }
  return Error::make("malformed", "unknown server fault \"" + name + "\"");
}

ServerFaults& server_faults() {
  static ServerFaults faults = from_environment();
  return faults;
}

std::vector<std::string> enabled_server_faults() {
  std::vector<std::string> names;
  for (const auto& knob : kKnobs) {
    if (server_faults().*knob.flag) names.emplace_back(knob.name);
  }
  return names;
}

}  // namespace attestlab::server

#endif  // ATTESTLAB_FAULTS

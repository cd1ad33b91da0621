// server::ServerFaults: each knob makes the server skip or break exactly one check, so the
// harness's verdicts can be measured (does some conformance case catch it?). Exists only in
// builds configured with -DATTESTLAB_FAULTS=ON; the production build has no ServerFaults
// and ATTESTLAB_FAULT(...) is the constant false there, so no check can be switched off.
//
// Knobs are set at start-up (`attestlab serve --fault NAME`, repeatable, or the environment
// variable ATTESTLAB_SERVER_FAULTS="a,b") and read without locks afterwards.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace attestlab::server {

#ifdef ATTESTLAB_FAULTS
struct ServerFaults {
  // skip_nonce_check, if true, accepts requests whatever their nonce (missing or unknown).
  bool skip_nonce_check = false;
  // accept_reused_nonce, if true, accepts a nonce again after it was used once.
  bool accept_reused_nonce = false;
  // skip_url_check, if true, ignores the JWS protected header's "url".
  bool skip_url_check = false;
  // accept_alg_none, if true, accepts "alg": "none" JWS without a signature check.
  bool accept_alg_none = false;
  // skip_jws_signature_check, if true, accepts a JWS whose signature does not verify.
  bool skip_jws_signature_check = false;
  // skip_content_type_check, if true, accepts POST bodies of any Content-Type.
  bool skip_content_type_check = false;
  // no_replay_nonce_on_errors, if true, omits Replay-Nonce from error responses.
  bool no_replay_nonce_on_errors = false;
  // new_account_200, if true, answers a newly created account with 200 instead of 201.
  bool new_account_200 = false;
  // missing_location, if true, omits the Location header of new accounts and orders.
  bool missing_location = false;
  // wrong_error_type, if true, reports every problem as "malformed".
  bool wrong_error_type = false;
  // skip_contact_validation, if true, accepts any contact URI.
  bool skip_contact_validation = false;
  // skip_eab_check, if true, creates accounts without external account binding when
  // --eab-required is set.
  bool skip_eab_check = false;
  // skip_account_ownership_check, if true, serves and modifies other accounts' objects.
  bool skip_account_ownership_check = false;
  // skip_identifier_syntax_check, if true, accepts malformed permanent-identifier and
  // hardware-module values.
  bool skip_identifier_syntax_check = false;
  // allow_finalize_before_ready, if true, finalizes orders that are still pending.
  bool allow_finalize_before_ready = false;
  // skip_csr_identifier_check, if true, issues for whatever names the CSR carries.
  bool skip_csr_identifier_check = false;
  // accept_csr_with_account_key, if true, accepts a CSR whose key is the account key.
  bool accept_csr_with_account_key = false;
  // skip_http01_validation, if true, marks http-01 and dns-01 challenges valid unchecked.
  bool skip_challenge_validation = false;
  // skip_revocation_authorization, if true, lets any account revoke any certificate.
  bool skip_revocation_authorization = false;
  // no_retry_after, if true, omits Retry-After while an object is processing.
  bool no_retry_after = false;
  // skip_chain_verification, if true, accepts an attestation chain without verifying it.
  bool skip_chain_verification = false;
  // trust_any_root, if true, accepts a chain ending at any self-signed root.
  bool trust_any_root = false;
  // skip_freshness_check, if true, does not compare the freshness code with the token.
  bool skip_freshness_check = false;
  // accept_missing_freshness, if true, accepts a leaf without a freshness code (as
  // step-ca does) while still comparing one that is present.
  bool accept_missing_freshness = false;
  // skip_identifier_match, if true, does not compare the attested serial/UDID with the
  // order's identifier.
  bool skip_identifier_match = false;
  // skip_csr_key_binding, if true, does not require the CSR key to equal the attested key.
  bool skip_csr_key_binding = false;
  // skip_permanent_id_san_check, if true, does not compare the CSR's permanentIdentifier
  // SAN with the order's identifier.
  bool skip_permanent_id_san_check = false;
  // accept_rsa_attestation, if true, accepts attested RSA keys and curves outside the
  // allowlist.
  bool accept_rsa_attestation = false;
  // ignore_attestation_validity, if true, accepts expired or not-yet-valid leaves and
  // attestations older than the maximum age.
  bool ignore_attestation_validity = false;
  // ignore_inventory, if true, skips the inventory check.
  bool ignore_inventory = false;
  // ignore_posture, if true, skips every posture rule (OS floors, SIP, secure boot, kexts).
  bool ignore_posture = false;
  // accept_user_enrollment, if true, accepts attestations without serial/UDID.
  bool accept_user_enrollment = false;
  // keep_superseded_certificates, if true, does not revoke a re-enrolled device's old
  // certificates.
  bool keep_superseded_certificates = false;
  // accept_unknown_format, if true, accepts an attestation "fmt" other than "apple" by
  // reading its attStmt as if it were Apple's.
  bool accept_unknown_format = false;
  // reject_unknown_payload_fields, if true, refuses challenge payloads with members
  // other than attObj (the draft says they MUST be ignored).
  bool reject_unknown_payload_fields = false;
  // same_renewal_window, if true, suggests every certificate of one lifetime the same ARI
  // renewal window (RFC 9773 §4.2) instead of spreading them by serial.
  bool same_renewal_window = false;
};

// Every knob name, in declaration order.
const std::vector<std::string>& server_fault_names();
// Switches a knob on; unknown names → Error("malformed").
Result<void> set_server_fault(ServerFaults& faults, const std::string& name);
// The process-wide knobs (set once at start-up, then read-only).
ServerFaults& server_faults();
// Names of the knobs switched on in server_faults(), in declaration order.
std::vector<std::string> enabled_server_faults();

#define ATTESTLAB_FAULT(knob) (::attestlab::server::server_faults().knob)
#else
#define ATTESTLAB_FAULT(knob) false
#endif

}  // namespace attestlab::server

// Every conformance case, built once. Cases live in conformance/cases_*.cpp, one file a
// spec area; each file contributes through one add_*_cases function listed in
// registry.cpp (explicit calls, not static registration, so a static library cannot drop
// a file's cases). Thread-safe (built on first use, immutable afterwards).
#pragma once

#include "conformance/case.h"

namespace attestlab::conformance {

// All cases, sorted by id. Ids are unique (checked by registry_test).
const CaseList& all_cases();

// Case builders of the cases_*.cpp files.
void add_directory_nonce_cases(CaseList& out);
void add_jws_cases(CaseList& out);
void add_account_cases(CaseList& out);
void add_eab_cases(CaseList& out);
void add_order_cases(CaseList& out);
void add_challenge_cases(CaseList& out);
void add_finalize_cases(CaseList& out);
void add_revocation_cases(CaseList& out);
void add_key_change_cases(CaseList& out);
void add_status_cases(CaseList& out);
void add_error_cases(CaseList& out);
void add_post_as_get_cases(CaseList& out);
void add_device_attest_cases(CaseList& out);
void add_apple_cases(CaseList& out);
void add_apple_device_cases(CaseList& out);
void add_mda_policy_cases(CaseList& out);
void add_ari_cases(CaseList& out);       // cases_ari.cpp, RFC 9773
void add_profiles_cases(CaseList& out);  // cases_profiles.cpp, draft-ietf-acme-profiles

}  // namespace attestlab::conformance

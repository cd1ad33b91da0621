#include "conformance/registry.h"

#include <algorithm>

namespace attestlab::conformance {

const CaseList& all_cases() {
  static const CaseList cases = [] {
    CaseList out;
    add_directory_nonce_cases(out);
    add_jws_cases(out);
    add_account_cases(out);
    add_eab_cases(out);
    add_order_cases(out);
    add_challenge_cases(out);
    add_finalize_cases(out);
    add_revocation_cases(out);
    add_key_change_cases(out);
    add_status_cases(out);
    add_error_cases(out);
    add_post_as_get_cases(out);
    add_device_attest_cases(out);
    add_apple_cases(out);
    add_apple_device_cases(out);
    add_mda_policy_cases(out);
    add_ari_cases(out);
    add_profiles_cases(out);
    std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.id < b.id; });
    return out;
  }();
  return cases;
}

}  // namespace attestlab::conformance

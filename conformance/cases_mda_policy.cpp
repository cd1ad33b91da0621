#include "conformance/registry.h"

namespace attestlab::conformance {

void add_mda_policy_cases(CaseList& /*out*/) {}

}  // namespace attestlab::conformance

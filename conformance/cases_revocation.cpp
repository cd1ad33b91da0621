#include "conformance/registry.h"

namespace attestlab::conformance {

void add_revocation_cases(CaseList& /*out*/) {}

}  // namespace attestlab::conformance

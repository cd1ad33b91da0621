#include "conformance/registry.h"

namespace attestlab::conformance {

void add_status_cases(CaseList& /*out*/) {}

}  // namespace attestlab::conformance

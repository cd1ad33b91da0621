#include "conformance/registry.h"

namespace attestlab::conformance {

void add_error_cases(CaseList& /*out*/) {}

}  // namespace attestlab::conformance

#include "conformance/registry.h"

namespace attestlab::conformance {

void add_apple_cases(CaseList& /*out*/) {}

}  // namespace attestlab::conformance

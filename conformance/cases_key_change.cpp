#include "conformance/registry.h"

namespace attestlab::conformance {

void add_key_change_cases(CaseList& /*out*/) {}

}  // namespace attestlab::conformance

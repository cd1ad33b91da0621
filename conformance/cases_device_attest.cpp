#include "conformance/registry.h"

namespace attestlab::conformance {

void add_device_attest_cases(CaseList& /*out*/) {}

}  // namespace attestlab::conformance

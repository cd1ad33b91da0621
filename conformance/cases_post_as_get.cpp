#include "conformance/registry.h"

namespace attestlab::conformance {

void add_post_as_get_cases(CaseList& /*out*/) {}

}  // namespace attestlab::conformance

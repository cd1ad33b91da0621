// The fake DNS for zero-setup runs moved to client/fake_dns.h (the load generator uses it
// too); conformance code keeps using it under its old name.
#pragma once

#include "client/fake_dns.h"
#include "core/child_process.h"

namespace attestlab::conformance {

using client::FakeDns;

}  // namespace attestlab::conformance

// Target profiles moved to client/target_profile.h (the load generator takes them too);
// conformance code keeps using them under their old names.
#pragma once

#include "client/target_profile.h"

namespace attestlab::conformance {

using client::basic_target;
using client::DeviceSetup;
using client::EabCredentials;
using client::EabKey;
using client::load_target_profile;
using client::parse_host_port;
using client::parse_target_profile;
using client::TargetProfile;
using client::Timing;

}  // namespace attestlab::conformance

// Target profiles (client/target_profile.h), the JSON a user points `attestlab conform
// --profile` at: the strict parser, then what the runner asks of the result. Relative
// paths are resolved against a fixed base and never opened here. Input: JSON text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/target_profile.h"

using namespace attestlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto doc = parse_json(text);
  if (!doc) {
    (void)client::parse_host_port(text);
    return 0;
  }
  auto profile = client::parse_target_profile(*doc, "/profiles");
  if (!profile) return 0;
  for (const auto& capability : profile->effective_capabilities()) {
    (void)profile->missing(capability);
  }
  (void)profile->has("device-attest-01");
  return 0;
}

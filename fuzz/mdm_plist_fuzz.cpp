// MDM messages as the emulator's server (check-in and command endpoints) and agent
// (commands) read them (sim/mdm/mdm_messages.h): plist text (XML or binary) into JSON,
// then the check-in, command report, command and ErrorChain parsers. Input: a request
// or response body as sent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/mdm/mdm_messages.h"
#include "sim/mdm/mdm_plist.h"

using namespace attestlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto dict = sim::plist_to_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!dict) return 0;
  if (auto checkin = sim::mdm::parse_checkin(*dict)) (void)sim::mdm::checkin_to_plist(*checkin);
  if (auto report = sim::mdm::parse_report(*dict)) {
    (void)sim::mdm::describe_error_chain(report->error_chain);
    (void)sim::mdm::report_to_plist(*report);
  }
  if (auto command = sim::mdm::parse_command(*dict)) (void)sim::mdm::command_to_plist(*command);
  if (const Json* chain = sim::plist_array(*dict, "ErrorChain")) {
    (void)sim::mdm::parse_error_chain(*chain);
  }
  // What the emulator writes back must read again (XML and binary).
  (void)sim::plist_to_json(sim::json_to_plist_xml(*dict));
  (void)sim::plist_to_json(sim::json_to_plist_binary(*dict));
  return 0;
}

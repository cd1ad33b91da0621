// Scenario documents (scenarios/scenario.h): the strict parser every scenario file and
// `attestlab scenario --file` goes through, then the planner that turns a parsed
// scenario into devices and inventory (what the engine would run). Input: JSON text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "scenarios/plan.h"
#include "scenarios/scenario.h"

using namespace attestlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto scenario = scenarios::parse_scenario_text(text, "fuzz.json");
  if (!scenario) return 0;
  std::vector<scenarios::Scenario> list{*scenario};
  (void)scenarios::merged_assumed_policy(list);
  auto plans = scenarios::plan_run(list, 1);
  (void)scenarios::inventory_json(plans);
  return 0;
}

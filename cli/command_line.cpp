#include "cli/command_line.h"

namespace attestlab::cli {

std::string command_line_of(const std::string& prefix, const CLI::App& command) {
  std::string line = prefix;
  for (const auto* opt : command.get_options()) {
    if (opt->count() == 0 || opt->get_name() == "--help") continue;
    if (opt->results().empty() || opt->get_expected_min() == 0) {  // a flag
      line += " " + opt->get_name();
      continue;
    }
    for (const auto& v : opt->results()) line += " " + opt->get_name() + (v.empty() ? "" : " " + v);
  }
  return line;
}

}  // namespace attestlab::cli

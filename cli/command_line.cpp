#include "cli/command_line.h"

namespace attestlab::cli {

std::string command_line_of(const std::string& prefix, const CLI::App& command,
                            const std::string& positional) {
  std::string line = prefix;
  if (!positional.empty()) line += " " + positional;
  for (const auto* opt : command.get_options()) {
    const std::string& name = opt->get_name();
    // Positionals have names without a dash; the caller places them (positional above).
    if (opt->count() == 0 || name == "--help" || name.empty() || name[0] != '-') continue;
    const bool flag = opt->results().empty() || opt->get_expected_min() == 0;
    if (flag) {
      line += " " + name;
      continue;
    }
    for (const auto& v : opt->results()) line += " " + name + (v.empty() ? "" : " " + v);
  }
  return line;
}

}  // namespace attestlab::cli

#include "cli/server_faults_option.h"

#include "server/faults.h"

namespace attestlab::cli {

std::optional<std::string> enable_server_faults(const std::vector<std::string>& names,
                                                const std::string& option, bool list_known) {
#ifdef ATTESTLAB_FAULTS
  for (const auto& name : names) {
    if (server::set_server_fault(server::server_faults(), name)) continue;
    std::string message = "unknown " + option + " \"" + name + "\"";
    if (list_known) {
      message += "; known faults:";
      for (const auto& n : server::server_fault_names()) message += " " + n;
    }
    return message;
  }
  return std::nullopt;
#else
  (void)list_known;
  if (names.empty()) return std::nullopt;
  return option + " needs a build with -DATTESTLAB_FAULTS=ON";
#endif
}

}  // namespace attestlab::cli

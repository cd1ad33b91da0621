// The `--fault NAME` option (repeatable) of `serve`, `scenario run` and `conform`
// (`--server-fault`): switches on server::ServerFaults knobs (server/faults.h) for every
// server this process starts afterwards. Builds without -DATTESTLAB_FAULTS have no knobs.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace attestlab::cli {

// Sets every named knob. On success nullopt; otherwise the usage message for the first
// problem, naming `option` as the user spelled it:
//   unknown --fault "NAME"[; known faults: a b ...]   (the list when list_known)
//   --fault needs a build with -DATTESTLAB_FAULTS=ON   (names given to a production build)
// Knobs set before an unknown name stay set; callers exit on the message.
std::optional<std::string> enable_server_faults(const std::vector<std::string>& names,
                                                const std::string& option, bool list_known);

}  // namespace attestlab::cli

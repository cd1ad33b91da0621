// HOST:PORT as the command line gives it (`serve --listen`, `serve --dns-server`,
// `mdm serve --listen`): "HOST:PORT" or "[IPv6]:PORT".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace attestlab {

struct HostPort {
  std::string host;  // an IPv6 literal without its brackets
  std::uint16_t port = 0;
};

// nullopt when `text` has no port, an empty host, a colon in a host without brackets,
// anything but ":PORT" after the first "]", or a port that is not 1-5 decimal digits up to
// 65535. Port 0 is accepted (a listener then picks a free port); callers needing a real
// port check for it.
std::optional<HostPort> parse_host_port(const std::string& text);

}  // namespace attestlab

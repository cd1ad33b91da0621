#include "core/host_port.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace attestlab {
namespace {

void expect_parses(const char* text, const char* host, std::uint16_t port) {
  auto hp = parse_host_port(text);
  ASSERT_TRUE(hp.has_value()) << text;
  EXPECT_EQ(hp->host, host);
  EXPECT_EQ(hp->port, port);
}

TEST(HostPort, ParsesHostAndPort) {
  expect_parses("127.0.0.1:14000", "127.0.0.1", 14000);
  expect_parses("acme.example.com:443", "acme.example.com", 443);
}

TEST(HostPort, ParsesBracketedIpv6) {
  expect_parses("[::1]:8443", "::1", 8443);
  expect_parses("[2001:db8::7]:53", "2001:db8::7", 53);
}

TEST(HostPort, PortBoundaries) {
  // 0 is a valid listen port (a free one is picked); callers needing a real one check.
  expect_parses("127.0.0.1:0", "127.0.0.1", 0);
  expect_parses("h:65535", "h", 65535);
  EXPECT_FALSE(parse_host_port("h:65536").has_value());
  EXPECT_FALSE(parse_host_port("h:999999").has_value());
  EXPECT_FALSE(parse_host_port("h:000001").has_value());  // more than 5 digits
}

TEST(HostPort, RejectsMalformed) {
  for (const char* bad :
       {"", "nonsense", "127.0.0.1", "127.0.0.1:", ":80", "h:8x", "h:-1", "h: 80", "::1:80",
        "[::1]", "[::1]:", "[::1]80", "[::1]x:80", "[]:80", "[::1:80", "[a]b]:80", "[::1]:80:90"}) {
    EXPECT_FALSE(parse_host_port(bad).has_value()) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace attestlab

#include "core/host_port.h"

#include <gtest/gtest.h>

namespace attestlab {
namespace {

TEST(HostPort, ParsesHostAndPort) {
  auto hp = parse_host_port("127.0.0.1:14000");
  ASSERT_TRUE(hp.has_value());
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 14000);
  auto named = parse_host_port("acme.example.com:443");
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ(named->host, "acme.example.com");
  EXPECT_EQ(named->port, 443);
}

TEST(HostPort, ParsesBracketedIpv6) {
  auto hp = parse_host_port("[::1]:8443");
  ASSERT_TRUE(hp.has_value());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 8443);
  auto full = parse_host_port("[2001:db8::7]:53");
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->host, "2001:db8::7");
  EXPECT_EQ(full->port, 53);
}

TEST(HostPort, PortBoundaries) {
  // 0 is a valid listen port (a free one is picked); callers needing a real one check.
  auto zero = parse_host_port("127.0.0.1:0");
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(zero->port, 0);
  auto top = parse_host_port("h:65535");
  ASSERT_TRUE(top.has_value());
  EXPECT_EQ(top->port, 65535);
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

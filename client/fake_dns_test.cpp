#include "client/fake_dns.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/child_process.h"
#include "core/dns.h"

namespace attestlab::client {
namespace {

TEST(FakeDns, TxtRecordsSetThroughManagementAreServed) {
  if (find_program("pebble-challtestsrv").empty()) GTEST_SKIP() << "pebble-challtestsrv missing";
  const std::string log =
      (std::filesystem::temp_directory_path() / "attestlab-fake-dns-test.log").string();
  FakeDns dns;
  auto started = dns.start(log);
  ASSERT_TRUE(started.ok()) << started.error().detail;
  DnsTxtClient txt(dns.management_url() + "/");  // a trailing slash is tolerated
  ASSERT_TRUE(txt.set_txt("_acme-challenge.load.example", "v4lue").ok());

  dns::ResolverOptions resolver;
  resolver.server = dns.dns_address();
  auto records = dns::query_txt("_acme-challenge.load.example", resolver);
  ASSERT_TRUE(records.ok()) << records.error().detail;
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ(records->front(), "v4lue");
  // Every A query answers 127.0.0.1 (the http-01 responder is on loopback).
  auto addresses = dns::query_addresses("anything.load.example", resolver);
  ASSERT_TRUE(addresses.ok()) << addresses.error().detail;
  ASSERT_FALSE(addresses->empty());
  EXPECT_EQ(addresses->front(), "127.0.0.1");

  ASSERT_TRUE(txt.clear_txt("_acme-challenge.load.example.").ok());
  auto cleared = dns::query_txt("_acme-challenge.load.example", resolver);
  ASSERT_TRUE(cleared.ok()) << cleared.error().detail;
  EXPECT_TRUE(cleared->empty());
  dns.stop();
  std::filesystem::remove(log);
}

TEST(DnsTxtClient, UnreachableManagementIsAConnectionError) {
  const std::uint16_t port = free_loopback_port();
  ASSERT_NE(port, 0);
  DnsTxtClient txt("http://127.0.0.1:" + std::to_string(port));
  auto r = txt.set_txt("x.example", "v");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "connection");
}

}  // namespace
}  // namespace attestlab::client

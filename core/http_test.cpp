// http::Server and http::Client against each other over real sockets on loopback.
#include "core/http.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace attestlab::http {
namespace {

std::unique_ptr<Server> start_server(ServerOptions options, Handler handler) {
  auto server = Server::start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.ok()) << (server.ok() ? "" : server.error().detail);
  return server.ok() ? std::move(*server) : nullptr;
}

std::string base_url(const Server& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

Response echo(const Request& request) {
  Response response;
  response.headers.emplace_back("Content-Type", "text/plain");
  response.add("X-Method", request.method);
  response.add("X-Target", request.target);
  response.add("X-Remote", request.remote_addr);
  response.add("X-Tls", request.tls ? "yes" : "no");
  response.add("X-Host", request.host());
  response.add("X-Test", request.header("x-test").value_or("<none>"));
  response.body = request.body;
  return response;
}

TEST(HttpUrl, ParsesSchemesPortsAndTargets) {
  auto url = Url::parse("https://Example.COM/acme/dir?x=1#frag");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/acme/dir?x=1");
  EXPECT_EQ(url->origin(), "https://example.com");

  url = Url::parse("http://127.0.0.1:8080");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->origin(), "http://127.0.0.1:8080");

  url = Url::parse("http://[::1]:9000/x");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->target, "/x");
  EXPECT_EQ(url->origin(), "http://[::1]:9000");

  url = Url::parse("http://host?q");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/?q");
}

TEST(HttpUrl, RejectsBadUrls) {
  for (const char* bad : {"ftp://x/", "example.com/x", "http:///x", "http://[::1/", "http://[zz]/",
                          "http://h:0/", "http://h:65536/", "http://h:8x/", "http://u@h/",
                          "http://h/a b", "http://h/\r\nX: y"}) {
    auto url = Url::parse(bad);
    EXPECT_FALSE(url.ok()) << bad;
    if (!url.ok()) {
      EXPECT_EQ(url.error().type, "malformed") << bad;
    }
  }
}

TEST(HttpResponse, HeaderAccessorsAreCaseInsensitive) {
  Response response;
  response.add("Link", "<a>");
  response.add("link", "<b>");
  response.set("Content-Type", "text/plain");
  EXPECT_EQ(response.header("LINK"), "<a>");
  EXPECT_EQ(response.all("Link"), (std::vector<std::string>{"<a>", "<b>"}));
  response.set("LINK", "<c>");
  EXPECT_EQ(response.all("link"), (std::vector<std::string>{"<c>"}));
  EXPECT_FALSE(response.header("missing").has_value());
}

TEST(HttpServer, PlainGetAndPostRoundTrip) {
  auto server = start_server({}, echo);
  ASSERT_TRUE(server);
  Client client;
  auto get = client.get(base_url(*server) + "/hello?x=1");
  ASSERT_TRUE(get.ok()) << get.error().detail;
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->header("x-method"), "GET");
  EXPECT_EQ(get->header("X-Target"), "/hello?x=1");
  EXPECT_EQ(get->header("x-remote"), "127.0.0.1");
  EXPECT_EQ(get->header("x-tls"), "no");
  EXPECT_EQ(get->header("x-host"), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_TRUE(get->body.empty());

  auto post = client.request("POST", base_url(*server) + "/submit", {{"X-Test", "value"}},
                             "payload body");
  ASSERT_TRUE(post.ok()) << post.error().detail;
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->header("x-method"), "POST");
  EXPECT_EQ(post->header("x-test"), "value");
  EXPECT_EQ(post->body, "payload body");
  EXPECT_EQ(post->header("content-length"), "12");
}

}  // namespace
}  // namespace attestlab::http

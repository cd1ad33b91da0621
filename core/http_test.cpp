// http::Server and http::Client against each other over real sockets on loopback.
#include "core/http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace attestlab::http {
namespace {

using namespace std::chrono_literals;

// --- raw sockets, so tests can send what a well-behaved client never would ----------

// A blocking IPv4 loopback TCP connection with a receive timeout, from `source` (another
// loopback address such as "127.0.0.2") when given.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port, std::chrono::milliseconds recv_timeout = 5000ms,
                         const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source != nullptr) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &from.sin_addr);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from);
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(recv_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((recv_timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  enum class End { Closed, TimedOut };

  // Reads until the peer closes (or resets) the connection, or the receive timeout.
  End read_until_close(std::string& out) {
    out += buffer_;
    buffer_.clear();
    char chunk[8192];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        out.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return End::Closed;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return End::TimedOut;
      if (errno == EINTR) continue;
      last_errno_ = errno;
      return End::Closed;  // ECONNRESET and friends
    }
  }

  // The error that ended the last read_until_close (0: an orderly close, or none).
  int last_errno() const { return last_errno_; }

  // Reads exactly one response framed by Content-Length (empty string on EOF/timeout).
  // `head` means the response to a HEAD request: a header only.
  std::string read_response(bool head = false) {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return {};
    }
    header_end += 4;
    std::size_t length = 0;
    auto lower = buffer_.substr(0, header_end);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto at = lower.find("\r\ncontent-length:"); at != std::string::npos && !head) {
      length = std::strtoul(lower.c_str() + at + 17, nullptr, 10);
    }
    while (buffer_.size() < header_end + length) {
      if (!fill()) return {};
    }
    std::string response = buffer_.substr(0, header_end + length);
    buffer_.erase(0, header_end + length);
    return response;
  }

 private:
  bool fill() {
    char chunk[8192];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  int last_errno_ = 0;
  std::string buffer_;
};

// A hand-written TCP server on 127.0.0.1 that runs `on_connection` for each accepted
// socket on its own thread, so tests can misbehave in ways http::Server never would.
class RawServer {
 public:
  using OnConnection = std::function<void(int fd)>;

  explicit RawServer(OnConnection on_connection) : on_connection_(std::move(on_connection)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        accepted_.fetch_add(1);
        workers_.emplace_back([this, fd] {
          on_connection_(fd);
          ::close(fd);
        });
      }
    });
  }

  ~RawServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes the blocked accept()
    acceptor_.join();
    for (auto& worker : workers_) worker.join();
    ::close(listen_fd_);
  }

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

  // Reads one request header (and no body) from fd; false on EOF.
  static bool read_request_header(int fd) {
    std::string data;
    char c;
    while (data.find("\r\n\r\n") == std::string::npos) {
      if (::recv(fd, &c, 1, 0) != 1) return false;
      data.push_back(c);
    }
    return true;
  }

  static void send_all(int fd, const std::string& data) {
    ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
  }

 private:
  OnConnection on_connection_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

// Distinct TCP connections (client ports) to or from `port` on IPv4 loopback that the
// kernel still knows about, including those in TIME_WAIT: how many connections a test
// made, without any hook in the code under test.
std::size_t connections_seen(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  std::set<unsigned> client_ports;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    auto port_of = [](const std::string& address) {
      return static_cast<unsigned>(std::stoul(address.substr(address.find(':') + 1), nullptr, 16));
    };
    if (state == "0A") continue;  // LISTEN
    if (port_of(local) == port) client_ports.insert(port_of(remote));
    if (port_of(remote) == port) client_ports.insert(port_of(local));
  }
  return client_ports.size();
}

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

// --- plain HTTP ------------------------------------------------------------------------

namespace attestlab::http {
namespace {

Response hello_handler(const Request& request) {
  Response response;
  response.headers.emplace_back("Content-Type", "text/plain");
  if (request.target == "/throw") throw std::runtime_error("handler failure");
  if (request.target == "/throw-int") throw 42;
  response.body = "hello world";
  return response;
}

TEST(HttpServer, KeepAliveReusesOneConnection) {
  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  const auto baseline = connections_seen(server->port());
  Client client;
  for (int i = 0; i < 10; ++i) {
    auto response = client.get(base_url(*server) + "/n/" + std::to_string(i));
    ASSERT_TRUE(response.ok()) << response.error().detail;
    EXPECT_EQ(response->body, "hello world");
  }
  EXPECT_EQ(connections_seen(server->port()) - baseline, 1u);
}

// A handler's LaterResponse: finished from another thread within the wait, the edited
// answer is written; never finished, the answer as it was, once the wait is over; either
// way the connection stays usable, and other connections are served meanwhile.
TEST(HttpServer, LaterResponsesAreWrittenEditedOrAsTheyWere) {
  std::vector<std::thread> finishers;
  std::mutex mu;
  auto server = start_server({}, [&](const Request& r) {
    Response response;
    response.body = "for now";
    response.set("X-Stage", "first");
    if (r.target == "/plain") return response;
    response.later = std::make_shared<LaterResponse>(r.target == "/finished" ? 5000ms : 100ms);
    if (r.target == "/finished") {
      std::lock_guard lock(mu);
      finishers.emplace_back([later = response.later] {
        std::this_thread::sleep_for(50ms);
        later->finish([](Response& edited) {
          edited.body = "final";
          edited.remove("X-Stage");
        });
        later->finish([](Response& edited) { edited.body = "too late"; });  // ignored
      });
    }
    return response;
  });
  ASSERT_TRUE(server);
  Client client;
  auto finished = client.get(base_url(*server) + "/finished");
  ASSERT_TRUE(finished.ok()) << finished.error().detail;
  EXPECT_EQ(finished->body, "final");
  EXPECT_FALSE(finished->header("X-Stage").has_value());
  auto abandoned = client.get(base_url(*server) + "/abandoned");
  ASSERT_TRUE(abandoned.ok()) << abandoned.error().detail;
  EXPECT_EQ(abandoned->body, "for now");
  EXPECT_EQ(abandoned->header("X-Stage"), "first");
  auto plain = client.get(base_url(*server) + "/plain");  // the same connection, still usable
  ASSERT_TRUE(plain.ok()) << plain.error().detail;
  EXPECT_EQ(plain->body, "for now");
  std::lock_guard lock(mu);
  for (auto& t : finishers) t.join();
}

// finish() before the server asks for it (a job faster than the handler's return): the
// edit is kept and applied.
TEST(HttpServer, LaterResponseFinishedBeforeTheHandlerReturns) {
  auto server = start_server({}, [](const Request&) {
    Response response;
    response.body = "for now";
    response.later = std::make_shared<LaterResponse>(5000ms);
    response.later->finish([](Response& edited) { edited.body = "already final"; });
    return response;
  });
  ASSERT_TRUE(server);
  Client client;
  auto r = client.get(base_url(*server) + "/");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->body, "already final");
}

TEST(HttpServer, ClientReconnectsOnceWhenKeptConnectionWentStale) {
  ServerOptions options;
  options.idle_timeout = 100ms;
  auto server = start_server(options, hello_handler);
  ASSERT_TRUE(server);
  Client client;
  auto first = client.get(base_url(*server) + "/");
  ASSERT_TRUE(first.ok()) << first.error().detail;
  std::this_thread::sleep_for(500ms);  // the server closes the idle connection meanwhile
  auto second = client.request("POST", base_url(*server) + "/", {}, "again");
  ASSERT_TRUE(second.ok()) << second.error().detail;
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "hello world");
}

TEST(HttpClient, DoesNotRetryWhenPartOfTheResponseArrived) {
  std::atomic<int> requests{0};
  RawServer raw([&](int fd) {
    if (!RawServer::read_request_header(fd)) return;
    ++requests;
    RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    if (!RawServer::read_request_header(fd)) return;
    ++requests;
    RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
  });
  Client client;
  const std::string url = "http://127.0.0.1:" + std::to_string(raw.port()) + "/";
  auto first = client.get(url);
  ASSERT_TRUE(first.ok()) << first.error().detail;
  EXPECT_EQ(first->body, "ok");
  auto second = client.get(url);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().type, "connection");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(raw.accepted(), 1);
  EXPECT_EQ(requests.load(), 2);
}

TEST(HttpServer, OversizedBodyGets413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = start_server(options, hello_handler);
  ASSERT_TRUE(server);
  Client client;
  auto small = client.request("POST", base_url(*server) + "/", {}, std::string(1024, 'a'));
  ASSERT_TRUE(small.ok()) << small.error().detail;
  EXPECT_EQ(small->status, 200);
  auto big = client.request("POST", base_url(*server) + "/", {}, std::string(4096, 'a'));
  ASSERT_TRUE(big.ok()) << big.error().detail;
  EXPECT_EQ(big->status, 413);
  // Far beyond the limit: the server must drain what we send so that we see its 413.
  auto huge = client.request("POST", base_url(*server) + "/", {}, std::string(2 << 20, 'a'));
  ASSERT_TRUE(huge.ok()) << huge.error().detail;
  EXPECT_EQ(huge->status, 413);
  auto after = client.get(base_url(*server) + "/");
  ASSERT_TRUE(after.ok()) << after.error().detail;
  EXPECT_EQ(after->status, 200);
}

// One address holds at most max_connections_per_ip connections; more are closed at
// accept, while another address is served normally and a freed slot is usable again.
TEST(HttpServer, PerAddressConnectionCap) {
  ServerOptions options;
  options.max_connections = 100;
  options.max_connections_per_ip = 2;
  auto server = start_server(options, echo);
  ASSERT_TRUE(server);
  const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  auto held_a = std::make_unique<RawConnection>(server->port());
  RawConnection held_b(server->port());
  for (RawConnection* held : {held_a.get(), &held_b}) {
    ASSERT_TRUE(held->send(get));
    EXPECT_EQ(held->read_response().rfind("HTTP/1.1 200 ", 0), 0u);  // kept alive
  }
  RawConnection third(server->port(), 2000ms);
  std::string refused;
  third.send(get);
  EXPECT_EQ(third.read_until_close(refused), RawConnection::End::Closed);
  EXPECT_EQ(refused.find("HTTP/1.1 200"), std::string::npos) << refused;

  RawConnection other(server->port(), 5000ms, "127.0.0.2");
  ASSERT_TRUE(other.connected());
  ASSERT_TRUE(other.send(get));
  std::string answer = other.read_response();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 ", 0), 0u) << answer;
  EXPECT_NE(answer.find("127.0.0.2"), std::string::npos) << answer;

  held_a.reset();  // frees a slot once the server notices the close
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    RawConnection again(server->port(), 2000ms);
    served = again.send(get) && again.read_response().rfind("HTTP/1.1 200 ", 0) == 0;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
}

TEST(HttpServer, OversizedChunkedBodyGets413) {
  ServerOptions options;
  options.max_body_bytes = 10;
  auto server = start_server(options, echo);
  ASSERT_TRUE(server);
  RawConnection ok(server->port());
  ASSERT_TRUE(ok.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"));
  std::string response = ok.read_response();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_EQ(response.substr(response.size() - 8), "helloabc");
  RawConnection big(server->port());
  ASSERT_TRUE(big.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"));
  response.clear();
  EXPECT_EQ(big.read_until_close(response), RawConnection::End::Closed);
  EXPECT_EQ(response.rfind("HTTP/1.1 413 ", 0), 0u) << response;
}

// Beast keeps an unfinished chunk-size line in the read buffer; the buffer's bound turns an
// endless chunk extension into a 400 instead of memory growing until the read deadline.
TEST(HttpServer, EndlessChunkExtensionGets400) {
  auto server = start_server({}, echo);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;x="));
  ASSERT_TRUE(raw.send(std::string(256 * 1024, 'a')));  // no line end, ever
  std::string response;
  EXPECT_EQ(raw.read_until_close(response), RawConnection::End::Closed);
  EXPECT_EQ(response.rfind("HTTP/1.1 400 ", 0), 0u) << response.substr(0, 200);
  EXPECT_NE(response.find("chunk header or trailer"), std::string::npos) << response;
}

TEST(HttpServer, HugeHeaderGets431) {
  auto server = start_server({}, hello_handler);  // 16 KiB header limit
  ASSERT_TRUE(server);
  Client client;
  auto response =
      client.request("GET", base_url(*server) + "/", {{"X-Big", std::string(20000, 'b')}});
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->status, 431);
}

TEST(HttpServer, GarbageGets400AndClose) {
  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.connected());
  static constexpr char kGarbage[] = "\x16\x03\x01\x00\xff garbage \x01\x02\r\n\r\n";
  ASSERT_TRUE(raw.send(std::string(kGarbage, sizeof kGarbage - 1)));
  std::string response;
  EXPECT_EQ(raw.read_until_close(response), RawConnection::End::Closed);
  EXPECT_EQ(response.rfind("HTTP/1.1 400 ", 0), 0u) << response;
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos) << response;
}

TEST(HttpServer, Http11WithoutHostGets400) {
  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("GET / HTTP/1.1\r\n\r\n"));
  std::string response;
  EXPECT_EQ(raw.read_until_close(response), RawConnection::End::Closed);
  EXPECT_EQ(response.rfind("HTTP/1.1 400 ", 0), 0u) << response;
}

TEST(HttpServer, Http10ClosesAfterResponse) {
  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("GET / HTTP/1.0\r\n\r\n"));
  std::string response;
  EXPECT_EQ(raw.read_until_close(response), RawConnection::End::Closed);
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos) << response;
  EXPECT_EQ(response.substr(response.size() - 11), "hello world");
}

TEST(HttpServer, HeadResponseHasHeadersButNoBody) {
  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  Client client;
  auto head = client.request("HEAD", base_url(*server) + "/");
  ASSERT_TRUE(head.ok()) << head.error().detail;
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "11");
  EXPECT_EQ(head->header("content-type"), "text/plain");
  EXPECT_TRUE(head->body.empty());

  // On the wire: a pipelined GET right after the HEAD must be the very next bytes.
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string wire;
  EXPECT_EQ(raw.read_until_close(wire), RawConnection::End::Closed);
  auto second = wire.find("HTTP/1.1 200 OK\r\n", 1);
  ASSERT_NE(second, std::string::npos) << wire;
  EXPECT_EQ(wire.substr(second - 4, 4), "\r\n\r\n") << wire;  // HEAD's header ends there
  EXPECT_EQ(wire.find("hello world"), wire.size() - 11) << wire;
}

TEST(HttpServer, RequestArrivingInPiecesIsAssembled) {
  auto server = start_server({}, echo);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  for (const char* piece : {"POST /pieces HTTP/1.1\r\nHo", "st: x\r\nContent-Length: 10\r\n",
                            "\r\nhello", "world"}) {
    ASSERT_TRUE(raw.send(piece));
    std::this_thread::sleep_for(30ms);
  }
  std::string response = raw.read_response();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("X-Target: /pieces\r\n"), std::string::npos) << response;
  EXPECT_EQ(response.substr(response.size() - 10), "helloworld") << response;
}

TEST(HttpServer, NoContentAndNotModifiedCarryNoBody) {
  auto server = start_server({}, [](const Request& request) {
    Response response;
    response.status = request.target == "/204" ? 204 : request.target == "/304" ? 304 : 200;
    response.body = "ignored for 204 and 304";
    return response;
  });
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string wire;
  EXPECT_EQ(raw.read_until_close(wire), RawConnection::End::Closed);
  EXPECT_EQ(wire.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u) << wire;
  auto not_modified = wire.find("HTTP/1.1 304 Not Modified\r\n");
  auto ok = wire.find("HTTP/1.1 200 OK\r\n");
  ASSERT_NE(not_modified, std::string::npos) << wire;
  ASSERT_NE(ok, std::string::npos) << wire;
  EXPECT_EQ(wire.substr(not_modified - 4, 4), "\r\n\r\n");
  EXPECT_EQ(wire.substr(ok - 4, 4), "\r\n\r\n");
  EXPECT_EQ(wire.substr(0, ok).find("Content-Length"), std::string::npos) << wire;
  EXPECT_EQ(wire.find("ignored for 204 and 304"), wire.size() - 23) << wire;
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  auto server = start_server({}, echo);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string a = raw.read_response();
  std::string b = raw.read_response();
  EXPECT_NE(a.find("X-Target: /a\r\n"), std::string::npos) << a;
  EXPECT_NE(b.find("X-Target: /b\r\n"), std::string::npos) << b;
}

TEST(HttpServer, ExpectContinueGetsInterimResponse) {
  auto server = start_server({}, echo);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n"));
  EXPECT_EQ(raw.read_response(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(raw.send("hello"));
  std::string response = raw.read_response();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_EQ(response.substr(response.size() - 5), "hello");
}

TEST(HttpServer, HandlerExceptionGives500AndServerKeepsServing) {
  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  Client client;
  for (const char* target : {"/throw", "/throw-int"}) {
    auto failed = client.get(base_url(*server) + target);
    ASSERT_TRUE(failed.ok()) << failed.error().detail;
    EXPECT_EQ(failed->status, 500);
    EXPECT_EQ(failed->body.find("handler failure"), std::string::npos);  // no leak of what()
  }
  auto fine = client.get(base_url(*server) + "/");
  ASSERT_TRUE(fine.ok()) << fine.error().detail;
  EXPECT_EQ(fine->status, 200);
  EXPECT_EQ(fine->body, "hello world");
}

TEST(HttpServer, HandlerHeadersAreSentInOrderAndNeverSplitTheResponse) {
  auto server = start_server({}, [](const Request&) {
    Response response;
    response.add("Link", "<a>;rel=up");
    response.add("X-Bad", "a\r\nInjected: yes");
    response.add("Link", "<b>;rel=index");
    response.add("Content-Length", "999");
    response.status = 201;
    response.body = "made";
    return response;
  });
  ASSERT_TRUE(server);
  Client client;
  auto response = client.get(base_url(*server) + "/");
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->all("link"), (std::vector<std::string>{"<a>;rel=up", "<b>;rel=index"}));
  EXPECT_FALSE(response->header("injected").has_value());
  EXPECT_FALSE(response->header("x-bad").has_value());
  EXPECT_EQ(response->header("content-length"), "4");
  EXPECT_EQ(response->body, "made");
}

TEST(HttpServer, MaxConnectionsIsEnforced) {
  ServerOptions options;
  options.max_connections = 2;
  auto server = start_server(options, hello_handler);
  ASSERT_TRUE(server);
  const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  auto first = std::make_unique<RawConnection>(server->port());
  RawConnection second(server->port());
  ASSERT_TRUE(first->send(get));
  ASSERT_TRUE(second.send(get));
  EXPECT_FALSE(first->read_response().empty());
  EXPECT_FALSE(second.read_response().empty());

  RawConnection third(server->port());
  third.send(get);  // may already fail: the server closes it at accept
  std::string response;
  EXPECT_EQ(third.read_until_close(response), RawConnection::End::Closed);
  EXPECT_TRUE(response.empty()) << response;

  first.reset();  // frees a slot once the server notices the close
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    RawConnection next(server->port());
    served = next.send(get) && !next.read_response().empty();
    if (!served) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(served);
}

// Polls `stats` of `server` until `done` holds, for up to five seconds.
bool wait_for_stats(const Server& server, const std::function<bool(const ConnectionStats&)>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done(server.connection_stats())) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Holds the handlers of GET /hold until the test opens it (at most 10 s), so a test decides
// how long a request keeps its I/O thread instead of racing a sleep. Declare it before the
// server, which must stop first.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  Handler handler() {
    return [this](const Request& request) {
      if (request.target == "/hold") wait();
      return hello_handler(request);
    };
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

const std::string kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kHold = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";

bool answered_200(RawConnection& connection) {
  return connection.read_response().rfind("HTTP/1.1 200 ", 0) == 0;
}

// On a two-thread server, sessions take the threads in turn from the accepting thread's own:
// `first` is answered there (and kept open), then `held` sends GET /hold, takes the other
// thread and waits at the gate.
void hold_the_other_thread(const Server& server, RawConnection& first, RawConnection& held) {
  ASSERT_TRUE(first.send(kGet));
  EXPECT_TRUE(answered_200(first));
  // The answer can arrive before the server's write completes and clears `first`'s busy mark.
  ASSERT_TRUE(wait_for_stats(server, [](const ConnectionStats& s) { return s.busy == 0; }));
  ASSERT_TRUE(held.send(kHold));
  ASSERT_TRUE(wait_for_stats(server, [](const ConnectionStats& s) { return s.busy == 1; }));
}

// A connection is busy while the server owes it an answer: from a request read in full until
// its response is written. Neither an idle keep-alive connection nor one whose request is
// still arriving is.
TEST(HttpServer, BusyGaugeCountsRequestsOwedAnAnswer) {
  Gate gate;
  auto server = start_server({}, gate.handler());
  ASSERT_TRUE(server);
  RawConnection idle(server->port());
  ASSERT_TRUE(idle.send(kGet));
  EXPECT_TRUE(answered_200(idle));
  EXPECT_TRUE(wait_for_stats(*server, [](const ConnectionStats& s) { return s.busy == 0; }));
  RawConnection partial(server->port());
  ASSERT_TRUE(partial.send("GET /hold HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_TRUE(wait_for_stats(*server, [](const ConnectionStats& s) { return s.open == 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(server->connection_stats().busy, 0);
  ASSERT_TRUE(partial.send("\r\n"));  // complete now: its handler waits at the gate
  EXPECT_TRUE(wait_for_stats(*server, [](const ConnectionStats& s) { return s.busy == 1; }));
  gate.open();
  EXPECT_TRUE(answered_200(partial));
  EXPECT_TRUE(wait_for_stats(*server, [](const ConnectionStats& s) { return s.busy == 0; }));
  EXPECT_EQ(server->connection_stats().open, 2);
}

// One I/O thread, held by a handler: a connection made meanwhile waits in the listen queue.
// With max_accept_wait 100 ms it is reset when it is finally taken, 300 ms later (the server
// is behind), and one made once the server is free again is served; without the bound the
// same late connection is served.
TEST(HttpServer, ConnectionKeptWaitingLongerThanMaxAcceptWaitIsReset) {
  for (const auto bound : {100ms, 0ms}) {
    SCOPED_TRACE("max_accept_wait " + std::to_string(bound.count()) + " ms");
    Gate gate;
    ServerOptions options;
    options.threads = 1;
    options.max_accept_wait = bound;
    auto server = start_server(options, gate.handler());
    ASSERT_TRUE(server);
    RawConnection held(server->port());
    ASSERT_TRUE(held.send(kHold));
    ASSERT_TRUE(wait_for_stats(*server, [](const ConnectionStats& s) { return s.busy == 1; }));
    RawConnection late(server->port());
    ASSERT_TRUE(late.connected());  // the kernel completes the handshake; nobody takes it
    ASSERT_TRUE(late.send(kGet));
    std::this_thread::sleep_for(300ms);
    gate.open();
    EXPECT_TRUE(answered_200(held));
    if (bound.count() > 0) {
      std::string got;
      EXPECT_EQ(late.read_until_close(got), RawConnection::End::Closed);
      EXPECT_TRUE(got.empty()) << got;
      EXPECT_EQ(late.last_errno(), ECONNRESET);
      RawConnection next(server->port());
      ASSERT_TRUE(next.send(kGet));
      EXPECT_TRUE(answered_200(next));
    } else {
      EXPECT_TRUE(answered_200(late));
    }
    const ConnectionStats stats = server->connection_stats();
    EXPECT_EQ(stats.refused_behind, bound.count() > 0 ? 1u : 0u);
    EXPECT_EQ(stats.refused_busy, 0u);
    EXPECT_EQ(stats.refused_full, 0u);
  }
}

// With max_busy_connections 1, a new connection is reset while one request is owed its
// answer, and served again once it has been; a request still arriving does not count.
TEST(HttpServer, BusyBoundResetsNewConnectionsWhileAnswersAreOwed) {
  Gate gate;
  ServerOptions options;
  options.threads = 2;
  options.max_busy_connections = 1;
  auto server = start_server(options, gate.handler());
  ASSERT_TRUE(server);
  RawConnection first(server->port());
  RawConnection held(server->port());
  ASSERT_NO_FATAL_FAILURE(hold_the_other_thread(*server, first, held));
  RawConnection refused(server->port());
  std::string got;
  EXPECT_EQ(refused.read_until_close(got), RawConnection::End::Closed);
  EXPECT_TRUE(got.empty()) << got;
  EXPECT_EQ(refused.last_errno(), ECONNRESET);
  EXPECT_EQ(server->connection_stats().refused_busy, 1u);
  gate.open();
  EXPECT_TRUE(answered_200(held));
  ASSERT_TRUE(wait_for_stats(*server, [](const ConnectionStats& s) { return s.busy == 0; }));
  RawConnection partial(server->port());
  ASSERT_TRUE(partial.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  RawConnection next(server->port());
  ASSERT_TRUE(next.send(kGet));
  EXPECT_TRUE(answered_200(next));
  ASSERT_TRUE(partial.send("\r\n"));
  EXPECT_TRUE(answered_200(partial));
  const ConnectionStats stats = server->connection_stats();
  EXPECT_EQ(stats.refused_busy, 1u);
  EXPECT_EQ(stats.refused_behind, 0u);
  EXPECT_EQ(stats.refused_full, 0u);
}

// Sessions take the I/O threads in turn, one connection at a time as well as in bursts: while
// one request holds its thread, a connection made after it is served by the other.
TEST(HttpServer, ConnectionsArrivingOneByOneTakeTheThreadsInTurn) {
  Gate gate;
  ServerOptions options;
  options.threads = 2;
  auto server = start_server(options, gate.handler());
  ASSERT_TRUE(server);
  RawConnection first(server->port());
  RawConnection held(server->port());
  ASSERT_NO_FATAL_FAILURE(hold_the_other_thread(*server, first, held));
  RawConnection third(server->port());  // the accepting thread's turn again: served
  ASSERT_TRUE(third.send(kGet));
  EXPECT_TRUE(answered_200(third));
  gate.open();
  EXPECT_TRUE(answered_200(held));
}

// Connections that queued while the only I/O thread was held are all taken and served, more
// of them than one turn of the acceptor takes (32).
TEST(HttpServer, ConnectionsQueuedWhileTheThreadWasHeldAreAllServed) {
  Gate gate;
  ServerOptions options;
  options.threads = 1;
  auto server = start_server(options, gate.handler());
  ASSERT_TRUE(server);
  RawConnection held(server->port());
  ASSERT_TRUE(held.send(kHold));
  ASSERT_TRUE(wait_for_stats(*server, [](const ConnectionStats& s) { return s.busy == 1; }));
  std::vector<std::unique_ptr<RawConnection>> queued;
  for (int i = 0; i < 40; ++i) {
    queued.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_TRUE(queued.back()->send(kGet));
  }
  gate.open();
  EXPECT_TRUE(answered_200(held));
  int served = 0;
  for (auto& connection : queued) served += answered_200(*connection) ? 1 : 0;
  EXPECT_EQ(served, 40);
  EXPECT_EQ(server->connection_stats().open, 41);
}

TEST(HttpServer, IncompleteRequestTimesOut) {
  ServerOptions options;
  options.read_timeout = 200ms;
  auto server = start_server(options, hello_handler);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  std::string response;
  EXPECT_EQ(raw.read_until_close(response), RawConnection::End::Closed);
  EXPECT_TRUE(response.empty()) << response;
}

// One watchdog per connection: a deadline moved later (the keep-alive idle time after a
// response) is honoured after the earlier one (the request's read time) has passed, and the
// connection is closed once the later one passes too.
TEST(HttpServer, IdleDeadlineOutlastsTheReadDeadlineThenCloses) {
  ServerOptions options;
  options.read_timeout = 100ms;
  options.idle_timeout = 600ms;
  auto server = start_server(options, hello_handler);
  ASSERT_TRUE(server);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(raw.read_response().find("hello world"), std::string::npos);
  std::this_thread::sleep_for(300ms);  // past the read deadline, inside the idle one
  ASSERT_TRUE(raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(raw.read_response().find("hello world"), std::string::npos);
  const auto idle_from = std::chrono::steady_clock::now();
  std::string rest;
  EXPECT_EQ(raw.read_until_close(rest), RawConnection::End::Closed);
  EXPECT_TRUE(rest.empty()) << rest;
  EXPECT_GE(std::chrono::steady_clock::now() - idle_from, 500ms);  // not the read deadline
}

TEST(HttpClient, TimesOutAgainstSilentServer) {
  std::atomic<bool> release{false};
  RawServer raw([&](int fd) {
    RawServer::read_request_header(fd);
    while (!release.load()) std::this_thread::sleep_for(10ms);
  });
  ClientOptions options;
  options.timeout = 300ms;
  Client client(options);
  auto response = client.get("http://127.0.0.1:" + std::to_string(raw.port()) + "/");
  release = true;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().type, "connection");
  EXPECT_NE(response.error().detail.find("timed out"), std::string::npos)
      << response.error().detail;
}

TEST(HttpClient, ConnectionRefusedIsAConnectionError) {
  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  const std::string url = base_url(*server) + "/";
  server->stop();
  server->stop();  // idempotent
  Client client;
  auto response = client.get(url);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().type, "connection");
}

TEST(HttpClient, ResponseBodyOverTenMiBIsAnError) {
  auto server = start_server({}, [](const Request&) {
    Response response;
    response.body.assign((10u << 20) + 1, 'x');
    return response;
  });
  ASSERT_TRUE(server);
  Client client;
  auto response = client.get(base_url(*server) + "/");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().type, "connection");
}

TEST(HttpClient, EndlessChunkExtensionIsAnError) {
  RawServer raw([](int fd) {
    if (!RawServer::read_request_header(fd)) return;
    RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");
    RawServer::send_all(fd, std::string(1024 * 1024, 'a'));  // fails once the client gives up
  });
  Client client;
  auto response = client.get("http://127.0.0.1:" + std::to_string(raw.port()) + "/");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().type, "connection");
  EXPECT_NE(response.error().detail.find("chunk header or trailer section exceeds"),
            std::string::npos)
      << response.error().detail;
}

TEST(HttpClient, InvalidRequestHeadersAreRejected) {
  Client client;
  auto response = client.request("GET", "http://127.0.0.1:1/", {{"X-A", "a\r\nb: c"}});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().type, "malformed");
}

TEST(HttpClient, ConnectOverrideKeepsUrlHostInHostHeader) {
  auto server = start_server({}, echo);
  ASSERT_TRUE(server);
  ClientOptions options;
  options.connect_host = "127.0.0.1";
  options.connect_port = server->port();
  Client client(options);
  auto response = client.get("http://device.example.invalid/.well-known/acme-challenge/tok");
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->header("x-host"), "device.example.invalid");
  EXPECT_EQ(response->header("x-target"), "/.well-known/acme-challenge/tok");
}

// keep_alive off (the validator's fetch): every request says "Connection: close", has a
// connection of its own and leaves none open behind it.
TEST(HttpClient, WithoutKeepAliveEachRequestHasItsOwnConnectionClosedAfterIt) {
  auto server = start_server({}, [](const Request& request) {
    Response response;
    response.body = request.header("connection").value_or("<none>");
    return response;
  });
  ASSERT_TRUE(server);
  const auto baseline = connections_seen(server->port());
  ClientOptions options;
  options.keep_alive = false;
  Client client(options);
  for (int i = 0; i < 4; ++i) {
    auto response = client.get(base_url(*server) + "/n/" + std::to_string(i));
    ASSERT_TRUE(response.ok()) << response.error().detail;
    EXPECT_EQ(response->body, "close");
  }
  EXPECT_EQ(connections_seen(server->port()) - baseline, 4u);
  // The server sees each close shortly after.
  EXPECT_TRUE(wait_for_stats(*server, [](const ConnectionStats& s) { return s.open == 0; }))
      << server->connection_stats().open << " connections still open";
}

// A server that ignores "Connection: close" and keeps the connection open: the client
// closes it itself once the response is read.
TEST(HttpClient, WithoutKeepAliveTheClientClosesAConnectionTheServerWouldKeep) {
  std::atomic<bool> saw_eof{false};
  RawServer raw([&](int fd) {
    if (!RawServer::read_request_header(fd)) return;
    RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    timeval wait{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char c;
    saw_eof = ::recv(fd, &c, 1, 0) == 0;
  });
  ClientOptions options;
  options.keep_alive = false;
  Client client(options);  // alive until the end: only the client's own close ends the wait
  auto response = client.get("http://127.0.0.1:" + std::to_string(raw.port()) + "/");
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->body, "ok");
  for (int i = 0; i < 300 && !saw_eof; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(saw_eof);
}

// set_options: the next request goes where the new options say, never over a connection
// kept under the old ones (same URL, so the same origin key).
TEST(HttpClient, SetOptionsDropsConnectionsKeptUnderTheOldOnes) {
  auto named = [](std::string name) {
    return [name](const Request&) {
      Response response;
      response.body = name;
      return response;
    };
  };
  auto first = start_server({}, named("first"));
  auto second = start_server({}, named("second"));
  ASSERT_TRUE(first && second);
  const std::string url = "http://device.example.invalid/.well-known/acme-challenge/tok";
  ClientOptions options;
  options.connect_host = "127.0.0.1";
  options.connect_port = first->port();
  Client client(options);
  auto response = client.get(url);
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->body, "first");
  options.connect_port = second->port();
  client.set_options(options);
  response = client.get(url);
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->body, "second");
}

TEST(HttpServer, StopClosesKeptConnections) {
  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  Client client;
  const std::string url = base_url(*server) + "/";
  ASSERT_TRUE(client.get(url).ok());
  server->stop();  // must not wait for the idle keep-alive connection
  auto after = client.get(url);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().type, "connection");
}

TEST(HttpServer, ServesIpv6Loopback) {
  ServerOptions options;
  options.host = "::1";
  auto server = Server::start(options, echo);
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << server.error().detail;
  Client client;
  auto response = client.get("http://[::1]:" + std::to_string((*server)->port()) + "/six");
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->header("x-remote"), "::1");
  EXPECT_EQ(response->header("x-host"), "[::1]:" + std::to_string((*server)->port()));
}

TEST(HttpServer, ConcurrentClientsOnEightThreads) {
  auto server = start_server({}, echo);
  ASSERT_TRUE(server);
  constexpr int kThreads = 8, kRequests = 25;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client client;
      for (int i = 0; i < kRequests; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        auto response = client.request("POST", base_url(*server) + "/c", {}, body);
        if (response.ok() && response->status == 200 && response->body == body) ++succeeded;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), kThreads * kRequests);
}

TEST(HttpServer, StartFailsOnBadTlsMaterialOrBusyPort) {
  ServerOptions tls;
  tls.tls_cert_pem = "not a certificate";
  tls.tls_key_pem = "not a key";
  EXPECT_FALSE(Server::start(tls, hello_handler).ok());

  auto server = start_server({}, hello_handler);
  ASSERT_TRUE(server);
  ServerOptions same_port;
  same_port.port = server->port();
  EXPECT_FALSE(Server::start(same_port, hello_handler).ok());
}

// --- TLS -------------------------------------------------------------------------------

// A self-signed P-256 certificate for CN=localhost with only IP:127.0.0.1 in its SAN,
// made by the openssl command line so these tests do not depend on core/pki.
class HttpTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/attestlab-http-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::string command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                          " -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1"
                          " -keyout " + dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    cert_pem_ = read_file(dir_ + "/cert.pem");
    key_pem_ = read_file(dir_ + "/key.pem");
  }

  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::unique_ptr<Server> start_tls_server(ServerOptions options = {}) {
    options.tls_cert_pem = cert_pem_;
    options.tls_key_pem = key_pem_;
    return start_server(options, echo);
  }

  static ClientOptions trusting() {
    ClientOptions options;
    options.trust_ca_pem_file = dir_ + "/cert.pem";
    return options;
  }

  static std::string https_url(const Server& server, const std::string& host = "127.0.0.1") {
    return "https://" + host + ":" + std::to_string(server.port()) + "/secure";
  }

  static inline std::string dir_, cert_pem_, key_pem_;
};

TEST_F(HttpTls, RoundTripWithTrustedCa) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  Client client(trusting());
  auto response = client.request("POST", https_url(*server), {}, "over tls");
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("x-tls"), "yes");
  EXPECT_EQ(response->header("x-remote"), "127.0.0.1");
  EXPECT_EQ(response->body, "over tls");
}

TEST_F(HttpTls, VerificationFailsWithoutTrustCa) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  Client client;  // system trust store: our self-signed certificate is unknown
  auto response = client.get(https_url(*server));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().type, "connection");
  EXPECT_NE(response.error().detail.find("certificate"), std::string::npos)
      << response.error().detail;
}

TEST_F(HttpTls, VerificationChecksTheHostName) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  Client client(trusting());  // trusted, but the SAN names 127.0.0.1, not "localhost"
  auto response = client.get(https_url(*server, "localhost"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().type, "connection");
}

TEST_F(HttpTls, VerificationCanBeDisabled) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  ClientOptions options;
  options.verify_tls = false;
  Client client(options);
  auto response = client.get(https_url(*server, "localhost"));
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpTls, MissingTrustFileIsAConnectionError) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  ClientOptions options;
  options.trust_ca_pem_file = dir_ + "/does-not-exist.pem";
  Client client(options);
  auto response = client.get(https_url(*server));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().type, "connection");
}

// TLS 1.3 with a plain OpenSSL client: the server sends one session ticket per full
// handshake (not OpenSSL's default two), and that ticket resumes the session.
namespace {

struct TicketCount {
  int tickets = 0;
  SSL_SESSION* last = nullptr;
};

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* count = static_cast<TicketCount*>(SSL_get_app_data(ssl));
  ++count->tickets;
  if (count->last != nullptr) SSL_SESSION_free(count->last);
  count->last = session;
  return 1;  // we keep the reference
}

// One HTTPS GET over a fresh TCP connection with `ctx`, resuming `resume` when given; the
// tickets the server sent are counted into `count`. Whether the session was resumed, or
// nullopt when the exchange failed.
std::optional<bool> https_get_counting_tickets(SSL_CTX* ctx, std::uint16_t port,
                                               SSL_SESSION* resume, TicketCount& count) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  timeval wait{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  std::optional<bool> resumed;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_app_data(ssl, &count);
    if (resume != nullptr) SSL_set_session(ssl, resume);
    const std::string request = "GET /secure HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    std::string response;
    char buffer[4096];
    if (SSL_connect(ssl) == 1 &&
        SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
      while (response.find("\r\n\r\n") == std::string::npos) {
        const int n = SSL_read(ssl, buffer, sizeof buffer);
        if (n <= 0) break;
        response.append(buffer, static_cast<std::size_t>(n));
      }
      if (response.rfind("HTTP/1.1 200", 0) == 0) resumed = SSL_session_reused(ssl) == 1;
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  ::close(fd);
  return resumed;
}

}  // namespace

TEST_F(HttpTls, OneSessionTicketPerFullHandshakeAndItResumes) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  ASSERT_TRUE(ctx);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(ctx.get(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), &on_new_session);
  TicketCount count;
  auto full = https_get_counting_tickets(ctx.get(), server->port(), nullptr, count);
  ASSERT_TRUE(full.has_value());
  EXPECT_FALSE(*full);
  EXPECT_EQ(count.tickets, 1);
  ASSERT_NE(count.last, nullptr);
  SSL_SESSION* ticket = count.last;
  count.last = nullptr;
  auto again = https_get_counting_tickets(ctx.get(), server->port(), ticket, count);
  SSL_SESSION_free(ticket);
  if (count.last != nullptr) SSL_SESSION_free(count.last);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(*again) << "the server did not resume the session its ticket carries";
}

// set_options with other trust settings builds a new TLS context: the CA trusted before is
// trusted no more.
TEST_F(HttpTls, SetOptionsWithOtherTrustSettingsRebuildsTheTlsContext) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  Client client(trusting());
  auto response = client.get(https_url(*server));
  ASSERT_TRUE(response.ok()) << response.error().detail;
  client.set_options(ClientOptions{});  // the system trust store
  response = client.get(https_url(*server));
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().detail.find("certificate"), std::string::npos)
      << response.error().detail;
  client.set_options(trusting());
  response = client.get(https_url(*server));
  EXPECT_TRUE(response.ok()) << response.error().detail;
}

TEST_F(HttpTls, KeepAliveReusesOneConnection) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  const auto baseline = connections_seen(server->port());
  Client client(trusting());
  for (int i = 0; i < 5; ++i) {
    auto response = client.get(https_url(*server));
    ASSERT_TRUE(response.ok()) << response.error().detail;
  }
  EXPECT_EQ(connections_seen(server->port()) - baseline, 1u);
}

TEST_F(HttpTls, ConnectOverrideVerifiesTheUrlHost) {
  auto server = start_tls_server();
  ASSERT_TRUE(server);
  ClientOptions options = trusting();
  options.connect_host = "127.0.0.1";
  options.connect_port = server->port();
  Client client(options);
  auto response = client.get("https://127.0.0.1:1/over");  // port 1 is never dialled
  ASSERT_TRUE(response.ok()) << response.error().detail;
  EXPECT_EQ(response->header("x-host"), "127.0.0.1:1");
}

TEST_F(HttpTls, OversizedBodyGets413AndConnectionCloseIsHonoured) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = start_tls_server(options);
  ASSERT_TRUE(server);
  Client client(trusting());
  auto huge = client.request("POST", https_url(*server), {}, std::string(2 << 20, 'a'));
  ASSERT_TRUE(huge.ok()) << huge.error().detail;
  EXPECT_EQ(huge->status, 413);
  auto closing = client.request("GET", https_url(*server), {{"Connection", "close"}});
  ASSERT_TRUE(closing.ok()) << closing.error().detail;
  EXPECT_EQ(closing->status, 200);
  auto again = client.get(https_url(*server));
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_EQ(again->status, 200);
}

}  // namespace
}  // namespace attestlab::http

// HTTP/1.1 over TCP or TLS, server and client, built on Boost.Beast/Asio and OpenSSL.
// This header is deliberately free of Boost: the implementation lives in
// http_server.cpp / http_client.cpp so that only those translation units pay for Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace attestlab::http {

// Header names are stored lowercased.
using Headers = std::multimap<std::string, std::string>;

struct Request {
  std::string method;       // "GET", "POST", ...
  std::string target;       // path and query as sent, e.g. "/acme/order/abc"
  Headers headers;
  std::string body;
  std::string remote_addr;  // peer IP
  bool tls = false;
  std::string host() const;  // Host header
  std::optional<std::string> header(const std::string& lowercase_name) const;
};

class LaterResponse;

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, may repeat
  std::string body;
  // Set by a handler whose answer may improve shortly (see LaterResponse); the server then
  // holds the response until it is finished or its wait has passed. Ignored elsewhere.
  std::shared_ptr<LaterResponse> later;
  std::optional<std::string> header(const std::string& name) const;  // case-insensitive
  std::vector<std::string> all(const std::string& name) const;
  void set(const std::string& name, std::string value);  // replaces
  void add(const std::string& name, std::string value);  // appends
  void remove(const std::string& name);                  // every field of that name
};

// An answer that a job the request started may still improve, without an I/O thread
// waiting for it: the handler returns its answer for now with `later` set, and the server
// writes it either edited by the first finish() (from any thread, e.g. the job's) or, when
// `wait` passes first, as it is. Thread-safe; only the first finish counts. Whoever may
// finish it must be done before the server that holds the answer is destroyed (a finish
// then would reach a connection that no longer exists).
class LaterResponse {
 public:
  using Edit = std::function<void(Response&)>;
  explicit LaterResponse(std::chrono::milliseconds wait) : wait_(wait) {}
  std::chrono::milliseconds wait() const { return wait_; }
  // `edit` (may be empty: no change) is applied to the answer before it is written.
  void finish(Edit edit);
  // The server's side: `deliver` gets the first finish's edit, at once if it came already.
  void on_finish(std::function<void(Edit)> deliver);

 private:
  std::mutex mu_;
  bool finished_ = false;
  Edit edit_;
  std::function<void(Edit)> deliver_;
  const std::chrono::milliseconds wait_;
};

// Handlers run on one of the server's I/O threads and must not block for long
// (no network I/O; a local database call is fine). They must be thread-safe.
using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;        // 0 = pick a free port (see Server::port())
  std::string tls_cert_pem;      // PEM text (chain); empty = plain HTTP
  std::string tls_key_pem;
  int threads = 2;
  std::size_t max_body_bytes = 256 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  int max_connections = 1024;
  // Connections one client address may hold at once (0 = only max_connections applies);
  // beyond it new connections from that address are closed at accept.
  int max_connections_per_ip = 0;
  // A connection that waited longer than this in the kernel's listen queue before the
  // server took it (Linux's TCP_INFO: time since the client was last heard from) is refused
  // at once with a TCP reset: the server is that far behind, and a prompt refusal lets the
  // client retry, where taking it on would make it and everybody else wait longer still.
  // Idle or slow connections do not count towards it, only the server's own delay does.
  // 0 = never refuse for this.
  std::chrono::milliseconds max_accept_wait{0};
  // Connections with a request read in full and not yet answered (work the server owes:
  // handlers, answers waiting for a validation) at which new connections are refused at
  // accept with a TCP reset (0 = no bound). Clients that send slowly or not at all never
  // count, so they cannot lock others out; requests on connections already taken are never
  // refused.
  int max_busy_connections = 0;
  std::chrono::milliseconds read_timeout{10000};  // for a whole request, once started
  std::chrono::milliseconds idle_timeout{30000};  // keep-alive idle
  // Builds the answers the server gives by itself (413, 431, 400 for unparsable requests,
  // 500 when the handler throws) from a status and a one-line reason, e.g. as RFC 7807
  // problem documents. Unset: text/plain. Must not throw.
  std::function<Response(int status, const std::string& reason)> error_response;
};

// What Server::connection_stats() reads: a gauge of open and busy connections and the
// connections refused at accept since the server started, by reason.
struct ConnectionStats {
  int open = 0;                      // accepted and not yet closed
  int busy = 0;                      // of them: a request read and not yet answered
  std::uint64_t refused_behind = 0;  // waited longer than max_accept_wait to be taken
  std::uint64_t refused_busy = 0;    // max_busy_connections reached
  std::uint64_t refused_full = 0;    // max_connections or max_connections_per_ip reached
};

// An async HTTP(S) server with keep-alive. Oversized requests get 413 / 431, malformed
// ones 400, and the connection is closed; connections beyond max_connections, taken later
// than max_accept_wait or while max_busy_connections owe answers, are closed at accept.
// Thread-safe; stop() is idempotent and joins the threads.
class Server {
 public:
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler);
  virtual ~Server() = default;
  virtual std::uint16_t port() const = 0;
  // Connections open now and busy, and those refused at accept so far.
  virtual ConnectionStats connection_stats() const = 0;
  virtual void stop() = 0;
};

struct ClientOptions {
  std::string trust_ca_pem_file;  // PEM bundle to trust; empty = system default store
  bool verify_tls = true;
  std::chrono::milliseconds timeout{10000};  // connect + whole exchange
  std::string connect_host;       // if set: connect here instead of the URL's host
  std::uint16_t connect_port = 0;  // if set: connect to this port instead of the URL's
  // A response body larger than this is an error, found without reading the rest.
  std::size_t max_response_body = 10 * 1024 * 1024;
  // false: each request says "Connection: close" and has a connection of its own, closed
  // once its response is read (a validator's fetch: nothing is left open to the peer).
  bool keep_alive = true;
};

struct Url {
  std::string scheme;  // "http" | "https"
  std::string host;    // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target;  // path + query, at least "/"
  static Result<Url> parse(const std::string& url);
  std::string origin() const;  // scheme://host[:port]
};

// An HTTP client that keeps one keep-alive connection per origin and reuses it.
// One Client is NOT thread-safe; use one per thread (they are cheap).
class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Error("connection", detail) for DNS/connect/TLS/timeout failures.
  Result<Response> request(const std::string& method, const std::string& url,
                           const Headers& headers = {}, const std::string& body = "");
  Result<Response> get(const std::string& url) { return request("GET", url); }

  // Later requests use `options`; connections kept so far are closed (they were made under
  // the old ones). The io_context, and the TLS context when the trust settings are the
  // same, are kept: a caller making many one-off requests (a validation worker) need not
  // build them for each.
  void set_options(ClientOptions options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attestlab::http

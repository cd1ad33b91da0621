// http::Client: synchronous calls over a private io_context. Every step is an async
// operation bounded by one deadline (beast::tcp_stream::expires_at), run to completion on
// the calling thread, so a stalled peer can never block the caller past options.timeout.
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstring>

#include "core/ascii.h"
#include "core/http.h"

namespace attestlab::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMaxResponseBody = 10 * 1024 * 1024;
constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;
// The read buffer holds a whole header plus one read: Beast keeps an unfinished chunk-size
// line (with its extensions) or trailer section in it with no limit of its own, so a server
// sending an endless chunk extension would grow it until the deadline.
constexpr std::size_t kMaxResponseBuffer = kMaxResponseHeader + 64 * 1024;

Error connection_error(std::string detail) {
  return Error::make("connection", std::move(detail));
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (c == '\0' || std::strchr("!#$%&'*+-.^_`|~", c) == nullptr)) return false;
  }
  return true;
}

bool is_field_value(std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::string describe(const error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

std::string host_for_header(const Url& url) {
  std::string out = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  bool default_port =
      (url.scheme == "http" && url.port == 80) || (url.scheme == "https" && url.port == 443);
  if (!default_port) out += ":" + std::to_string(url.port);
  return out;
}

// One kept connection: exactly one of plain/tls is set.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer{kMaxResponseBuffer};

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

}  // namespace

struct Client::Impl {
  explicit Impl(ClientOptions opts) : options(std::move(opts)) {}

  ClientOptions options;
  // Declaration order matters: connections (and their streams) die before the TLS
  // context and the io_context they use.
  asio::io_context ioc{1};
  tcp::resolver resolver{ioc};
  std::optional<ssl::context> tls_ctx;
  std::string tls_ctx_error;
  std::map<std::string, std::unique_ptr<Connection>> connections;

  // Starts an operation with a completion handler and runs the io_context on this thread
  // until that handler ran. Deadlines are enforced by the streams themselves.
  template <class Initiate>
  error_code run(Initiate&& initiate) {
    error_code result;
    bool done = false;
    initiate([&](error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    ioc.restart();
    while (!done && ioc.run_one() > 0) {
    }
    return done ? result : error_code(asio::error::operation_aborted);
  }

  ssl::context* client_tls_context() {
    if (tls_ctx || !tls_ctx_error.empty()) return tls_ctx ? &*tls_ctx : nullptr;
    auto& ctx = tls_ctx.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    error_code ec;
    if (options.verify_tls) {
      ctx.set_verify_mode(ssl::verify_peer, ec);
      if (!options.trust_ca_pem_file.empty()) {
        ctx.load_verify_file(options.trust_ca_pem_file, ec);
        if (ec) {
          tls_ctx_error =
              "cannot load trust CA file " + options.trust_ca_pem_file + ": " + ec.message();
        }
      } else {
        ctx.set_default_verify_paths(ec);
        if (ec) tls_ctx_error = "cannot load the default trust store: " + ec.message();
      }
    } else {
      ctx.set_verify_mode(ssl::verify_none, ec);
    }
    if (!tls_ctx_error.empty()) {
      tls_ctx.reset();
      return nullptr;
    }
    return &*tls_ctx;
  }

  Result<std::vector<tcp::endpoint>> resolve(const std::string& host, std::uint16_t port,
                                             Clock::time_point deadline) {
    error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(address, port)};

    // getaddrinfo cannot be interrupted, so on timeout we stop waiting and leave the
    // lookup to finish in the background; its handler only touches `state`.
    struct State {
      bool done = false;
      error_code ec;
      std::vector<tcp::endpoint> endpoints;
    };
    auto state = std::make_shared<State>();
    resolver.async_resolve(host, std::to_string(port),
                           [state](error_code resolve_ec, tcp::resolver::results_type results) {
                             state->done = true;
                             state->ec = resolve_ec;
                             for (const auto& entry : results) {
                               state->endpoints.push_back(entry.endpoint());
                             }
                           });
    asio::steady_timer timer(ioc, deadline);
    bool timer_fired = false;
    bool timer_done = false;
    timer.async_wait([&](error_code wait_ec) {
      timer_fired = !wait_ec;
      timer_done = true;
    });
    ioc.restart();
    while (!state->done && !timer_fired && ioc.run_one() > 0) {
    }
    timer.cancel();
    while (!timer_done && ioc.run_one() > 0) {
    }
    if (!state->done) {
      resolver.cancel();
      return connection_error("resolving " + host + ": timed out");
    }
    if (state->ec) return connection_error("resolving " + host + ": " + state->ec.message());
    if (state->endpoints.empty()) return connection_error("resolving " + host + ": no address");
    return std::move(state->endpoints);
  }

  Result<std::unique_ptr<Connection>> connect(const Url& url, Clock::time_point deadline) {
    const std::string& host = options.connect_host.empty() ? url.host : options.connect_host;
    const std::uint16_t port = options.connect_port != 0 ? options.connect_port : url.port;
    auto endpoints = resolve(host, port, deadline);
    if (!endpoints) return endpoints.error();

    auto stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_at(deadline);
    error_code ec = run([&](auto handler) { stream->async_connect(*endpoints, handler); });
    if (ec) {
      return connection_error("connecting to " + host + ":" + std::to_string(port) + ": " +
                              describe(ec));
    }
    error_code ignored;
    stream->socket().set_option(tcp::no_delay(true), ignored);

    auto conn = std::make_unique<Connection>();
    if (url.scheme == "http") {
      conn->plain = std::move(stream);
      return conn;
    }

    auto* ctx = client_tls_context();
    if (ctx == nullptr) return connection_error(tls_ctx_error);
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), *ctx);
    SSL* ssl_handle = conn->tls->native_handle();
    configure_peer_identity(ssl_handle, url.host);
    conn->lowest().expires_at(deadline);
    ec = run([&](auto handler) { conn->tls->async_handshake(ssl::stream_base::client, handler); });
    if (ec) {
      std::string detail = "TLS handshake with " + url.host + ": " + describe(ec);
      long verify = SSL_get_verify_result(ssl_handle);
      if (verify != X509_V_OK) {
        detail += " (";
        detail += X509_verify_cert_error_string(verify);
        detail += ")";
      }
      return connection_error(std::move(detail));
    }
    return conn;
  }

  // SNI for names (never for IP literals, RFC 6066 §3) and the peer identity check.
  void configure_peer_identity(SSL* ssl_handle, const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    const bool is_ip = !ec;
    if (!is_ip) SSL_set_tlsext_host_name(ssl_handle, host.c_str());
    if (!options.verify_tls) return;
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), host.c_str());
    } else {
      // No fallback to the subject CN (RFC 6125 §6.4.4): only subjectAltName counts.
      SSL_set_hostflags(ssl_handle,
                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
      SSL_set1_host(ssl_handle, host.c_str());
    }
  }

  template <class Function>
  error_code with_stream(Connection& conn, Function&& function) {
    if (conn.tls) return function(*conn.tls);
    return function(*conn.plain);
  }

  Result<std::string> serialize(const std::string& method, const Url& url, const Headers& headers,
                                const std::string& body) {
    if (!is_token(method)) return Error::make("malformed", "invalid HTTP method: " + method);
    std::string out;
    out.reserve(256 + body.size());
    out.append(method).append(" ").append(url.target).append(" HTTP/1.1\r\n");
    bool has_host = false, has_user_agent = false;
    for (const auto& [name, value] : headers) {
      if (!is_token(name) || !is_field_value(value)) {
        return Error::make("malformed", "invalid HTTP header: " + name);
      }
      if (ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding") ||
          ascii_iequals(name, "connection")) {
        continue;  // framing is ours
      }
      if (ascii_iequals(name, "host")) has_host = true;
      if (ascii_iequals(name, "user-agent")) has_user_agent = true;
      out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!has_host) out.append("Host: ").append(host_for_header(url)).append("\r\n");
    if (!has_user_agent) out.append("User-Agent: attestlab\r\n");
    if (!options.keep_alive) out.append("Connection: close\r\n");
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    out.append("\r\n");
    out.append(body);
    return out;
  }

  Result<Response> request(const std::string& method, const std::string& url_text,
                           const Headers& headers, const std::string& body) {
    auto url = Url::parse(url_text);
    if (!url) return url.error();
    auto wire = serialize(method, *url, headers, body);
    if (!wire) return wire.error();
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(options.timeout);
    const std::string key = url->origin();

    for (int attempt = 0;; ++attempt) {
      auto found = connections.find(key);
      bool reused = found != connections.end();
      if (reused && found->second->buffer.size() != 0) {
        connections.erase(found);  // unsolicited bytes: the connection is out of step
        reused = false;
      }
      if (!reused) {
        auto conn = connect(*url, deadline);
        if (!conn) return conn.error();
        found = connections.insert_or_assign(key, std::move(*conn)).first;
      }
      Connection& conn = *found->second;
      conn.lowest().expires_at(deadline);
      const bool may_retry = reused && attempt == 0;

      error_code ec = with_stream(conn, [&](auto& stream) {
        return run([&](auto handler) { asio::async_write(stream, asio::buffer(*wire), handler); });
      });
      if (ec) {
        connections.erase(key);
        if (may_retry && ec != beast::error::timeout) continue;
        return connection_error("sending request to " + key + ": " + describe(ec));
      }

      auto response = read_response(conn, method == "HEAD");
      if (!response.response) {
        ec = response.error;
        connections.erase(key);
        if (may_retry && !response.got_some && ec != beast::error::timeout) continue;
        if (ec == bhttp::error::body_limit) {
          return connection_error("response body from " + key + " exceeds " +
                                  std::to_string(options.max_response_body) + " bytes");
        }
        if (ec == bhttp::error::buffer_overflow) {
          return connection_error(
              "response from " + key + ": a chunk header or trailer section exceeds " +
              std::to_string(kMaxResponseBuffer - kMaxResponseHeader) + " bytes");
        }
        return connection_error("reading response from " + key + ": " + describe(ec));
      }
      if (!response.keep_alive || !options.keep_alive) connections.erase(key);
      return std::move(*response.response);
    }
  }

  struct ReadOutcome {
    std::optional<Response> response;  // set on success
    error_code error;
    bool got_some = false;
    bool keep_alive = false;
  };

  ReadOutcome read_response(Connection& conn, bool head) {
    ReadOutcome outcome;
    for (;;) {  // interim 1xx responses are skipped
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(std::min<std::uint64_t>(kMaxResponseBody, options.max_response_body));
      parser.header_limit(kMaxResponseHeader);
      if (head) parser.skip(true);
      // Header first, then body: Beast 1.74 loses the body_limit error for an announced
      // Content-Length when the same read already holds body bytes (eager parsing), so the
      // limit is only reliable while the header is parsed on its own.
      error_code ec = with_stream(conn, [&](auto& stream) {
        return run(
            [&](auto handler) { bhttp::async_read_header(stream, conn.buffer, parser, handler); });
      });
      if (!ec && !parser.is_done()) {
        ec = with_stream(conn, [&](auto& stream) {
          return run(
              [&](auto handler) { bhttp::async_read(stream, conn.buffer, parser, handler); });
        });
      }
      outcome.got_some = outcome.got_some || parser.got_some();
      if (ec) {
        outcome.error = ec;
        return outcome;
      }
      auto& message = parser.get();
      const unsigned status = message.result_int();
      if (status >= 100 && status < 200 && status != 101) continue;
      Response response;
      response.status = static_cast<int>(status);
      for (const auto& field : message) {
        response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      response.body = std::move(message.body());
      outcome.keep_alive = parser.keep_alive();
      outcome.response = std::move(response);
      return outcome;
    }
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

void Client::set_options(ClientOptions options) {
  auto& impl = *impl_;
  impl.connections.clear();
  if (options.verify_tls != impl.options.verify_tls ||
      options.trust_ca_pem_file != impl.options.trust_ca_pem_file) {
    impl.tls_ctx.reset();
    impl.tls_ctx_error.clear();
  }
  impl.options = std::move(options);
}

Result<Response> Client::request(const std::string& method, const std::string& url,
                                 const Headers& headers, const std::string& body) {
  return impl_->request(method, url, headers, body);
}

}  // namespace attestlab::http

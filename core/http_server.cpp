// http::Server on Boost.Beast. One io_context per thread, each run by exactly that
// thread; a connection lives on one of them (round robin at accept), so its handlers never
// run concurrently and need no strand (a strand inside any_io_executor costs a heap
// allocation per operation). Requests are parsed straight into http::Request (no
// beast::fields in between) and responses are serialised by hand into a per-connection
// buffer that is reused, so a keep-alive request costs little more than the handler.
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

#include "core/http.h"

namespace attestlab::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// How long a connection we are closing may keep draining what the peer still sends, so
// that our last response is not destroyed by a TCP reset, and how much we drain at most.
constexpr std::chrono::milliseconds kLingerTimeout{2000};
constexpr std::size_t kLingerMaxBytes = 4 * 1024 * 1024;
constexpr std::size_t kFirstReadBytes = 8192;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_valid_field_value(std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

// RFC 9110 §5.6.7 IMF-fixdate of the current second, cached per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local std::size_t length = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    int n = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                          kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                          tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    length = n > 0 ? static_cast<std::size_t>(n) : 0;
    cached_second = now;
  }
  return {text, length};
}

std::string_view reason_phrase(int status) {
  auto reason = bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(status)));
  if (reason.empty() || reason.front() == '<') return "Unknown";
  return {reason.data(), reason.size()};
}

std::string peer_address(const tcp::socket& socket) {
  error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return {};
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

// Parses one request directly into an http::Request: names lowercased, body bounded.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  RequestParser(Request& out, const ServerOptions& options) : out_(out) {
    max_body_ = options.max_body_bytes;
    body_limit(max_body_);
    header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options.max_header_bytes, UINT32_MAX)));
  }

  int version() const { return version_; }
  bool expects_continue() const { return expects_continue_; }
  int host_fields() const { return host_fields_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target,
                       int version, error_code&) override {
    out_.method.assign(method.data(), method.size());
    out_.target.assign(target.data(), target.size());
    version_ = version;
  }

  void on_response_impl(int, beast::string_view, int, error_code& ec) override {
    ec = bhttp::error::bad_version;  // never called for a request parser
  }

  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     error_code&) override {
    if (header_done_) return;  // chunked trailers are not headers; ignore them
    std::string lowered(name.size(), '\0');
    std::transform(name.begin(), name.end(), lowered.begin(), ascii_lower);
    if (lowered == "host") ++host_fields_;
    if (lowered == "expect" && iequals({value.data(), value.size()}, "100-continue")) {
      expects_continue_ = true;
    }
    out_.headers.emplace(std::move(lowered), std::string(value.data(), value.size()));
  }

  void on_header_impl(error_code&) override { header_done_ = true; }

  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override {
    if (content_length) {
      if (*content_length > max_body_) {
        ec = bhttp::error::body_limit;
        return;
      }
      out_.body.reserve(static_cast<std::size_t>(*content_length));
    }
  }

  std::size_t append_body(beast::string_view data, error_code& ec) {
    if (out_.body.size() + data.size() > max_body_) {
      ec = bhttp::error::body_limit;
      return 0;
    }
    out_.body.append(data.data(), data.size());
    return data.size();
  }

  std::size_t on_body_impl(beast::string_view data, error_code& ec) override {
    return append_body(data, ec);
  }

  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data,
                                 error_code& ec) override {
    return append_body(data, ec);
  }

  void on_finish_impl(error_code&) override {}

  Request& out_;
  std::size_t max_body_ = 0;
  int version_ = 11;
  int host_fields_ = 0;
  bool header_done_ = false;
  bool expects_continue_ = false;
};

// What every session needs from its server. Outlives the io_context, hence all sessions.
struct ServerShared {
  ServerOptions options;
  Handler handler;
  std::optional<ssl::context> tls;
  std::atomic<int> live_sessions{0};
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection. All its handlers run on the one thread of its io_context.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(ServerShared& shared, tcp::socket&& socket, std::string remote_addr)
      : shared_(shared), stream_(make_stream(shared, std::move(socket))) {
    shared_.live_sessions.fetch_add(1, std::memory_order_relaxed);
    request_.remote_addr = std::move(remote_addr);
    request_.tls = kTls;
  }

  ~Session() { shared_.live_sessions.fetch_sub(1, std::memory_order_relaxed); }

  void start() {
    if constexpr (kTls) {
      lowest().expires_after(shared_.options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec) return self->close_now();
                                self->wait_request();
                              });
    } else {
      wait_request();
    }
  }

 private:
  static Stream make_stream(ServerShared& shared, tcp::socket&& socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *shared.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // Waits (idle timeout) for the first bytes of the next request; from then on the
  // whole request must arrive within the read timeout.
  void wait_request() {
    request_.method.clear();
    request_.target.clear();
    request_.headers.clear();
    if (request_.body.capacity() > 64 * 1024) {
      std::string().swap(request_.body);
    } else {
      request_.body.clear();
    }
    parser_.emplace(request_, shared_.options);
    if (buffer_.size() > 0) {  // a pipelined request is already here
      lowest().expires_after(shared_.options.read_timeout);
      return parse_buffered();
    }
    lowest().expires_after(shared_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              if (ec) return self->close_now();
                              self->buffer_.commit(n);
                              self->lowest().expires_after(self->shared_.options.read_timeout);
                              self->parse_buffered();
                            });
  }

  // Feeds what is buffered to the parser right here: a request that arrived in one
  // segment (the common case) is handled without another trip through the io_context.
  void parse_buffered() {
    error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec || used == 0) break;
    }
    if (ec && ec != bhttp::error::need_more) return on_read_error(ec);
    if (parser_->is_done()) return handle();
    if (!parser_->is_header_done()) {
      bhttp::async_read_header(stream_, buffer_, *parser_,
                               [self = this->shared_from_this()](error_code ec, std::size_t) {
                                 if (ec) return self->on_read_error(ec);
                                 self->parse_buffered();
                               });
      return;
    }
    if (parser_->expects_continue() && parser_->version() >= 11 && request_.body.empty()) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = this->shared_from_this()](error_code ec, std::size_t) {
                          if (ec) return self->close_now();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->handle();
                      });
  }

  void on_read_error(error_code ec) {
    if (ec == bhttp::error::body_limit) return respond_error(413, "request body too large\n");
    if (ec == bhttp::error::header_limit) {
      return respond_error(431, "request header fields too large\n");
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::partial_message && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::need_more) {
      return respond_error(400, "malformed request\n");
    }
    close_now();  // timeout, reset, EOF mid-request: nobody to answer
  }

  void respond_error(int status, std::string_view body) {
    response_ = Response{};
    response_.status = status;
    response_.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    response_.body.assign(body);
    write_response(/*keep_alive=*/false, /*head=*/false);
  }

  void handle() {
    // RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host.
    if (parser_->version() >= 11 && parser_->host_fields() != 1) {
      return respond_error(400, "exactly one Host header is required\n");
    }
    bool keep_alive = parser_->keep_alive();
    try {
      response_ = shared_.handler(request_);
    } catch (...) {
      response_ = Response{};
      response_.status = 500;
      response_.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      response_.body = "internal server error\n";
    }
    if (response_.status < 200 || response_.status > 599) {
      response_ = Response{};
      response_.status = 500;
      response_.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      response_.body = "handler returned an invalid status\n";
    }
    write_response(keep_alive, request_.method == "HEAD");
  }

  void write_response(bool keep_alive, bool head) {
    const int status = response_.status;
    const bool bodiless_status = status == 204 || status == 304;
    out_.clear();
    out_.append("HTTP/1.1 ");
    out_.append(std::to_string(status));
    out_.push_back(' ');
    out_.append(reason_phrase(status));
    out_.append("\r\n");
    bool has_date = false;
    for (const auto& [name, value] : response_.headers) {
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char) ||
          !is_valid_field_value(value)) {
        continue;  // never let a handler split the response
      }
      if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
      if (iequals(name, "connection")) {
        if (iequals(value, "close")) keep_alive = false;
        continue;
      }
      if (iequals(name, "date")) has_date = true;
      out_.append(name);
      out_.append(": ");
      out_.append(value);
      out_.append("\r\n");
    }
    if (!has_date) {
      out_.append("Date: ");
      out_.append(http_date());
      out_.append("\r\n");
    }
    if (!bodiless_status) {  // RFC 9110 §8.6: none on 204; on 304 it would describe the 200
      out_.append("Content-Length: ");
      out_.append(std::to_string(response_.body.size()));
      out_.append("\r\n");
    }
    if (!keep_alive) {
      out_.append("Connection: close\r\n");
    } else if (parser_ && parser_->version() < 11) {
      out_.append("Connection: keep-alive\r\n");
    }
    out_.append("\r\n");

    // One contiguous buffer: with Boost 1.74, beast::ssl_stream (flat_stream) loses the
    // second buffer of a sequence when the first write is split into TLS records, so a TLS
    // response whose body exceeds ~16 KiB never arrived. The copy costs far less than TLS.
    if (!head && !bodiless_status) out_.append(response_.body);
    lowest().expires_after(shared_.options.read_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), keep_alive](error_code ec, std::size_t) {
                        if (ec) return self->close_now();
                        if (keep_alive) return self->wait_request();
                        self->close_gracefully();
                      });
  }

  // We said "Connection: close". Half-close, then drain what the peer still sends until
  // it closes too: closing with unread input would make the kernel send a reset that can
  // destroy our response before the peer has read it (e.g. a 413 to a large upload).
  void close_gracefully() {
    response_ = Response{};
    lowest().expires_after(kLingerTimeout);
    if constexpr (kTls) {
      // Send our close_notify without waiting for the peer's: marking it as already
      // received makes SSL_shutdown complete once ours is written.
      SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
      stream_.async_shutdown([self = this->shared_from_this()](error_code ec) {
        if (ec) return self->close_now();
        self->half_close_and_linger();
      });
    } else {
      half_close_and_linger();
    }
  }

  void half_close_and_linger() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    linger(0);
  }

  // Discards raw TCP bytes (TLS records are not decrypted any more) until EOF, error,
  // the linger timeout or kLingerMaxBytes.
  void linger(std::size_t drained) {
    if (drained > kLingerMaxBytes) return close_now();
    buffer_.consume(buffer_.size());
    lowest().async_read_some(buffer_.prepare(kFirstReadBytes),
                             [self = this->shared_from_this(), drained](error_code ec,
                                                                         std::size_t n) {
                               if (ec) return self->close_now();
                               self->linger(drained + n);
                             });
  }

  void close_now() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  ServerShared& shared_;
  Stream stream_;
  beast::flat_buffer buffer_;
  Request request_;
  std::optional<RequestParser> parser_;
  Response response_;
  std::string out_;  // serialised status line and header of the response being written
};

class BeastServer final : public Server {
 public:
  BeastServer(ServerOptions options, Handler handler) {
    shared_.options = std::move(options);
    shared_.handler = std::move(handler);
  }

  ~BeastServer() override { stop(); }

  Result<void> open() {
    const auto& options = shared_.options;
    if (!options.tls_cert_pem.empty() || !options.tls_key_pem.empty()) {
      ATTESTLAB_TRY(make_tls_context());
    }
    const int threads = std::max(1, options.threads);
    for (int i = 0; i < threads; ++i) {
      // Hint 1: each io_context is run by a single thread (stop() may still come from
      // another one, so locking stays enabled).
      iocs_.push_back(std::make_unique<asio::io_context>(1));
      keep_running_.push_back(asio::make_work_guard(*iocs_.back()));
    }

    error_code ec;
    tcp::endpoint endpoint;
    auto address = asio::ip::make_address(options.host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, options.port);
    } else {
      tcp::resolver resolver(*iocs_[0]);
      auto results = resolver.resolve(options.host, std::to_string(options.port), ec);
      if (ec || results.empty()) {
        return Error::make("serverInternal", "cannot resolve listen host " + options.host);
      }
      endpoint = results.begin()->endpoint();
    }

    acceptor_ = std::make_unique<tcp::acceptor>(*iocs_[0]);
    auto fail = [&](const char* what) {
      return Error::make("serverInternal", std::string(what) + " " + options.host + ":" +
                                               std::to_string(options.port) + ": " +
                                               ec.message());
    };
    if (acceptor_->open(endpoint.protocol(), ec)) return fail("open");
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
      acceptor_->set_option(asio::ip::v6_only(false), ec);  // "::" serves IPv4 too
    }
    if (acceptor_->bind(endpoint, ec)) return fail("bind");
    if (acceptor_->listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
    port_ = acceptor_->local_endpoint(ec).port();
    if (ec) return fail("local_endpoint");
    retry_timer_ = std::make_unique<asio::steady_timer>(acceptor_->get_executor());

    accept();
    threads_.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([ioc = iocs_[static_cast<std::size_t>(i)].get()] { ioc->run(); });
    }
    return ok();
  }

  std::uint16_t port() const override { return port_; }

  // Stops accepting, abandons every session (their sockets close when the io_context
  // destroys the handlers that own them) and joins the threads. Called from one of the
  // server's own handlers, it only stops the io_context; a later call from another
  // thread (or the destructor) completes the shutdown.
  void stop() override {
    std::lock_guard lock(stop_mutex_);
    if (iocs_.empty()) return;
    for (auto& ioc : iocs_) ioc->stop();
    const auto self = std::this_thread::get_id();
    bool on_own_thread = false;
    for (auto& thread : threads_) {
      if (thread.get_id() == self) {
        on_own_thread = true;
      } else if (thread.joinable()) {
        thread.join();
      }
    }
    if (on_own_thread) return;
    threads_.clear();
    keep_running_.clear();
    retry_timer_.reset();
    acceptor_.reset();
    // The pending accept in iocs_[0] holds a socket of the next session's io_context,
    // so iocs_[0] goes first.
    for (auto& ioc : iocs_) ioc.reset();
    iocs_.clear();
  }

 private:
  Result<void> make_tls_context() {
    const auto& options = shared_.options;
    if (options.tls_cert_pem.empty() || options.tls_key_pem.empty()) {
      return Error::make("serverInternal", "TLS needs both a certificate and a key");
    }
    auto& ctx = shared_.tls.emplace(ssl::context::tls_server);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    error_code ec;
    ctx.use_certificate_chain(
        asio::buffer(options.tls_cert_pem.data(), options.tls_cert_pem.size()), ec);
    if (ec) return Error::make("serverInternal", "TLS certificate chain: " + ec.message());
    ctx.use_private_key(asio::buffer(options.tls_key_pem.data(), options.tls_key_pem.size()),
                        ssl::context::pem, ec);
    if (ec) return Error::make("serverInternal", "TLS private key: " + ec.message());
    if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      return Error::make("serverInternal", "TLS private key does not match the certificate");
    }
    SSL_CTX_set_alpn_select_cb(ctx.native_handle(), &select_http11, nullptr);
    return ok();
  }

  // Picks "http/1.1" when the client offers ALPN; without it, no protocol is selected.
  static int select_http11(SSL*, const unsigned char** out, unsigned char* outlen,
                           const unsigned char* in, unsigned int inlen, void*) {
    static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
      *out = selected;
      return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
  }

  void accept() {
    auto& session_context = *iocs_[next_context_++ % iocs_.size()];
    acceptor_->async_accept(session_context,
                            [this](error_code ec, tcp::socket socket) {
                              on_accept(ec, std::move(socket));
                            });
  }

  // The session is counted here, on the accepting thread, but runs on its socket's
  // io_context from its first operation on.
  template <class Stream>
  void launch(tcp::socket socket, std::string remote) {
    auto executor = socket.get_executor();
    auto session = std::make_shared<Session<Stream>>(shared_, std::move(socket), std::move(remote));
    asio::post(executor, [session = std::move(session)] { session->start(); });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning on a full descriptor table.
      retry_timer_->expires_after(std::chrono::milliseconds(50));
      retry_timer_->async_wait([this](error_code wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    if (shared_.live_sessions.load(std::memory_order_relaxed) >=
        shared_.options.max_connections) {
      error_code ignored;
      socket.close(ignored);
    } else {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::string remote = peer_address(socket);
      if (shared_.tls) {
        launch<TlsStream>(std::move(socket), std::move(remote));
      } else {
        launch<PlainStream>(std::move(socket), std::move(remote));
      }
    }
    accept();
  }

  // Declaration order is destruction order in reverse: shared_ must outlive iocs_.
  ServerShared shared_;
  std::vector<std::unique_ptr<asio::io_context>> iocs_;  // [i] is run by threads_[i]
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  std::size_t next_context_ = 0;  // round robin for new sessions
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::steady_timer> retry_timer_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::mutex stop_mutex_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler) {
  if (!handler) return Error::make("serverInternal", "http::Server needs a handler");
  auto server = std::make_unique<BeastServer>(std::move(options), std::move(handler));
  if (auto opened = server->open(); !opened) return opened.error();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace attestlab::http

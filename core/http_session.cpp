// One http::Server connection: read a request within its deadlines, call the handler,
// write the response, keep alive or close gracefully. All handlers of a session run on
// the one thread of its io_context, so it needs no strand (a strand inside
// any_io_executor costs a heap allocation per operation). The request, the parser's
// buffer and the serialised response are reused across keep-alive requests, so one costs
// little more than the handler. Deadlines are one timer per connection (a watchdog), not
// beast's timer per operation: moving a deadline is a store, and the timer is re-armed only
// when it fires early or must fire sooner, instead of four timerfd updates per request.
#include <openssl/ssl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <type_traits>

#include "core/http_request_parser.h"
#include "core/http_server_internal.h"

namespace attestlab::http::server_detail {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// How long a connection we are closing may keep draining what the peer still sends, so
// that our last response is not destroyed by a TCP reset, and how much we drain at most.
constexpr std::chrono::milliseconds kLingerTimeout{2000};
// Enough to swallow an 8 MiB upload sent at full speed after its 413, so the client
// reads the answer instead of a reset; beyond it the connection is reset.
constexpr std::size_t kLingerMaxBytes = 16 * 1024 * 1024;
constexpr std::size_t kFirstReadBytes = 8192;
// What the read buffer may hold beyond a whole header (which the parser needs in one piece).
// Beast keeps a chunk-size line with its extensions, and the trailer section, in the buffer
// until their line ends arrive, with no limit of its own: unbounded, a peer sending one
// endless chunk extension grew the server's memory at line rate (1 GB in 6 s here).
constexpr std::size_t kReadBeyondHeader = 64 * 1024;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection. All its handlers run on the one thread of its io_context.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // The address was admitted (ServerShared::admit_address) by the acceptor.
  Session(ServerShared& shared, tcp::socket&& socket, std::string remote_addr)
      : shared_(shared),
        stream_(make_stream(shared, std::move(socket))),
        watchdog_(stream_.get_executor()),
        remote_(remote_addr),
        buffer_(shared.options.max_header_bytes + kReadBeyondHeader) {
    shared_.live_sessions.fetch_add(1, std::memory_order_relaxed);
    request_.remote_addr = std::move(remote_addr);
    request_.tls = kTls;
  }

  ~Session() {
    set_busy(false);
    shared_.live_sessions.fetch_sub(1, std::memory_order_relaxed);
    shared_.release_address(remote_);
  }

  void start() {
    if constexpr (kTls) {
      deadline_after(shared_.options.read_timeout);
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

  // Counted in shared_.busy_sessions while the server owes an answer: from a request read
  // in full until its response is written. A client that sends slowly or not at all is not
  // busy (the read timeout deals with it), so it cannot make the server look loaded.
  void set_busy(bool busy) {
    if (busy == busy_) return;
    busy_ = busy;
    shared_.busy_sessions.fetch_add(busy ? 1 : -1, std::memory_order_relaxed);
  }

  // The connection is closed if the operation in progress has not finished by then.
  void deadline_after(std::chrono::milliseconds d) {
    deadline_ = Clock::now() + d;
    if (watchdog_armed_ && armed_for_ <= deadline_) return;  // it fires, then looks again
    arm_watchdog();
  }

  void arm_watchdog() {
    armed_for_ = deadline_;
    watchdog_armed_ = true;
    watchdog_.expires_at(deadline_);  // cancels an earlier wait (its handler sees aborted)
    // A weak reference: the watchdog alone does not keep a finished connection alive; the
    // session's destruction cancels it.
    watchdog_.async_wait([weak = this->weak_from_this()](error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      auto self = weak.lock();
      if (!self) return;
      self->watchdog_armed_ = false;
      if (Clock::now() < self->deadline_) return self->arm_watchdog();
      self->close_now();  // the pending operation completes with an error and ends the session
    });
  }

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
      deadline_after(shared_.options.read_timeout);
      return parse_buffered();
    }
    deadline_after(shared_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              if (ec) return self->close_now();
                              self->buffer_.commit(n);
                              self->deadline_after(self->shared_.options.read_timeout);
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
    if (ec == bhttp::error::body_limit) {
      return respond_error(413, "request body larger than " +
                                    std::to_string(shared_.options.max_body_bytes) + " bytes\n");
    }
    if (ec == bhttp::error::header_limit) {
      return respond_error(431, "request header fields too large\n");
    }
    if (ec == bhttp::error::buffer_overflow) {  // an unfinished chunk line or trailer
      return respond_error(400, "chunk header or trailer section longer than " +
                                    std::to_string(kReadBeyondHeader) + " bytes\n");
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::partial_message && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::need_more) {
      return respond_error(400, "malformed request\n");
    }
    close_now();  // timeout, reset, EOF mid-request: nobody to answer
  }

  // A response of our own, not the handler's.
  void set_text_response(int status, std::string_view body) {
    if (shared_.options.error_response) {
      std::string reason(body);
      while (!reason.empty() && reason.back() == '\n') reason.pop_back();
      response_ = shared_.options.error_response(status, reason);
      return;
    }
    response_ = Response{};
    response_.status = status;
    response_.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    response_.body.assign(body);
  }

  void respond_error(int status, std::string_view body) {
    set_text_response(status, body);
    write_response(/*keep_alive=*/false, /*head=*/false);
  }

  void handle() {
    set_busy(true);
    // RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host.
    if (parser_->version() >= 11 && parser_->host_fields() != 1) {
      return respond_error(400, "exactly one Host header is required\n");
    }
    bool keep_alive = parser_->keep_alive();
    try {
      response_ = shared_.handler(request_);
    } catch (...) {
      set_text_response(500, "internal server error\n");
    }
    if (response_.status < 200 || response_.status > 599) {
      set_text_response(500, "handler returned an invalid status\n");
    }
    std::shared_ptr<LaterResponse> later = std::move(response_.later);
    response_.later.reset();
    if (later) return write_later(std::move(later), keep_alive, request_.method == "HEAD");
    write_response(keep_alive, request_.method == "HEAD");
  }

  // Holds the answer until `later` is finished or its wait passes, then writes it. The
  // connection reads nothing meanwhile; the watchdog allows the wait on top of its timeout.
  void write_later(std::shared_ptr<LaterResponse> later, bool keep_alive, bool head) {
    deadline_after(later->wait() + shared_.options.read_timeout);
    auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor(), later->wait());
    // Fires at the wait's end (or when cancelled, once finished): a finish without an edit,
    // which counts only if nothing finished before.
    timer->async_wait([later](error_code) { later->finish({}); });
    later->on_finish([self = this->shared_from_this(), timer, keep_alive,
                      head](LaterResponse::Edit edit) mutable {
      // From any thread: the write happens on the connection's own.
      auto executor = self->stream_.get_executor();
      asio::post(executor, [self = std::move(self), timer = std::move(timer), keep_alive, head,
                            edit = std::move(edit)]() {
        timer->cancel();
        if (edit) {
          try {
            edit(self->response_);
          } catch (...) {
            self->set_text_response(500, "internal server error\n");
          }
        }
        self->write_response(keep_alive, head);
      });
    });
  }

  void write_response(bool keep_alive, bool head) {
    out_.clear();
    keep_alive =
        append_response_head(out_, response_, keep_alive, parser_ ? parser_->version() : 11);

    // One contiguous buffer: with Boost 1.74, beast::ssl_stream (flat_stream) loses the
    // second buffer of a sequence when the first write is split into TLS records, so a TLS
    // response whose body exceeds ~16 KiB never arrived. The copy costs far less than TLS.
    if (!head && status_has_content(response_.status)) out_.append(response_.body);
    deadline_after(shared_.options.read_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), keep_alive](error_code ec, std::size_t) {
                        if (ec) return self->close_now();
                        self->set_busy(false);
                        if (keep_alive) return self->wait_request();
                        self->close_gracefully();
                      });
  }

  // We said "Connection: close". Half-close, then drain what the peer still sends until
  // it closes too: closing with unread input would make the kernel send a reset that can
  // destroy our response before the peer has read it (e.g. a 413 to a large upload).
  void close_gracefully() {
    response_ = Response{};
    deadline_after(kLingerTimeout);
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
    lowest().async_read_some(
        buffer_.prepare(kFirstReadBytes),
        [self = this->shared_from_this(), drained](error_code ec, std::size_t n) {
          if (ec) return self->close_now();
          self->linger(drained + n);
        });
  }

  void close_now() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  using Clock = asio::steady_timer::clock_type;

  ServerShared& shared_;
  Stream stream_;
  asio::steady_timer watchdog_;
  Clock::time_point deadline_{};
  Clock::time_point armed_for_{};
  bool watchdog_armed_ = false;
  bool busy_ = false;
  const std::string remote_;
  beast::flat_buffer buffer_;
  Request request_;
  std::optional<RequestParser> parser_;
  Response response_;
  std::string out_;  // the serialised response being written, head and body
};

// The session is counted here, on the accepting thread, but runs on its socket's
// io_context from its first operation on.
template <class Stream>
void launch(ServerShared& shared, tcp::socket&& socket, std::string&& remote_addr) {
  auto executor = socket.get_executor();
  auto session =
      std::make_shared<Session<Stream>>(shared, std::move(socket), std::move(remote_addr));
  asio::post(executor, [session = std::move(session)] { session->start(); });
}

}  // namespace

bool ServerShared::admit_address(const std::string& remote) {
  if (options.max_connections_per_ip <= 0) return true;
  std::lock_guard lock(per_ip_mutex);
  int& count = per_ip[remote];
  if (count >= options.max_connections_per_ip) return false;
  ++count;
  return true;
}

void ServerShared::release_address(const std::string& remote) {
  if (options.max_connections_per_ip <= 0) return;
  std::lock_guard lock(per_ip_mutex);
  auto it = per_ip.find(remote);
  if (it != per_ip.end() && --it->second <= 0) per_ip.erase(it);
}

void launch_session(ServerShared& shared, tcp::socket socket, std::string remote_addr) {
  if (shared.tls) {
    launch<TlsStream>(shared, std::move(socket), std::move(remote_addr));
  } else {
    launch<PlainStream>(shared, std::move(socket), std::move(remote_addr));
  }
}

}  // namespace attestlab::http::server_detail

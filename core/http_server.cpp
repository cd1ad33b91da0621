// http::Server on Boost.Beast: the listener and its threads. One io_context per thread,
// each run by exactly that thread; an accepted connection is handed to one of them (round
// robin) and lives there as a session (http_session.cpp) until it ends.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/http_server_internal.h"
#include "core/thread_name.h"

namespace attestlab::http {
namespace server_detail {
namespace {

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

// How long the client of a just-accepted connection has waited since it was last heard
// from (its handshake's last ACK or its first bytes): the connection's time in the listen
// queue. Zero when the kernel does not say.
std::chrono::milliseconds accept_wait(tcp::socket& socket) {
  tcp_info info{};
  socklen_t size = sizeof info;
  if (::getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &size) != 0 ||
      size < offsetof(tcp_info, tcpi_last_ack_recv) + sizeof info.tcpi_last_ack_recv)
    return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(info.tcpi_last_ack_recv);
}

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
      ATTESTLAB_TRY(make_server_tls_context(shared_));
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
                                               std::to_string(options.port) + ": " + ec.message());
    };
    if (acceptor_->open(endpoint.protocol(), ec)) return fail("open");
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
      acceptor_->set_option(asio::ip::v6_only(false), ec);  // "::" serves IPv4 too
    }
    if (acceptor_->bind(endpoint, ec)) return fail("bind");
    if (acceptor_->listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
    // on_accept takes what else is queued with non-blocking accepts.
    if (acceptor_->non_blocking(true, ec)) return fail("set non-blocking");
    port_ = acceptor_->local_endpoint(ec).port();
    if (ec) return fail("local_endpoint");
    retry_timer_ = std::make_unique<asio::steady_timer>(acceptor_->get_executor());

    accept();
    threads_.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([ioc = iocs_[static_cast<std::size_t>(i)].get(), i] {
        name_this_thread("http-io-" + std::to_string(i));
        ioc->run();
      });
    }
    return ok();
  }

  std::uint16_t port() const override { return port_; }
  ConnectionStats connection_stats() const override {
    ConnectionStats stats;
    stats.open = shared_.live_sessions.load(std::memory_order_relaxed);
    stats.busy = shared_.busy_sessions.load(std::memory_order_relaxed);
    stats.refused_behind = shared_.refused_behind.load(std::memory_order_relaxed);
    stats.refused_busy = shared_.refused_busy.load(std::memory_order_relaxed);
    stats.refused_full = shared_.refused_full.load(std::memory_order_relaxed);
    return stats;
  }

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
  // Connections taken from the kernel's queue per turn of the accepting thread: one by the
  // pending async_accept, the rest by non-blocking accepts. One per turn let the queue grow
  // behind the requests in progress until clients timed out in it, unanswered.
  static constexpr int kAcceptBatch = 32;

  // The io_context of the next session. The round robin moves on only for a connection
  // taken: an empty try must not skip a thread, or single arrivals all land on one.
  asio::io_context& session_context() { return *iocs_[next_context_ % iocs_.size()]; }

  void accept() {
    acceptor_->async_accept(session_context(), [this](error_code ec, tcp::socket socket) {
      on_accept(ec, std::move(socket));
    });
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
    ++next_context_;
    admit(std::move(socket));
    for (int i = 1; i < kAcceptBatch; ++i) {
      tcp::socket next(session_context());
      if (acceptor_->accept(next, ec)) break;  // would_block: the queue is empty
      ++next_context_;
      admit(std::move(next));
    }
    accept();
  }

  void admit(tcp::socket socket) {
    const auto& options = shared_.options;
    error_code ignored;
    // Overloaded: a reset now tells the client at once, where a session would have waited
    // behind the work already taken on until the client gave up.
    std::atomic<std::uint64_t>* refused = nullptr;
    if (options.max_busy_connections > 0 &&
        shared_.busy_sessions.load(std::memory_order_relaxed) >= options.max_busy_connections) {
      refused = &shared_.refused_busy;
    } else if (options.max_accept_wait.count() > 0 &&
               accept_wait(socket) > options.max_accept_wait) {
      refused = &shared_.refused_behind;
    }
    if (refused != nullptr) {
      refused->fetch_add(1, std::memory_order_relaxed);
      socket.set_option(asio::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
      return;
    }
    std::string remote = peer_address(socket);
    if (shared_.live_sessions.load(std::memory_order_relaxed) >= options.max_connections ||
        !shared_.admit_address(remote)) {
      shared_.refused_full.fetch_add(1, std::memory_order_relaxed);
      socket.close(ignored);
      return;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    launch_session(shared_, std::move(socket), std::move(remote));
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
}  // namespace server_detail

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler) {
  if (!handler) return Error::make("serverInternal", "http::Server needs a handler");
  auto server =
      std::make_unique<server_detail::BeastServer>(std::move(options), std::move(handler));
  if (auto opened = server->open(); !opened) return opened.error();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace attestlab::http

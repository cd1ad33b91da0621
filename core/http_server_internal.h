// Declarations shared by the translation units of http::Server (http_server.cpp: listener
// and threads; http_server_tls.cpp: TLS context; http_session.cpp: one connection;
// http_request_parser.cpp; http_response_head.cpp). Internal: it pulls in Asio, so only
// those files include it; everybody else uses core/http.h.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/ascii.h"
#include "core/http.h"
#include "core/result.h"

namespace attestlab::http::server_detail {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// What every session needs from its server. Outlives the io_contexts, hence all sessions.
struct ServerShared {
  ServerOptions options;
  Handler handler;
  std::optional<ssl::context> tls;  // set = every connection speaks TLS
  std::atomic<int> live_sessions{0};
  // Sessions owing an answer (Session::set_busy), and the connections refused at accept, by
  // reason (ConnectionStats).
  std::atomic<int> busy_sessions{0};
  std::atomic<std::uint64_t> refused_behind{0};
  std::atomic<std::uint64_t> refused_busy{0};
  std::atomic<std::uint64_t> refused_full{0};
  // Live sessions per client address, kept when options.max_connections_per_ip > 0.
  std::mutex per_ip_mutex;
  std::unordered_map<std::string, int> per_ip;

  // Counts a session of `remote` unless the address is at its cap (then false).
  bool admit_address(const std::string& remote);
  void release_address(const std::string& remote);
};

// Builds shared.tls from options.tls_cert_pem / tls_key_pem (TLS 1.2+, ALPN http/1.1).
// Error("serverInternal") when either is missing or they do not fit together.
Result<void> make_server_tls_context(ServerShared& shared);

// Serves one accepted connection on the io_context its socket belongs to, until the
// connection ends. Counted in shared.live_sessions from this call on; shared must outlive
// that io_context.
void launch_session(ServerShared& shared, tcp::socket socket, std::string remote_addr);

// Appends the status line and header block of response (with Date, Content-Length and
// Connection as needed) to out, and the blank line after it; header fields a handler got wrong are
// dropped, never sent. keep_alive is what the request asked for; the result is whether the
// connection stays open after this response (a handler's "Connection: close" ends it).
// request_version is 10 or 11. Does not append the body.
bool append_response_head(std::string& out, const Response& response, bool keep_alive,
                          int request_version);

// RFC 9110 §8.6: a 204 carries no content; a 304's would describe the 200 it stands for.
inline bool status_has_content(int status) {
  return status != 204 && status != 304;
}

}  // namespace attestlab::http::server_detail

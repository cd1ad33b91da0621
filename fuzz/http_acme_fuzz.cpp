// HTTP/1.1 requests into the ACME server, in process: the server's own request parser
// (core/http_request_parser.h, as http_session.cpp feeds it) and, for every request it
// accepts, AcmeServer::handle (routing, JWS checks, handlers, envelope). One server on a
// temporary data directory serves the whole run; nothing is sent over its socket.
// Input: raw request bytes (request line, header, body).
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/http_request_parser.h"
#include "server/acme/acme_server.h"

using namespace attestlab;

namespace {

struct FuzzServer {
  std::string dir;
  std::unique_ptr<server::AcmeServer> server;

  FuzzServer() {
    char tmpl[] = "/tmp/attestlab-fuzz-http-XXXXXX";
    if (!mkdtemp(tmpl)) abort();
    dir = tmpl;
    server::ServerConfig config;
    config.listen_host = "127.0.0.1";
    config.listen_port = 0;
    config.data_dir = dir;
    config.io_threads = 1;
    config.validation_threads = 1;
    auto started = server::AcmeServer::start(config);
    if (!started) abort();
    server = std::move(*started);
  }
  ~FuzzServer() {
    server.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FuzzServer fuzz_server;
  http::ServerOptions options;
  http::Request request;
  http::server_detail::RequestParser parser(request, options);
  parser.eager(true);
  boost::beast::error_code ec;
  boost::asio::const_buffer input(data, size);
  while (input.size() > 0 && !parser.is_done()) {
    std::size_t used = parser.put(input, ec);
    input += used;
    if (ec || used == 0) break;
  }
  // A request ends with its header or its body, never at EOF (http_session.cpp waits or
  // times out): an unfinished one is not handled.
  if (ec || !parser.is_done()) return 0;
  if (parser.version() >= 11 && parser.host_fields() != 1) return 0;  // refused before routing
  request.remote_addr = "127.0.0.1";
  request.tls = true;
  http::Response response = fuzz_server.server->handle(request);
  if (response.status < 200 || response.status > 599) abort();  // http_session would 500
  return 0;
}

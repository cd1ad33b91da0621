#include "client/http01_responder.h"

#include <thread>

#include "core/host_port.h"

namespace attestlab::client {

Result<std::unique_ptr<Http01Responder>> Http01Responder::start(const std::string& listen) {
  auto hp = parse_host_port(listen);
  if (!hp) return Error::make("malformed", "http01.listen \"" + listen + "\" is not HOST:PORT");
  std::unique_ptr<Http01Responder> responder(new Http01Responder());
  http::ServerOptions options;
  options.host = hp->host;
  options.port = hp->port;
  // Several validations may be held back at once (see provide's delay).
  options.threads = 4;
  Http01Responder* self = responder.get();
  auto server =
      http::Server::start(options, [self](const http::Request& r) { return self->handle(r); });
  if (!server) {
    return Error::make("connection", "http-01 responder cannot listen on " + listen + ": " +
                                         server.error().detail);
  }
  responder->server_ = std::move(server.value());
  return responder;
}

Http01Responder::~Http01Responder() {
  if (server_) server_->stop();
}

http::Response Http01Responder::handle(const http::Request& request) {
  static const std::string kPrefix = "/.well-known/acme-challenge/";
  http::Response response;
  std::string target = request.target.substr(0, request.target.find('?'));
  if (request.method != "GET" || target.compare(0, kPrefix.size(), kPrefix) != 0) {
    response.status = 404;
    return response;
  }
  const std::string token = target.substr(kPrefix.size());
  std::string body;
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(mu_);
    auto it = answers_.find(token);
    if (it == answers_.end()) {
      response.status = 404;
      return response;
    }
    ++it->second.hits;
    body = it->second.body;
    delay = it->second.delay;
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  response.status = 200;
  response.set("Content-Type", "application/octet-stream");
  response.body = body;
  return response;
}

void Http01Responder::provide(const std::string& token, std::string body,
                              std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  Answer& a = answers_[token];
  a.body = std::move(body);
  a.delay = delay;
}

void Http01Responder::withdraw(const std::string& token) {
  std::lock_guard lock(mu_);
  answers_.erase(token);
}

int Http01Responder::hits(const std::string& token) const {
  std::lock_guard lock(mu_);
  auto it = answers_.find(token);
  return it == answers_.end() ? 0 : it->second.hits;
}

std::uint16_t Http01Responder::port() const {
  return server_ ? server_->port() : 0;
}

}  // namespace attestlab::client

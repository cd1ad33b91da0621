// AcmeServer: start-up (store, CA, TLS, validators), prefix routing without regular
// expressions, and the per-request envelope (nonce, index link, metrics, log line).
#include "server/acme/acme_server.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "core/bytes.h"
#include "core/pki.h"
#include "server/acme/acme_context.h"
#include "server/acme/acme_tls.h"
#include "server/acme/cert_profiles.h"
#include "server/acme/heap_trim.h"
#include "server/acme/problem.h"
#include "server/faults.h"

namespace attestlab::server {

namespace {

// Free heap the allocator may keep before HeapTrimmer gives it back.
constexpr std::size_t kHeapTrimAbove = std::size_t{1} << 20;

namespace fs = std::filesystem;
constexpr std::size_t kMaxIdLength = 100;

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<std::map<std::string, Bytes>> load_eab_keys(const std::string& path) {
  std::map<std::string, Bytes> keys;
  if (path.empty()) return keys;
  auto text = pki::read_file(path);
  if (!text) return text.error();
  auto json = parse_json(*text);
  if (!json || !json->is_object()) {
    return Error::make("serverInternal",
                       path + ": expected a JSON object {\"kid\": \"base64url key\"}");
  }
  for (const auto& [kid, value] : json->items()) {
    if (!value.is_string())
      return Error::make("serverInternal", path + ": key of \"" + kid + "\" is not a string");
    auto key = base64url_decode(value.get<std::string>());
    if (!key || key->empty()) {
      return Error::make("serverInternal", path + ": key of \"" + kid + "\" is not base64url");
    }
    keys[kid] = std::move(*key);
  }
  return keys;
}

std::string directory_body(const AcmeContext& ctx) {
  Json meta = Json::object();
  meta["termsOfService"] = ctx.config.terms_of_service;
  meta["externalAccountRequired"] = ctx.config.eab_required;
  meta["profiles"] = profiles_meta(ctx.config);  // draft-ietf-acme-profiles §3
  Json directory = Json::object();
  directory["newNonce"] = ctx.urls.new_nonce;
  directory["newAccount"] = ctx.urls.new_account;
  directory["newOrder"] = ctx.urls.new_order;
  directory["revokeCert"] = ctx.urls.revoke_cert;
  directory["keyChange"] = ctx.urls.key_change;
  directory["renewalInfo"] = ctx.urls.renewal_info;  // RFC 9773 §3
  directory["meta"] = std::move(meta);
  return directory.dump();
}

http::Response method_not_allowed(const char* allow) {
  auto response =
      problem_response(Error::make("methodNotAllowed", std::string("use ") + allow, 405));
  response.set("Allow", allow);
  return response;
}

http::Response not_found() {
  return problem_response(Error::make("notFound", "no such resource", 404));
}

// Every response to a POST carries a fresh nonce and the index link (RFC 8555 §6.5, §7.1).
void add_post_envelope(AcmeContext& ctx, http::Response& response) {
  if (!(ATTESTLAB_FAULT(no_replay_nonce_on_errors) && response.status >= 400)) {
    response.set("Replay-Nonce", ctx.nonces->issue());
  }
  response.add("Link", ctx.urls.index_link);
}

template <class Fn>
http::Response post_route(AcmeContext& ctx, const http::Request& request, Fn&& fn) {
  if (request.method != "POST") return method_not_allowed("POST");
  Result<http::Response> result = fn();
  http::Response response = result ? std::move(*result) : problem_response(result.error());
  add_post_envelope(ctx, response);
  return response;
}

http::Response new_nonce(AcmeContext& ctx, const http::Request& request) {
  if (request.method != "HEAD" && request.method != "GET") return method_not_allowed("GET, HEAD");
  http::Response response;
  response.status = request.method == "HEAD" ? 200 : 204;
  response.set("Replay-Nonce", ctx.nonces->issue());
  response.set("Cache-Control", "no-store");
  response.add("Link", ctx.urls.index_link);
  return response;
}

http::Response route(AcmeContext& ctx, const http::Request& request, RequestInfo& info) {
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));

  if (path == "/healthz") {
    info.route = Route::Healthz;
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET");
    http::Response response;
    response.set("Content-Type", "text/plain");
    response.body = "ok";
    return response;
  }
  if (path == "/metrics") {
    info.route = Route::Metrics;
    if (request.method != "GET") return method_not_allowed("GET");
    http::Response response;
    response.set("Content-Type", "text/plain; version=0.0.4");
    response.body = ctx.metrics.render();
    return response;
  }

  constexpr std::string_view kPrefix = "/acme/";
  auto unknown = [&]() {
    info.route = Route::NotFound;
    auto response = not_found();
    if (request.method == "POST") add_post_envelope(ctx, response);
    return response;
  };
  if (path.substr(0, kPrefix.size()) != kPrefix) return unknown();
  std::string_view rest = path.substr(kPrefix.size());
  auto slash = rest.find('/');
  std::string_view resource = rest.substr(0, slash);
  std::string_view id, sub;
  if (resource == "renewal-info" && slash != std::string_view::npos) {
    // Before the id syntax check: a malformed CertID is a 400 malformed (RFC 9773 §4.1).
    info.route = Route::RenewalInfo;
    std::string cert_id(rest.substr(slash + 1));
    Result<http::Response> result = handle_renewal_info(ctx, request, cert_id, info);
    return result ? std::move(*result) : problem_response(result.error());
  }
  if (slash != std::string_view::npos) {
    id = rest.substr(slash + 1);
    auto second = id.find('/');
    if (second != std::string_view::npos) {
      sub = id.substr(second + 1);
      id = id.substr(0, second);
      if (sub.empty() || sub.find('/') != std::string_view::npos) return unknown();
    }
    if (!is_valid_id(id)) return unknown();
  }
  bool bare = slash == std::string_view::npos;

  if (bare) {
    if (resource == "directory") {
      info.route = Route::Directory;
      if (request.method != "GET") return method_not_allowed("GET");
      http::Response response;
      response.set("Content-Type", "application/json");
      response.body = ctx.directory_body;
      return response;
    }
    if (resource == "new-nonce") {
      info.route = Route::NewNonce;
      return new_nonce(ctx, request);
    }
    if (resource == "new-account") {
      info.route = Route::NewAccount;
      return post_route(ctx, request, [&] { return handle_new_account(ctx, request, info); });
    }
    if (resource == "new-order") {
      info.route = Route::NewOrder;
      return post_route(ctx, request, [&] { return handle_new_order(ctx, request, info); });
    }
    if (resource == "revoke-cert") {
      info.route = Route::RevokeCert;
      return post_route(ctx, request, [&] { return handle_revoke(ctx, request, info); });
    }
    if (resource == "key-change") {
      info.route = Route::KeyChange;
      return post_route(ctx, request, [&] { return handle_key_change(ctx, request, info); });
    }
    return unknown();
  }

  std::string ident(id);
  if (resource == "acct") {
    if (sub.empty()) {
      info.route = Route::Account;
      return post_route(ctx, request, [&] { return handle_account(ctx, request, ident, info); });
    }
    if (sub == "orders") {
      info.route = Route::AccountOrders;
      return post_route(ctx, request,
                        [&] { return handle_account_orders(ctx, request, ident, info); });
    }
    return unknown();
  }
  if (resource == "order") {
    if (sub.empty()) {
      info.route = Route::Order;
      return post_route(ctx, request, [&] { return handle_order(ctx, request, ident, info); });
    }
    if (sub == "finalize") {
      info.route = Route::Finalize;
      return post_route(ctx, request, [&] { return handle_finalize(ctx, request, ident, info); });
    }
    return unknown();
  }
  if (!sub.empty()) return unknown();
  if (resource == "authz") {
    info.route = Route::Authz;
    return post_route(ctx, request, [&] { return handle_authz(ctx, request, ident, info); });
  }
  if (resource == "chall") {
    info.route = Route::Challenge;
    return post_route(ctx, request, [&] { return handle_challenge(ctx, request, ident, info); });
  }
  if (resource == "cert") {
    info.route = Route::Certificate;
    return post_route(ctx, request, [&] { return handle_certificate(ctx, request, ident, info); });
  }
  return unknown();
}

}  // namespace

struct AcmeServer::Impl {
  std::unique_ptr<AcmeContext> ctx;
  // Before http: the metrics, rendered only by HTTP requests, read the trimmer's counters.
  std::unique_ptr<HeapTrimmer> trimmer;
  std::unique_ptr<http::Server> http;
  std::string tls_cert_pem;
  std::uint16_t port = 0;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopped{false};

  http::Response handle(const http::Request& request) {
    if (!ready.load(std::memory_order_acquire)) {
      return problem_response(Error::make("serverInternal", "starting up", 503));
    }
    AcmeContext& c = *ctx;
    auto started = std::chrono::steady_clock::now();
    RequestInfo info;
    http::Response response;
    try {
      response = route(c, request, info);
    } catch (const std::exception& e) {
      response = problem_response(Error::make("serverInternal", "internal error"));
      c.logger.event(LogLevel::Info, "handler exception",
                     Json{{"what", e.what()}, {"target", request.target}});
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    c.metrics.observe_request(info.route, response.status, seconds);
    if (c.logger.enabled(LogLevel::Info)) {
      std::string_view detail;
      if (response.status >= 400 && c.logger.enabled(LogLevel::Debug)) detail = response.body;
      c.logger.request(request.method, route_name(info.route), response.status, seconds * 1000.0,
                       info.account_id, detail);
    }
    return response;
  }
};

AcmeServer::AcmeServer() : impl_(std::make_unique<Impl>()) {}

AcmeServer::~AcmeServer() {
  stop();
}

Result<std::unique_ptr<AcmeServer>> AcmeServer::start(ServerConfig config,
                                                      std::shared_ptr<Clock> clock,
                                                      LogLevel log_level) {
  return start(std::move(config), std::move(clock), log_level, nullptr);
}

Result<std::unique_ptr<AcmeServer>> AcmeServer::start(
    ServerConfig config, std::shared_ptr<Clock> clock, LogLevel log_level,
    std::unique_ptr<DeviceAttestValidator> validator) {
  if (!clock) clock = SystemClock::instance();
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return Error::make("serverInternal", config.data_dir + ": " + ec.message());

  // Processes starting on one data dir take turns: the first creates the database, the CA,
  // the TLS identity and the nonce key, the others load them (flock, released by close
  // when start returns).
  const std::string lock_path = config.data_dir + "/.startup.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX) != 0) {
    if (lock_fd >= 0) ::close(lock_fd);
    return Error::make("serverInternal", "cannot lock " + lock_path);
  }
  struct LockRelease {
    int fd;
    ~LockRelease() { ::close(fd); }
  } release{lock_fd};

  auto ctx = std::make_unique<AcmeContext>();
  ctx->config = config;
  auto limits = load_rate_limits(config.policy_file, config.limits);
  if (!limits) return limits.error();
  ctx->config.limits = *limits;
  ctx->clock = clock;
  ctx->logger = Logger(log_level);
  std::string store_spec =
      config.store_spec.empty() ? "sqlite:" + config.data_dir + "/attestlab.db" : config.store_spec;
  auto store = open_store(store_spec);
  if (!store)
    return Error::make("serverInternal", "store " + store_spec + ": " + store.error().detail);
  ctx->store = std::move(*store);

  auto ca = IssuingCa::load_or_create(config.data_dir + "/ca", clock->now());
  if (!ca) return ca.error();
  ctx->ca = std::move(*ca);
  auto tls = load_or_create_tls_identity(config, clock->now());
  if (!tls) return tls.error();
  auto eab_keys = load_eab_keys(config.eab_keys_file);
  if (!eab_keys) return eab_keys.error();
  ctx->eab_keys = std::move(*eab_keys);

  if (!validator) {
    auto created = DeviceAttestValidator::create(config, clock);
    if (!created) return created.error();
    validator = std::move(*created);
  }
  ctx->device_validator = std::move(validator);
  ctx->metrics.register_attestation_rules(device_attest_rules());
  Metrics* metrics = &ctx->metrics;  // stable: the context is heap-allocated
  ctx->device_validator->set_decision_hook(
      [metrics](const std::string& outcome, const std::string& rule) {
        metrics->attestation_decision(outcome, rule);
      });
  auto settled = settle_interrupted_finalizations(*ctx);
  if (!settled) return settled.error();
  auto nonces = NonceService::open(*ctx->store, clock, config.nonce_lifetime);
  if (!nonces) return nonces.error();
  ctx->nonces = std::move(*nonces);
  ctx->validation_options.dns_server = config.dns_server;
  ctx->validation_options.http01_port = config.http01_port;
  for (const auto& cidr : config.validation_deny) {
    if (!valid_cidr(cidr))
      return Error::make("malformed", "--validation-deny " + cidr + ": not a CIDR");
  }
  ctx->validation_options.deny_cidrs = config.validation_deny;
  ctx->pool = std::make_unique<ValidationPool>(
      config.validation_threads,
      static_cast<std::size_t>(std::max(1, config.validation_queue_limit)));

  std::unique_ptr<AcmeServer> server(new AcmeServer());
  Impl* impl = server->impl_.get();
  impl->ctx = std::move(ctx);
  impl->tls_cert_pem = tls->cert_pem;

  http::ServerOptions options;
  options.host = config.listen_host;
  options.port = config.listen_port;
  options.tls_cert_pem = tls->cert_pem;
  options.tls_key_pem = tls->key_pem;
  options.threads = config.io_threads;
  options.max_connections = config.max_connections;
  options.max_connections_per_ip = std::min(config.max_connections_per_ip, config.max_connections);
  options.max_accept_wait = config.max_accept_wait;
  options.max_busy_connections = config.max_busy_connections;
  // Refusals made before a request reaches the router (body or header too large,
  // unparsable HTTP, a throwing handler) are problem documents too (RFC 8555 §6.7).
  options.error_response = [](int status, const std::string& reason) {
    return problem_response(
        Error::make(status >= 500 ? "serverInternal" : "malformed", reason, status));
  };
  auto http_server =
      http::Server::start(options, [impl](const http::Request& r) { return impl->handle(r); });
  if (!http_server) {
    impl->ctx->pool->stop();
    return Error::make("serverInternal", "cannot listen on " + config.listen_host + ":" +
                                             std::to_string(config.listen_port) + ": " +
                                             http_server.error().detail);
  }
  impl->http = std::move(*http_server);
  impl->port = impl->http->port();
  // The HTTP server lives as long as the metrics (both are Impl's), stopped or not.
  impl->ctx->metrics.set_connections(
      [http = impl->http.get()] { return http->connection_stats(); });
  std::string public_host = config.listen_host;
  if (public_host == "0.0.0.0" || public_host.empty()) public_host = "127.0.0.1";
  if (public_host == "::") public_host = "::1";
  impl->ctx->urls = AcmeUrls::make(public_host, impl->port);
  impl->ctx->directory_body = directory_body(*impl->ctx);
  impl->trimmer =
      std::make_unique<HeapTrimmer>(impl->ctx->config.heap_trim_interval, kHeapTrimAbove);
  impl->ctx->metrics.set_heap_trims([trimmer = impl->trimmer.get()] {
    return Metrics::HeapTrims{trimmer->trims(), trimmer->trim_nanos()};
  });
  impl->ready.store(true, std::memory_order_release);
  return server;
}

std::string AcmeServer::directory_url() const {
  return impl_->ctx->urls.directory;
}

std::uint16_t AcmeServer::port() const {
  return impl_->port;
}

const std::string& AcmeServer::tls_certificate_pem() const {
  return impl_->tls_cert_pem;
}

Metrics& AcmeServer::metrics() {
  return impl_->ctx->metrics;
}

http::Response AcmeServer::handle(const http::Request& request) {
  return impl_->handle(request);
}

void AcmeServer::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  // The workers first: a validation may still finish a challenge response a connection
  // holds (http::LaterResponse), which must happen while the connections' I/O contexts
  // exist; stopping the HTTP server destroys them.
  if (impl_->ctx && impl_->ctx->pool) impl_->ctx->pool->stop();
  if (impl_->http) impl_->http->stop();
  if (impl_->trimmer) impl_->trimmer->stop();
}

}  // namespace attestlab::server

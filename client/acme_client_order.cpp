// AcmeClient's order flows (RFC 8555 §7.4, §7.5): create and read orders, read
// authorizations and challenges, answer and deactivate them, and poll both until the
// server has decided.
#include <algorithm>
#include <thread>

#include "client/acme_client.h"
#include "client/acme_client_internal.h"
#include "client/url_reference.h"

namespace attestlab::client {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

Result<Order> AcmeClient::new_order(const std::vector<Identifier>& identifiers) {
  NewOrderRequest req;
  req.identifiers = identifiers;
  return new_order(req);
}

Result<Order> AcmeClient::new_order(const NewOrderRequest& req) {
  ATTESTLAB_TRY(need_account());
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  Json ids = Json::array();
  for (const auto& id : req.identifiers) ids.push_back(id.to_json());
  Json payload = {{"identifiers", ids}};
  if (req.not_before) payload["notBefore"] = *req.not_before;
  if (req.not_after) payload["notAfter"] = *req.not_after;
  if (req.profile) payload["profile"] = *req.profile;
  if (req.replaces) payload["replaces"] = *req.replaces;
  auto r = post(dir->new_order, payload);
  auto json = expect_json(r);
  if (!json.ok()) return json.error();
  auto url = location_url(*r, dir->new_order);
  if (!url.ok()) return url.error();
  return Order::from_json(*json, *url);
}

Result<Order> AcmeClient::get_order(const std::string& url) {
  auto json = expect_json(post(url, std::nullopt));
  if (!json.ok()) return json.error();
  return Order::from_json(*json, url);
}

Result<Authorization> AcmeClient::get_authz(const std::string& url) {
  auto json = expect_json(post(url, std::nullopt));
  if (!json.ok()) return json.error();
  return Authorization::from_json(*json, url);
}

Result<Challenge> AcmeClient::get_challenge(const std::string& url) {
  auto json = expect_json(post(url, std::nullopt));
  if (!json.ok()) return json.error();
  return Challenge::from_json(*json);
}

Result<Challenge> AcmeClient::respond_challenge(const std::string& url, const Json& payload) {
  auto json = expect_json(post(url, payload));
  if (!json.ok()) return json.error();
  return Challenge::from_json(*json);
}

Result<Authorization> AcmeClient::deactivate_authz(const std::string& url) {
  auto json = expect_json(post(url, Json{{"status", "deactivated"}}));
  if (!json.ok()) return json.error();
  return Authorization::from_json(*json, url);
}

milliseconds AcmeClient::sleep_for(milliseconds d) {
  if (d <= milliseconds::zero()) return milliseconds::zero();
  if (options_.sleep) return std::max(options_.sleep(d), milliseconds::zero());
  std::this_thread::sleep_for(d);
  return d;
}

milliseconds AcmeClient::retry_delay(const http::Response& r) const {
  if (auto value = r.header("retry-after")) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (auto seconds = parse_retry_after(*value, now)) {
      // "Retry-After: 0" must not turn the poll into a busy loop.
      return std::max(milliseconds(*seconds * 1000), milliseconds(50));
    }
  }
  return options_.poll_interval;
}

namespace {

// Shared loop of poll_authz / poll_order: fetch, stop when done, else wait. Elapsed time
// is the larger of real time and the time the sleep hook reports it slept (not the time
// asked for: a hook may cap a long Retry-After), so a virtual-time hook (which returns at
// once) still reaches the deadline and a capping hook does not reach it early.
template <class T, class Fetch, class Done>
Result<T> poll_until(Fetch fetch, Done done, milliseconds timeout, const char* what,
                     const std::function<milliseconds()>& delay,
                     const std::function<milliseconds(milliseconds)>& sleep) {
  const auto started = SteadyClock::now();
  milliseconds slept{0};
  for (;;) {
    Result<T> current = fetch();
    if (!current.ok() || done(*current)) return current;
    const auto real = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started);
    const auto remaining = timeout - std::max(real, slept);
    if (remaining <= milliseconds::zero()) {
      return Error::make(kErrorTimeout, std::string(what) + " still \"" + current->status +
                                            "\" after " + std::to_string(timeout.count()) + " ms");
    }
    slept += sleep(std::min(delay(), remaining));
  }
}

}  // namespace

template <class T>
Result<T> AcmeClient::poll(Result<T> (AcmeClient::*get)(const std::string&), const std::string& url,
                           milliseconds timeout, bool (*done)(const T&), const char* what) {
  if (timeout <= milliseconds::zero()) timeout = options_.poll_timeout;
  return poll_until<T>(
      [&] {
        ++stats_.polls;
        return (this->*get)(url);
      },
      done, timeout, what,
      [&] { return last_response_ ? retry_delay(*last_response_) : options_.poll_interval; },
      [&](milliseconds d) { return sleep_for(d); });
}

Result<Authorization> AcmeClient::poll_authz(const std::string& url, milliseconds timeout) {
  return poll<Authorization>(
      &AcmeClient::get_authz, url, timeout,
      [](const Authorization& a) { return a.status != "pending"; }, "authorization");
}

Result<Order> AcmeClient::poll_order(const std::string& url, milliseconds timeout) {
  return poll<Order>(
      &AcmeClient::get_order, url, timeout,
      [](const Order& o) { return o.status != "pending" && o.status != "processing"; }, "order");
}

}  // namespace attestlab::client

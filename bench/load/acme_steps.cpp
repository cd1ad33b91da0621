#include "bench/load/acme_steps.h"

#include <algorithm>
#include <ctime>

namespace attestlab::load {
using std::chrono::milliseconds;

milliseconds poll_pause(const client::AcmeClient& c, const FlowTarget& t,
                        std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  const milliseconds remaining = std::max(left, milliseconds::zero());
  milliseconds pause = t.poll_interval;
  if (t.honor_retry_after && c.last_response()) {
    auto header = c.last_response()->header("Retry-After");
    auto seconds =
        header ? client::parse_retry_after(*header, static_cast<std::int64_t>(std::time(nullptr)))
               : std::nullopt;
    // Capped in seconds first: a date years ahead is ~1e11 s, whose nanoseconds (the
    // unit StopSignal waits in) overflow 64 bits.
    if (seconds) {
      const std::int64_t capped = std::min<std::int64_t>(*seconds, remaining.count() / 1000 + 1);
      pause = std::max(pause, milliseconds(capped * 1000));
    }
  }
  return std::min(pause, remaining);
}

namespace {

bool waiting_on(const std::string& status, const std::vector<std::string>& waiting) {
  return std::find(waiting.begin(), waiting.end(), status) != waiting.end();
}

Error interrupted() {
  return Error::make(kErrorInterrupted, "the run stopped");
}

}  // namespace

TargetClients::TargetClients(const FlowTarget& target, client::WireLog* log) {
  for (const auto& url : target.urls)
    clients_.push_back(std::make_unique<client::AcmeClient>(url, target.client, log));
}

client::AcmeClient& TargetClients::for_enrollment(std::uint64_t k) {
  return *clients_[url_index(k)];
}

ClientCounters TargetClients::counters() const {
  ClientCounters out;
  for (const auto& c : clients_) {
    out.requests += c->stats().requests;
    out.bad_nonce_retries += c->stats().bad_nonce_retries;
  }
  out.polls = polls_;
  return out;
}

EnrollmentOutcome step_failed(EnrollmentContext& ctx, const Error& e) {
  EnrollmentOutcome out;
  out.kind = e.type == kErrorInterrupted ? EnrollmentOutcome::Kind::Interrupted
                                         : EnrollmentOutcome::Kind::Failed;
  out.step = ctx.has_active() ? step_name(ctx.active()) : "";
  out.error = e;
  ctx.abandon();
  return out;
}

Error state_error(const std::string& what, const std::string& status,
                  const std::optional<Json>& problem) {
  if (problem && problem->is_object() && problem->contains("type")) {
    const int code = problem->contains("status") && (*problem)["status"].is_number_integer()
                         ? (*problem)["status"].get<int>()
                         : 0;
    return client::problem_to_error(*problem, code);
  }
  return Error::make(client::kErrorUnexpectedResponse, what + " is " + status);
}

Result<client::Directory> directory_and_nonce(client::AcmeClient& c, EnrollmentContext& ctx) {
  ctx.begin(Step::Directory);
  auto dir = c.directory(true);
  if (!dir) return dir.error();
  ctx.begin(Step::Nonce);
  c.drop_cached_nonce();
  auto head = c.head(dir->new_nonce);
  if (!head) return head.error();
  if ((head->status != 200 && head->status != 204) || !head->header("Replay-Nonce")) {
    return Error::make(client::kErrorUnexpectedResponse,
                       "newNonce answered HTTP " + std::to_string(head->status) +
                           (head->header("Replay-Nonce") ? "" : " without Replay-Nonce"),
                       head->status);
  }
  return dir;
}

Result<client::Authorization> wait_authz(client::AcmeClient& c, const std::string& url,
                                         const FlowTarget& t, EnrollmentContext& ctx,
                                         std::uint64_t& polls) {
  const auto deadline = std::chrono::steady_clock::now() + t.poll_timeout;
  for (;;) {
    ++polls;
    auto authz = c.get_authz(url);
    if (!authz) return authz.error();
    if (authz->status != "pending") return authz;
    if (std::chrono::steady_clock::now() >= deadline)
      return Error::make(client::kErrorTimeout, "the authorization stayed pending");
    if (!ctx.sleep_for(poll_pause(c, t, deadline))) return interrupted();
  }
}

Result<client::Order> wait_order(client::AcmeClient& c, const std::string& url,
                                 const std::vector<std::string>& waiting, const FlowTarget& t,
                                 EnrollmentContext& ctx, std::uint64_t& polls) {
  const auto deadline = std::chrono::steady_clock::now() + t.poll_timeout;
  for (;;) {
    ++polls;
    auto order = c.get_order(url);
    if (!order) return order.error();
    if (!waiting_on(order->status, waiting)) return order;
    if (std::chrono::steady_clock::now() >= deadline)
      return Error::make(client::kErrorTimeout, "the order stayed " + order->status);
    if (!ctx.sleep_for(poll_pause(c, t, deadline))) return interrupted();
  }
}

Result<void> validate_dns_authz(client::AcmeClient& c, const std::string& authz_url,
                                const FlowTarget& t, EnrollmentContext& ctx, std::uint64_t& polls) {
  ctx.begin(Step::Challenge);
  auto authz = c.get_authz(authz_url);
  if (!authz) return authz.error();
  if (authz->status == "valid") return ok();  // reused by the target
  if (authz->status != "pending")
    return state_error("the authorization", authz->status, std::nullopt);
  const client::Challenge* challenge = authz->find(t.challenge);
  if (challenge == nullptr)
    return Error::make(client::kErrorUnexpectedResponse,
                       "the authorization offers no " + t.challenge);
  const std::string token = challenge->token;
  const std::string record = client::dns01_record_name(authz->identifier.value);
  if (t.challenge == "http-01") {
    if (t.http01 == nullptr) return Error::make(client::kErrorClientUsage, "no http-01 responder");
    t.http01->provide(token, c.key_authorization(token));
  } else {
    if (!t.dns) return Error::make(client::kErrorClientUsage, "no fake DNS to publish dns-01 in");
    auto set = t.dns->set_txt(record, c.dns01_txt_value(token));
    if (!set) return Error::make(client::kErrorClientUsage, "fake DNS: " + set.error().detail);
  }
  const auto withdraw = [&] {
    if (t.challenge == "http-01") {
      t.http01->withdraw(token);
    } else {
      (void)t.dns->clear_txt(record);
    }
  };
  auto answered = c.respond_challenge(challenge->url);
  if (!answered) {
    withdraw();
    return answered.error();
  }
  auto validated = await_validation(c, *answered, authz_url, t, ctx, polls);
  withdraw();
  return validated;
}

Result<void> await_validation(client::AcmeClient& c, const client::Challenge& answered,
                              const std::string& authz_url, const FlowTarget& t,
                              EnrollmentContext& ctx, std::uint64_t& polls) {
  ctx.begin(Step::Validation);
  if (answered.status == "valid") return ok();
  if (answered.status == "invalid")
    return state_error("the challenge", answered.status, answered.error);
  auto decided = wait_authz(c, authz_url, t, ctx, polls);
  if (!decided) return decided.error();
  if (decided->status == "valid") return ok();
  const client::Challenge* after = decided->find(answered.type);
  return state_error("the authorization", decided->status,
                     after != nullptr ? after->error : std::nullopt);
}

Result<std::string> finalize_and_download(client::AcmeClient& c, const client::Order& order,
                                          const Bytes& csr_der, const FlowTarget& t,
                                          EnrollmentContext& ctx, std::uint64_t& polls) {
  ctx.begin(Step::Finalize);
  // The order was fetched before its authorizations were validated, so it still reads
  // "pending": finalize at once, as clients do, and wait only if the target says the order
  // is not ready yet.
  auto finalized = c.finalize(order, csr_der);
  if (!finalized && finalized.error().type == "orderNotReady") {
    auto ready = wait_order(c, order.url, {"pending"}, t, ctx, polls);
    if (!ready) return ready.error();
    if (ready->status != "ready") return state_error("the order", ready->status, ready->error);
    finalized = c.finalize(*ready, csr_der);
  }
  if (!finalized) return finalized.error();
  client::Order done = std::move(*finalized);
  if (done.status == "processing" || done.status == "ready") {
    auto polled = wait_order(c, order.url, {"processing", "ready"}, t, ctx, polls);
    if (!polled) return polled.error();
    done = std::move(*polled);
  }
  if (done.status != "valid" || !done.certificate)
    return state_error(
        "the order", done.status + (done.certificate ? "" : " without a certificate"), done.error);
  ctx.begin(Step::Download);
  auto chain = c.download_certificate(*done.certificate);
  if (!chain) return chain.error();  // the client read the chain strictly: one or more certificates
  return std::move(chain->pem);
}

}  // namespace attestlab::load

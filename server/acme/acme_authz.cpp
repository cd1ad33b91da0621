// Authorizations and challenges (RFC 8555 §7.5): reading and deactivating
// authorizations, responding to challenges, and their validation: device-attest-01 in the
// request itself, http-01 and dns-01 by jobs handed to the worker pool.
#include <algorithm>
#include <functional>

#include "server/acme/acme_context.h"
#include "server/acme/problem.h"
#include "server/faults.h"

namespace attestlab::server {

namespace {

// Where a processing device-attest-01 challenge kept the client's response until its
// validation ended, when that ran on a worker (before the check moved into the request): a
// database from then may still hold one, which is resumed with it.
constexpr const char* kPendingPayload = "pending_payload";

Result<Authorization> load_owned_authz(AcmeContext& ctx, const SignedRequest& request,
                                       Result<std::optional<Authorization>> found) {
  if (!found) return found.error();
  if (!found->has_value())
    return Error::make("notFound", "no such authorization or challenge", 404);
  ATTESTLAB_TRY(require_owner(request, (*found)->account_id));
  return refresh_authz(ctx, std::move(**found));
}

bool has_processing_challenge(const Authorization& authz) {
  for (const auto& c : authz.challenges) {
    if (c.status == "processing") return true;
  }
  return false;
}

// Whether the answered challenges of `authz` still get their outcome written: while it is
// pending, and once another of its challenges decided it (valid or invalid), so that no
// answered challenge stays "processing"; not once it was deactivated, expired or revoked.
bool records_outcomes(const Authorization& authz) {
  return authz.status == "pending" || authz.status == "valid" || authz.status == "invalid";
}

Challenge* find_challenge(Authorization& authz, const std::string& id) {
  for (auto& c : authz.challenges) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

// Applies `change` to `authz` (as read from the store) and writes the result with a
// compare-and-set on the whole row, so that writers of one authorization (answers to two of
// its challenges and their validations, in this process or another on the same store) never
// undo each other: when another writer changed the row meanwhile, it is read again and
// `change` applied to that. `change` returns an error (which is returned; nothing is written)
// when the row as it now is refuses the change. On success `authz` is the row as written.
Result<void> update_authz_cas(AcmeContext& ctx, Authorization& authz,
                              const std::function<Result<void>(Authorization&)>& change) {
  constexpr int kAttempts = 16;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Authorization updated = authz;
    ATTESTLAB_TRY(change(updated));
    auto written = ctx.store->update_authz_if(updated, authz);
    if (written) {
      authz = std::move(updated);
      return ok();
    }
    if (written.error().type != "changed") return written.error();
    auto current = ctx.store->authz_by_id(authz.id);
    if (!current) return current.error();
    if (!current->has_value()) return Error::make("notFound", "no such authorization", 404);
    auto refreshed = refresh_authz(ctx, std::move(**current));
    if (!refreshed) return refreshed.error();
    authz = std::move(*refreshed);
  }
  return Error::make("rateLimited", "the authorization is being changed concurrently; retry");
}

http::Response challenge_response(const AcmeContext& ctx, const Authorization& authz,
                                  const Challenge& challenge) {
  auto response = json_response(200, challenge_json(ctx, challenge));
  response.add("Link", "<" + ctx.urls.authz(authz.id) + ">;rel=\"up\"");
  if (challenge.status == "processing" && !ATTESTLAB_FAULT(no_retry_after)) {
    response.set("Retry-After", std::to_string(ctx.config.retry_after_seconds));
  }
  return response;
}

ChallengeKind kind_of(const std::string& type) {
  if (type == "dns-01") return ChallengeKind::Dns01;
  if (type == "device-attest-01") return ChallengeKind::DeviceAttest01;
  return ChallengeKind::Http01;
}

// Runs the check of one challenge; the evidence to record on success.
Result<Json> run_check(AcmeContext& ctx, const Authorization& authz, const Challenge& challenge,
                       const Account& account, const Json& payload) {
  std::string key_authorization = challenge.token + "." + account.thumbprint;
  if ((challenge.type == "http-01" || challenge.type == "dns-01") &&
      ATTESTLAB_FAULT(skip_challenge_validation)) {
    return Json();
  }
  if (challenge.type == "http-01") {
    ATTESTLAB_TRY(
        check_http01(authz.identifier, challenge.token, key_authorization, ctx.validation_options));
    return Json();
  }
  if (challenge.type == "dns-01") {
    ATTESTLAB_TRY(check_dns01(authz.identifier, key_authorization, ctx.validation_options));
    return Json();
  }
  if (challenge.type == "device-attest-01") {
    if (!ctx.device_validator)
      return Error::make("serverInternal", "device attestation is not configured");
    return ctx.device_validator->validate(authz, challenge, account, payload);
  }
  return Error::make("serverInternal", "unknown challenge type " + challenge.type);
}

// Checks challenge `challenge_id` of `authz` (as read from the store) and records the
// outcome on the challenge and, while the authorization is pending, on the authorization
// (RFC 8555 §7.1.6: valid and invalid are final, so a second challenge answered at once
// neither regresses nor loses the first's outcome). Written with update_authz_cas, so
// another challenge of the authorization changed meanwhile keeps its state; on success
// `authz` is the row as written. Error("conflict") when the challenge was decided meanwhile
// (by another process) or the authorization deactivated or expired, which keep their state;
// other errors are the store's.
Result<void> decide_challenge(AcmeContext& ctx, Authorization& authz,
                              const std::string& challenge_id, const Account& account,
                              const Json& payload) {
  const Challenge* checked = find_challenge(authz, challenge_id);
  if (!checked) return Error::make("notFound", "no such challenge", 404);
  Result<Json> outcome = Error::make("serverInternal", "validation did not run");
  try {
    outcome = run_check(ctx, authz, *checked, account, payload);
  } catch (const std::exception& e) {
    outcome = Error::make("serverInternal", std::string("validation failed: ") + e.what());
  }
  bool valid = outcome.ok();
  if (!valid) ctx.limiter.add("failed-acct:" + account.id, ctx.now());
  ctx.metrics.validation(kind_of(checked->type), valid);
  ctx.logger.event(LogLevel::Debug, "validation",
                   Json{{"challenge", challenge_id},
                        {"type", checked->type},
                        {"identifier", authz.identifier.value},
                        {"valid", valid},
                        {"error", valid ? std::string() : outcome.error().detail}});
  const std::int64_t validated = ctx.now();
  // The order is not rewritten here: its status follows from its authorizations on every
  // read (refresh_order), and finalize stores the order once, as "valid", from whatever
  // status is stored (one write per validation, not two).
  return update_authz_cas(ctx, authz, [&](Authorization& current) -> Result<void> {
    Challenge* challenge = find_challenge(current, challenge_id);
    if (!challenge || (challenge->status != "pending" && challenge->status != "processing")) {
      return Error::make("conflict", "challenge " + challenge_id + " was decided meanwhile");
    }
    if (!records_outcomes(current))
      return Error::make("conflict", "authorization is \"" + current.status + "\"");
    if (valid) {
      challenge->status = "valid";
      challenge->validated = validated;
      challenge->evidence = *outcome;
      challenge->error = Json();
    } else {
      challenge->status = "invalid";
      challenge->error = problem_json(outcome.error());
      challenge->evidence = Json();
    }
    if (current.status == "pending") current.status = challenge->status;
    return ok();
  });
}

// The challenge as the store holds it now, for a request that lost a race on it.
Result<http::Response> stored_challenge_response(AcmeContext& ctx, const SignedRequest& request,
                                                 const std::string& id) {
  auto current = load_owned_authz(ctx, request, ctx.store->authz_by_challenge(id));
  if (!current) return current.error();
  Challenge* challenge = find_challenge(*current, id);
  if (!challenge) return Error::make("notFound", "no such challenge", 404);
  return challenge_response(ctx, *current, *challenge);
}

// The worker side of a challenge response: the stored authorization, if its challenge is
// still processing, decided; the challenge as decided, or nothing.
std::optional<Challenge> validate_challenge(AcmeContext& ctx, const std::string& authz_id,
                                            const std::string& challenge_id, const Account& account,
                                            const Json& payload) {
  auto loaded = ctx.store->authz_by_id(authz_id);
  if (!loaded || !loaded->has_value()) return std::nullopt;
  Authorization authz = std::move(**loaded);
  // Still processing also when another challenge decided the authorization meanwhile: this
  // one gets its own outcome too (and is not left "processing").
  const Challenge* challenge = find_challenge(authz, challenge_id);
  if (!challenge || challenge->status != "processing" || !records_outcomes(authz))
    return std::nullopt;
  // A conflict: decided (or deactivated) by another request meanwhile.
  if (!decide_challenge(ctx, authz, challenge_id, account, payload)) return std::nullopt;
  return *find_challenge(authz, challenge_id);
}

// `later`, when given, is the challenge response waiting for this validation: finished with
// the decided challenge, or unchanged ("processing") when the job decided nothing.
bool queue_validation(AcmeContext& ctx, const std::string& authz_id,
                      const std::string& challenge_id, const Account& account, const Json& payload,
                      std::shared_ptr<http::LaterResponse> later = nullptr) {
  AcmeContext* context = &ctx;
  return ctx.pool->submit([context, authz_id, challenge_id, account, payload, later] {
    auto decided = validate_challenge(*context, authz_id, challenge_id, account, payload);
    context->in_flight.end(challenge_id);
    if (!later) return;
    if (!decided) return later->finish({});
    later->finish([body = challenge_json(*context, *decided).dump()](http::Response& r) {
      r.body = body;
      r.remove("Retry-After");
    });
  });
}

// A challenge stored as "processing" that no worker of this process holds lost its
// validation to a restart (queued jobs die with the process): queue it again, with the
// payload kept for that purpose. Another process may still be validating it; then both
// run and the first to write its outcome keeps it (decide_challenge).
void resume_orphaned_validations(AcmeContext& ctx, const Authorization& authz,
                                 const Account& owner) {
  if (authz.status != "pending") return;
  for (const auto& c : authz.challenges) {
    if (c.status != "processing" || !ctx.in_flight.begin(c.id)) continue;
    Json payload =
        c.evidence.is_object() ? c.evidence.value(kPendingPayload, Json::object()) : Json::object();
    if (!queue_validation(ctx, authz.id, c.id, owner, payload)) ctx.in_flight.end(c.id);
  }
}

}  // namespace

Result<http::Response> handle_authz(AcmeContext& ctx, const http::Request& request,
                                    const std::string& id, RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  auto authz = load_owned_authz(ctx, *signed_request, ctx.store->authz_by_id(id));
  if (!authz) return authz.error();
  resume_orphaned_validations(ctx, *authz, *signed_request->account);

  if (signed_request->payload) {
    const Json& payload = *signed_request->payload;
    if (!payload.contains("status") || payload["status"] != "deactivated") {
      return Error::make("malformed",
                         "an authorization update may only set \"status\": \"deactivated\"");
    }
    if (authz->status != "pending" && authz->status != "valid") {
      return Error::make("malformed",
                         "authorization is \"" + authz->status + "\" and cannot be deactivated");
    }
    std::string stored = authz->status;
    authz->status = "deactivated";
    auto updated = ctx.store->update_authz(*authz, stored);
    if (!updated) {
      if (updated.error().type == "conflict") {
        return Error::make("malformed", "authorization changed while being deactivated; retry");
      }
      return updated.error();
    }
    auto order = ctx.store->order_by_id(order_id_of_authz(authz->id));
    if (order && order->has_value()) (void)refresh_order(ctx, std::move(**order));
  }

  auto response = json_response(200, authz_json(ctx, *authz));
  if (authz->status == "pending" && has_processing_challenge(*authz) &&
      !ATTESTLAB_FAULT(no_retry_after)) {
    response.set("Retry-After", std::to_string(ctx.config.retry_after_seconds));
  }
  return response;
}

Result<http::Response> handle_challenge(AcmeContext& ctx, const http::Request& request,
                                        const std::string& id, RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  auto authz = load_owned_authz(ctx, *signed_request, ctx.store->authz_by_challenge(id));
  if (!authz) return authz.error();
  Challenge* challenge = find_challenge(*authz, id);
  if (!challenge) return Error::make("notFound", "no such challenge", 404);
  resume_orphaned_validations(ctx, *authz, *signed_request->account);

  // POST-as-GET reads; a challenge already in motion or final is returned unchanged.
  if (!signed_request->payload || challenge->status != "pending") {
    return challenge_response(ctx, *authz, *challenge);
  }
  if (authz->status != "pending") {
    return Error::make("malformed", "authorization is \"" + authz->status +
                                        "\"; its challenges cannot be answered");
  }
  const Json& payload = *signed_request->payload;
  // Only {"error": ...} (the device could not get an attestation) goes to the validator,
  // which fails the challenge with the client's reason and records the decision.
  if (challenge->type == "device-attest-01" && !get_string(payload, "attObj") &&
      !payload.contains("error")) {
    return Error::make("malformed",
                       "device-attest-01 response needs an \"attObj\" string (or an \"error\")");
  }

  const int failures = ctx.config.limits.failed_validations_per_account_per_hour;
  if (auto wait =
          ctx.limiter.wait_for("failed-acct:" + signed_request->account->id, failures, ctx.now())) {
    return rate_limited_response("failed validations of this account", failures, wait);
  }
  if (!ctx.in_flight.begin(challenge->id)) {
    // Another request of this process is checking it right now.
    if (challenge->type == "device-attest-01") challenge->status = "processing";
    return challenge_response(ctx, *authz, *challenge);
  }
  if (challenge->type == "device-attest-01") {
    // The attestation is in the request and its check needs no network, so it is decided
    // here and the response carries the outcome (RFC 8555 §7.5.1 lets a challenge response
    // show the final state): no "processing" write, no hand-off to a worker, and a client
    // that polls finds the authorization decided at once. The stored challenge stays
    // "pending" until the outcome is written, so a crash meanwhile leaves it answerable.
    struct EndInFlight {
      InFlightChallenges& in_flight;
      const std::string& id;
      ~EndInFlight() { in_flight.end(id); }
    } end_in_flight{ctx.in_flight, id};
    auto decided = decide_challenge(ctx, *authz, id, *signed_request->account, payload);
    if (decided) return challenge_response(ctx, *authz, *find_challenge(*authz, id));
    if (decided.error().type != "conflict") return decided.error();
    return stored_challenge_response(ctx, *signed_request, id);
  }
  // Answered meanwhile (by a request to another process): shown as stored. The
  // authorization decided meanwhile: refused as above.
  auto marked = update_authz_cas(ctx, *authz, [&](Authorization& current) -> Result<void> {
    Challenge* answered = find_challenge(current, id);
    if (!answered || answered->status != "pending")
      return Error::make("conflict", "challenge " + id + " was answered meanwhile");
    if (current.status != "pending") {
      return Error::make("malformed", "authorization is \"" + current.status +
                                          "\"; its challenges cannot be answered");
    }
    answered->status = "processing";
    return ok();
  });
  if (!marked) {
    ctx.in_flight.end(id);
    if (marked.error().type != "conflict") return marked.error();
    return stored_challenge_response(ctx, *signed_request, id);
  }

  auto later = ctx.config.challenge_answer_wait.count() > 0
                   ? std::make_shared<http::LaterResponse>(ctx.config.challenge_answer_wait)
                   : nullptr;
  if (!queue_validation(ctx, authz->id, id, *signed_request->account, payload, later)) {
    ctx.in_flight.end(id);
    (void)update_authz_cas(ctx, *authz, [&](Authorization& current) -> Result<void> {
      Challenge* queued = find_challenge(current, id);
      if (!queued || queued->status != "processing")
        return Error::make("conflict", "challenge " + id + " moved on");
      queued->status = "pending";
      queued->evidence = Json();
      return ok();
    });
    if (ctx.pool->stopped())
      return Error::make("serverInternal", "the server is shutting down", 503);
    // The queue is full: the challenge stays pending and may be answered again later.
    auto busy = problem_response(Error::make(
        "rateLimited", "too many validations are waiting (limit " +
                           std::to_string(ctx.config.validation_queue_limit) + "); retry later"));
    busy.set("Retry-After", std::to_string(std::max(1, ctx.config.retry_after_seconds)));
    return busy;
  }
  auto response = challenge_response(ctx, *authz, *find_challenge(*authz, id));
  response.later = std::move(later);
  return response;
}

}  // namespace attestlab::server

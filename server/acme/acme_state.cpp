// Status machines on read (RFC 8555 §7.1.6): expiry and the order's dependence on its
// authorizations are computed from the stored objects and persisted when they moved.
#include "server/acme/acme_context.h"
#include "server/acme/problem.h"

namespace attestlab::server {

std::string order_id_of_authz(const std::string& authz_id) {
  auto dot = authz_id.rfind('.');
  return dot == std::string::npos ? std::string() : authz_id.substr(0, dot);
}

std::string effective_authz_status(const Authorization& authz, std::int64_t now) {
  if ((authz.status == "pending" || authz.status == "valid") && authz.expires > 0 &&
      now >= authz.expires) {
    return "expired";
  }
  return authz.status;
}

OrderStatus compute_order_status(const Order& order, const std::vector<Authorization>& authzs,
                                 std::int64_t now) {
  OrderStatus out{order.status, order.error};
  if (order.status != "pending" && order.status != "ready") return out;
  if (order.expires > 0 && now >= order.expires) {
    out.status = "invalid";
    out.error = problem_json(Error::make("unauthorized", "order expired"));
    return out;
  }
  bool all_valid = true;
  for (const auto& authz : authzs) {
    std::string status = effective_authz_status(authz, now);
    if (status == "valid") continue;
    all_valid = false;
    if (status == "pending") continue;
    out.status = "invalid";
    out.error = Json();
    for (const auto& c : authz.challenges) {
      if (c.status == "invalid" && !c.error.is_null()) {
        out.error = c.error;
        break;
      }
    }
    if (out.error.is_null()) {
      out.error = problem_json(Error::make(
          "unauthorized", "authorization for " + authz.identifier.value + " is " + status));
    }
    return out;
  }
  if (all_valid) out.status = "ready";
  return out;
}

Result<Authorization> refresh_authz(AcmeContext& ctx, Authorization authz) {
  std::string status = effective_authz_status(authz, ctx.now());
  if (status == authz.status) return authz;
  std::string stored = authz.status;
  authz.status = status;
  // A lost compare-and-set means another writer moved it; what we computed still
  // describes this read, and the next read sees theirs.
  (void)ctx.store->update_authz(authz, stored);
  return authz;
}

Result<Order> settle_interrupted_finalization(AcmeContext& ctx, Order order) {
  if (order.status != "processing" ||
      ctx.now() - order.processing_since < kFinalizeInterruptedAfter) {
    return order;
  }
  order.status = "invalid";
  order.error = problem_json(Error::make(
      "serverInternal",
      "finalization was interrupted (the server stopped while issuing); create a new order"));
  auto updated = ctx.store->update_order(order, "processing");
  if (!updated && updated.error().type == "conflict") {
    auto current = ctx.store->order_by_id(order.id);
    if (current && current->has_value()) return std::move(**current);
  }
  if (!updated) return updated.error();
  return order;
}

Result<int> settle_interrupted_finalizations(AcmeContext& ctx) {
  auto ids = ctx.store->processing_order_ids();
  if (!ids) return ids.error();
  int settled = 0;
  for (const auto& id : *ids) {
    auto order = ctx.store->order_by_id(id);
    if (!order) return order.error();
    if (!order->has_value()) continue;
    auto after = settle_interrupted_finalization(ctx, std::move(**order));
    if (!after) return after.error();
    if (after->status == "invalid") ++settled;
  }
  return settled;
}

Result<Order> effective_order(AcmeContext& ctx, Order order,
                              std::vector<Authorization>* authzs_out) {
  if (authzs_out) authzs_out->clear();
  if (order.status == "processing") return settle_interrupted_finalization(ctx, std::move(order));
  if (order.status != "pending" && order.status != "ready") return order;
  std::vector<Authorization> authzs;
  authzs.reserve(order.authorization_ids.size());
  for (const auto& id : order.authorization_ids) {
    auto authz = ctx.store->authz_by_id(id);
    if (!authz) return authz.error();
    if (!authz->has_value())
      return Error::make("serverInternal", "order " + order.id + " lost authorization " + id);
    authzs.push_back(std::move(**authz));
  }
  auto computed = compute_order_status(order, authzs, ctx.now());
  order.status = computed.status;
  order.error = computed.error;
  if (authzs_out) *authzs_out = std::move(authzs);
  return order;
}

Result<Order> refresh_order(AcmeContext& ctx, Order order) {
  const std::string stored = order.status;
  auto effective = effective_order(ctx, std::move(order));
  if (!effective || effective->status == stored || stored == "processing") return effective;
  order = std::move(*effective);
  auto updated = ctx.store->update_order(order, stored);
  if (!updated && updated.error().type == "conflict") {
    auto current = ctx.store->order_by_id(order.id);
    if (current && current->has_value()) return std::move(**current);
  }
  return order;
}

}  // namespace attestlab::server

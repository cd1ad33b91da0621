#include "client/wire_log.h"

#include <algorithm>
#include <string_view>

#include "core/utf8.h"

namespace attestlab::client {
namespace {

// Bodies and headers may hold arbitrary bytes, but a JSON string must be UTF-8.
Json headers_json(const std::vector<std::pair<std::string, std::string>>& headers) {
  Json out = Json::array();
  for (const auto& [name, value] : headers) {
    out.push_back(Json::array({utf8_or_replaced(name), utf8_or_replaced(value)}));
  }
  return out;
}

void put_body(Json& obj, const std::string& body, bool cut, std::size_t max_body) {
  obj["body"] = utf8_or_replaced(std::string_view(body).substr(0, max_body));
  if (cut || body.size() > max_body) obj["body_truncated"] = true;
}

void keep_at_most(std::string& body, bool& cut) {
  if (body.size() <= WireLog::kKeptBodyBytes) return;
  body.resize(WireLog::kKeptBodyBytes);
  body.shrink_to_fit();
  cut = true;
}

}  // namespace

Json WireExchange::to_json(std::size_t max_body) const {
  Json request = {{"headers", headers_json(request_headers)}};
  put_body(request, request_body, request_body_cut, max_body);
  if (jws_protected || jws_payload) {
    Json payload = jws_payload.value_or(Json());
    if (payload.is_string()) payload = utf8_or_replaced(payload.get_ref<const std::string&>());
    request["jws"] = {{"protected", jws_protected.value_or(Json())}, {"payload", payload}};
  }
  Json out = {{"seq", seq},
              {"time_ms", time_ms},
              {"label", label},
              {"note", note},
              {"method", method},
              {"url", url},
              {"duration_ms", duration_ms},
              {"request", std::move(request)}};
  if (status != 0) {
    Json response = {{"status", status}, {"headers", headers_json(response_headers)}};
    put_body(response, response_body, response_body_cut, max_body);
    if (!response_body.empty() && !response_body_cut && response_body.size() <= max_body) {
      auto parsed = parse_json(response_body);
      if (parsed.ok()) response["json"] = std::move(parsed.value());
    }
    out["response"] = std::move(response);
  }
  if (!error.empty()) out["error"] = error;
  return out;
}

std::uint64_t WireLog::record(WireExchange exchange) {
  if (!enabled()) return 0;
  keep_at_most(exchange.request_body, exchange.request_body_cut);
  keep_at_most(exchange.response_body, exchange.response_body_cut);
  std::lock_guard lock(mu_);
  exchange.seq = next_seq_++;
  entries_.push_back(std::move(exchange));
  return entries_.back().seq;
}

std::size_t WireLog::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::vector<WireExchange> WireLog::exchanges(std::size_t from, std::size_t to) const {
  std::lock_guard lock(mu_);
  to = std::min(to, entries_.size());
  if (from >= to) return {};
  return {entries_.begin() + static_cast<std::ptrdiff_t>(from),
          entries_.begin() + static_cast<std::ptrdiff_t>(to)};
}

Json WireLog::to_json(std::size_t from, std::size_t to) const {
  Json out = Json::array();
  for (const auto& e : exchanges(from, to)) out.push_back(e.to_json());
  return out;
}

void WireLog::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

}  // namespace attestlab::client

// A record of HTTP exchanges as they went over the wire, for reports (a failed
// conformance case keeps the exact requests and responses) and for debugging.
//
// Thread-safety: every method may be called concurrently (one WireLog may be shared by
// many AcmeClients on many threads). Cost: when disabled, AcmeClient checks enabled()
// before building a record, so a disabled log costs one relaxed atomic load a request.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"

namespace attestlab::client {

// One request and its response (or the transport error that replaced the response).
struct WireExchange {
  std::uint64_t seq = 0;     // assigned by WireLog::record, 1-based, in append order
  std::int64_t time_ms = 0;  // wall clock at send, milliseconds since the epoch
  std::string label;         // who sent it (AcmeClientOptions::log_label), may be empty
  std::string note;          // why, e.g. "retry 1/3 after badNonce"; may be empty

  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> request_headers;
  std::string request_body;
  // For a body that is a flattened JWS: its decoded protected header and payload (the
  // payload as JSON when it parses, else as a JSON string; "" for POST-as-GET).
  std::optional<Json> jws_protected;
  std::optional<Json> jws_payload;

  int status = 0;  // 0 when there was no response (see error)
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::string response_body;
  std::string error;  // transport failure ("connection: ..."), empty otherwise
  double duration_ms = 0;
  // Set by WireLog::record when it kept only the first WireLog::kKeptBodyBytes of a body.
  bool request_body_cut = false;
  bool response_body_cut = false;

  // {"seq","time_ms","label","note","method","url","duration_ms",
  //  "request":{"headers":[[name,value]...],"body","jws":{"protected","payload"}},
  //  "response":{"status","headers":[[name,value]...],"body","json"?},"error"?}
  // "response.json" is the parsed body when it is JSON. Bodies longer than max_body
  // characters, or cut when recorded, are cut and marked with "body_truncated": true.
  Json to_json(std::size_t max_body = 64 * 1024) const;
};

class WireLog {
 public:
  explicit WireLog(bool enabled = true) : enabled_(enabled) {}
  WireLog(const WireLog&) = delete;
  WireLog& operator=(const WireLog&) = delete;

  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }

  // What a log keeps of each body: a target's bodies may be up to the client's response
  // limit (10 MiB) on every request, and a log lives until its case is reported, which
  // serialises at most this much of a body anyway (WireExchange::to_json's default).
  static constexpr std::size_t kKeptBodyBytes = 64 * 1024;

  // Appends (ignored while disabled) and returns the assigned seq (0 when ignored). Bodies
  // longer than kKeptBodyBytes are cut to it (request_body_cut / response_body_cut).
  std::uint64_t record(WireExchange exchange);

  // Number of exchanges recorded so far; use it as a mark to slice one case's exchanges:
  //   auto mark = log.size(); ...run the case...; log.to_json(mark)
  std::size_t size() const;
  // A copy of exchanges [from, to).
  std::vector<WireExchange> exchanges(std::size_t from = 0, std::size_t to = SIZE_MAX) const;
  // JSON array of exchanges [from, to) (see WireExchange::to_json).
  Json to_json(std::size_t from = 0, std::size_t to = SIZE_MAX) const;
  void clear();

 private:
  std::atomic<bool> enabled_;
  mutable std::mutex mu_;
  std::vector<WireExchange> entries_;
  std::uint64_t next_seq_ = 1;
};

}  // namespace attestlab::client

// The device-attest decision log: one JSON object per line, one line per decision
// (DESIGN.md "Decisions are explained"). Lines are appended under a mutex and flushed
// one by one, so a crash loses at most the line being written and lines never interleave.
// Thread-safe.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::server {

struct Decision {
  std::int64_t ts = 0;    // seconds since epoch; written as RFC 3339
  std::string challenge;  // challenge id
  std::string account;    // account id
  Json identifier;        // {"type","value"} of the authorization
  std::string outcome;    // "accept" | "reject"
  std::string rule;       // "ok" for accepts, else the rule that refused
  std::string detail;     // the problem detail ("" for accepts)
  Json evidence;          // attested facts as far as verified, or null
};

class DecisionLog {
 public:
  // Opens path for appending, creating missing parent directories.
  // Error("serverInternal", "decision log <path>: why").
  static Result<std::unique_ptr<DecisionLog>> open(const std::string& path);
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Appends one line {ts, challenge, account, identifier, outcome, rule, detail, evidence}.
  Result<void> write(const Decision& d);
  const std::string& path() const { return path_; }

 private:
  DecisionLog(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  std::string path_;
  std::FILE* file_;
  std::mutex mu_;
};

// The line write() appends (without the newline).
std::string decision_line(const Decision& d);

}  // namespace attestlab::server

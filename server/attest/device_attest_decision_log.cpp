#include "server/attest/device_attest_decision_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/clock.h"

namespace attestlab::server {

Result<std::unique_ptr<DecisionLog>> DecisionLog::open(const std::string& path) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return Error::make("serverInternal", "decision log " + path + ": " + ec.message());
  }
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (f == nullptr) {
    return Error::make("serverInternal", "decision log " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<DecisionLog>(new DecisionLog(path, f));
}

DecisionLog::~DecisionLog() {
  if (file_ != nullptr) std::fclose(file_);
}

std::string decision_line(const Decision& d) {
  const Json line = {{"ts", format_rfc3339(d.ts)}, {"challenge", d.challenge},
                     {"account", d.account},       {"identifier", d.identifier},
                     {"outcome", d.outcome},       {"rule", d.rule},
                     {"detail", d.detail},         {"evidence", d.evidence}};
  // Replace rather than throw on invalid UTF-8: a log line must never take the server down.
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<void> DecisionLog::write(const Decision& d) {
  std::string line = decision_line(d);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return Error::make("serverInternal", "decision log " + path_ + ": " + std::strerror(errno));
  }
  return ok();
}

}  // namespace attestlab::server

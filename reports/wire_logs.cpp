#include "reports/wire_logs.h"

#include <unordered_map>

#include "core/bytes.h"
#include "core/enum_names.h"

namespace attestlab::reports {

namespace {

bool keeps(WireLogs policy, Outcome outcome) {
  switch (policy) {
    case WireLogs::All:
      return true;
    case WireLogs::None:
      return false;
    case WireLogs::Failures:
      return outcome != Outcome::Pass && outcome != Outcome::Skip;
  }
  return true;
}

struct FirstSeen {
  std::string where;  // "rfc8555-7.4-x #12 response.body"
};

class Deduplicator {
 public:
  std::size_t saved = 0;

  void walk(Json& value, const std::string& where) {
    if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      if (text.size() < kMinShared) return;
      const std::string digest = hex_encode(sha256(text));
      auto [it, fresh] = seen_.emplace(digest, FirstSeen{where});
      if (fresh) return;
      const std::size_t size = text.size();
      value = "(same as " + it->second.where + ": " + std::to_string(size) + " bytes, sha256 " +
              digest.substr(0, 16) + ")";
      saved += size - value.get_ref<const std::string&>().size();
    } else if (value.is_object()) {
      for (auto& [key, member] : value.items()) walk(member, where + "." + key);
    } else if (value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i)
        walk(value[i], where + "[" + std::to_string(i) + "]");
    }
  }

 private:
  std::unordered_map<std::string, FirstSeen> seen_;
};

}  // namespace

namespace {
constexpr EnumName<WireLogs> kWireLogsNames[] = {
    {WireLogs::All, "all"}, {WireLogs::Failures, "failures"}, {WireLogs::None, "none"}};
}  // namespace

Result<WireLogs> wire_logs_from_string(const std::string& text) {
  if (auto policy = value_named(kWireLogsNames, text)) return *policy;
  return Error::make("malformed",
                     "--wire-logs must be all, failures or none, got \"" + text + "\"");
}

const char* to_string(WireLogs policy) {
  return name_of(kWireLogsNames, policy, "all");
}

std::size_t apply_wire_log_policy(RunResult& run, WireLogs policy) {
  Deduplicator dedup;
  for (auto& target : run.targets) {
    for (auto& c : target.cases) {
      if (!keeps(policy, c.outcome)) {
        c.wire_log = Json::array();
        continue;
      }
      for (auto& exchange : c.wire_log) {
        std::string where = c.id;
        if (run.targets.size() > 1) where = target.name + " " + where;
        if (exchange.is_object() && exchange.contains("seq"))
          where += " #" + exchange["seq"].dump();
        dedup.walk(exchange, where);
      }
    }
  }
  return dedup.saved;
}

}  // namespace attestlab::reports

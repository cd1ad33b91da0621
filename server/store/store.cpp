// Chooses a Store implementation from a --store spec.
#include "server/store/store.h"

#include <algorithm>
#include <string_view>

namespace attestlab::server {
namespace {

constexpr std::string_view kTooNewMarker = " is newer than this build supports ";

}  // namespace

Error schema_too_new(int found, int supported) {
  return Error::make("serverInternal", "store schema version " + std::to_string(found) +
                                           std::string(kTooNewMarker) + "(version " +
                                           std::to_string(supported) + "); upgrade attestlab");
}

bool is_schema_too_new(const Error& e) {
  return e.detail.find(kTooNewMarker) != std::string::npos;
}

Result<std::unique_ptr<Store>> open_store(const std::string& spec) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (spec.starts_with(kSqlite)) {
    std::string path = spec.substr(kSqlite.size());
    if (path.empty()) return Error::make("malformed", "--store sqlite: needs a file path");
    return open_sqlite_store(path);
  }
  if (spec.starts_with("postgresql://") || spec.starts_with("postgres://")) {
    return open_pg_store(spec);
  }
  return Error::make("malformed",
                     "unsupported --store spec (expected sqlite:PATH or postgresql://...)");
}

std::vector<std::string> sorted_challenge_ids(const Authorization& a) {
  std::vector<std::string> ids;
  ids.reserve(a.challenges.size());
  for (const auto& c : a.challenges) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace attestlab::server

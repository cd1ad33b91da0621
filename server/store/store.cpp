// Chooses a Store implementation from a --store spec.
#include "server/store/store.h"

#include <string_view>

namespace attestlab::server {

Result<std::unique_ptr<Store>> open_store(const std::string& spec) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (spec.starts_with(kSqlite)) {
    std::string path = spec.substr(kSqlite.size());
    if (path.empty()) return Error::make("malformed", "--store sqlite: needs a file path");
    return open_sqlite_store(path);
  }
  if (spec.starts_with("postgresql://") || spec.starts_with("postgres://")) {
    return Error::make("serverInternal", "PostgreSQL store not built yet");
  }
  return Error::make("malformed",
                     "unsupported --store spec (expected sqlite:PATH or postgresql://...)");
}

}  // namespace attestlab::server

#include "server/store/stored_json.h"

namespace attestlab::server::stored_json {

Result<Json> parse_stored(const std::string& text) {
  try {
    Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) return j;
  } catch (...) {
  }
  return Error::make("serverInternal", "store: a stored object is not readable JSON");
}

}  // namespace attestlab::server::stored_json

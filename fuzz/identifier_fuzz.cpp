// Identifier and contact syntax (server/acme/acme_syntax.h) as newOrder and newAccount
// apply it: a JSON identifier object, an array of them, or a contact array; any other
// input is tried as the value of each identifier type (dns, ip, permanent-identifier,
// hardware-module) and as a host name, IP literal and contact URL.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/acme/acme_syntax.h"

using namespace attestlab;

namespace {

void identifier(const Json& json) {
  auto id = server::normalize_identifier(json);
  if (!id) return;
  bool wildcard = id->type == "dns" && id->value.rfind("*.", 0) == 0;
  (void)server::challenge_types_for(*id, wildcard);
  if (id->type == "permanent-identifier") (void)server::permanent_identifier_of(*id);
  if (id->type == "hardware-module") (void)server::hardware_module_of(*id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto json = parse_json(text);
  if (json && json->is_object()) {
    identifier(*json);
    if (json->contains("contact")) (void)server::parse_contacts((*json)["contact"]);
    return 0;
  }
  if (json && json->is_array()) {
    for (const auto& item : *json) identifier(item);
    (void)server::parse_contacts(*json);
    return 0;
  }
  (void)server::is_valid_dns_name(text);
  (void)server::canonical_ip(text);
  (void)server::check_contact(text);
  for (const char* type : {"dns", "ip", "permanent-identifier", "hardware-module"}) {
    identifier(Json{{"type", type}, {"value", text}});
  }
  return 0;
}

#include "server/attest/inventory.h"

#include <algorithm>

#include "core/pki.h"
#include "server/attest/attest_policy.h"

namespace attestlab::server {
namespace {

Error bad_entry(std::size_t i, const std::string& why) {
  return Error::make("malformed", "inventory[" + std::to_string(i) + "]: " + why);
}

Result<std::string> optional_text(const Json& entry, const char* key, std::size_t i) {
  auto it = entry.find(key);
  if (it == entry.end() || it->is_null()) return std::string();
  if (!it->is_string()) return bad_entry(i, std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

Error refusal(std::string* failed_rule, const char* rule, std::string detail) {
  if (failed_rule != nullptr) *failed_rule = rule;
  return Error::make("rejectedIdentifier", std::move(detail));
}

}  // namespace

Result<Inventory> Inventory::from_json(const Json& doc) {
  if (!doc.is_array())
    return Error::make("malformed", "an inventory must be a JSON array of devices");
  Inventory inv;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const Json& e = doc[i];
    if (!e.is_object()) return bad_entry(i, "must be an object");
    InventoryEntry entry;
    auto serial = optional_text(e, "serial", i);
    if (!serial) return serial.error();
    auto udid = optional_text(e, "udid", i);
    if (!udid) return udid.error();
    auto status = optional_text(e, "status", i);
    if (!status) return status.error();
    auto platform = optional_text(e, "platform", i);
    if (!platform) return platform.error();
    entry.serial = std::move(*serial);
    entry.udid = std::move(*udid);
    entry.status = std::move(*status);
    entry.platform = std::move(*platform);
    if (entry.serial.empty() && entry.udid.empty())
      return bad_entry(i, "needs a \"serial\" or a \"udid\"");
    if (entry.status.empty())
      return bad_entry(i, "needs a \"status\" (e.g. \"active\", \"retired\")");
    const auto& statuses = inventory_statuses();
    if (std::find(statuses.begin(), statuses.end(), entry.status) == statuses.end()) {
      std::string known;
      for (const auto& st : statuses) known += (known.empty() ? "" : ", ") + st;
      return bad_entry(i, "unknown status \"" + entry.status + "\" (known: " + known + ")");
    }
    if (!entry.platform.empty()) {
      const auto& platforms = policy_platforms();
      if (entry.platform == "default" ||
          std::find(platforms.begin(), platforms.end(), entry.platform) == platforms.end()) {
        return bad_entry(i, "unknown platform \"" + entry.platform + "\"");
      }
    }
    const std::size_t index = inv.entries_.size();
    if (!entry.serial.empty() && !inv.by_serial_.emplace(entry.serial, index).second) {
      return bad_entry(i, "serial \"" + entry.serial + "\" is listed twice");
    }
    if (!entry.udid.empty() && !inv.by_udid_.emplace(entry.udid, index).second) {
      return bad_entry(i, "udid \"" + entry.udid + "\" is listed twice");
    }
    inv.entries_.push_back(std::move(entry));
  }
  return inv;
}

const std::vector<std::string>& inventory_statuses() {
  static const std::vector<std::string> kStatuses = {"active", "retired",   "lost",
                                                     "stolen", "suspended", "pending"};
  return kStatuses;
}

Result<Inventory> Inventory::load(const std::string& path) {
  auto text = pki::read_file(path);
  if (!text) return Error::make("malformed", "inventory " + path + ": " + text.error().detail);
  auto doc = parse_json(*text);
  if (!doc) return Error::make("malformed", "inventory " + path + ": " + doc.error().detail);
  auto inv = from_json(*doc);
  if (!inv) return Error::make("malformed", "inventory " + path + ": " + inv.error().detail);
  return inv;
}

Result<InventoryEntry> Inventory::check(const std::optional<std::string>& serial,
                                        const std::optional<std::string>& udid,
                                        std::string* failed_rule) const {
  std::optional<std::size_t> by_serial;
  std::optional<std::size_t> by_udid;
  if (serial) {
    auto it = by_serial_.find(*serial);
    if (it != by_serial_.end()) by_serial = it->second;
  }
  if (udid) {
    auto it = by_udid_.find(*udid);
    if (it != by_udid_.end()) by_udid = it->second;
  }
  const std::string who = std::string("serial ") + (serial ? *serial : "(none)") + ", udid " +
                          (udid ? *udid : "(none)");
  if (!by_serial && !by_udid) {
    return refusal(failed_rule, "inventory_unknown",
                   "device (" + who + ") is not in the inventory");
  }
  if (by_serial && by_udid && *by_serial != *by_udid) {
    return refusal(failed_rule, "inventory_pair",
                   "attested serial and UDID belong to different inventory devices (" + who + ")");
  }
  const InventoryEntry& entry = entries_[by_serial ? *by_serial : *by_udid];
  // The entry found through one identifier must not list a different value for the other.
  if ((serial && !entry.serial.empty() && entry.serial != *serial) ||
      (udid && !entry.udid.empty() && entry.udid != *udid)) {
    return refusal(failed_rule, "inventory_pair",
                   "attested pair (" + who + ") does not match the inventory pair (serial " +
                       (entry.serial.empty() ? "(none)" : entry.serial) + ", udid " +
                       (entry.udid.empty() ? "(none)" : entry.udid) + ")");
  }
  if (entry.status != "active") {
    return refusal(
        failed_rule, "inventory_status",
        "device (" + who + ") has inventory status \"" + entry.status + "\", not \"active\"");
  }
  return entry;
}

}  // namespace attestlab::server

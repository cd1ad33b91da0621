// The device inventory (`attestlab serve --inventory FILE`): which devices the enterprise
// owns. A JSON array of {"serial", "udid", "status", "platform"?}; each entry needs a
// serial or a UDID (or both) and a status, one of inventory_statuses() ("active" is the
// only status that enrols; "retired", "lost", ... refuse; an unknown status is an error,
// so a typo cannot silently refuse or admit a device). "platform" (iOS, iPadOS, tvOS, macOS, watchOS,
// visionOS) selects the policy's per-platform version floors. Other members are ignored.
// Immutable after loading; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::server {

// active, retired, lost, stolen, suspended, pending.
const std::vector<std::string>& inventory_statuses();

struct InventoryEntry {
  std::string serial;
  std::string udid;
  std::string status;
  std::string platform;  // empty when unknown
};

class Inventory {
 public:
  // Error("malformed", "inventory[i]: why"), e.g. for a serial listed twice.
  static Result<Inventory> from_json(const Json& doc);
  // Reads and parses a file; errors name the file.
  static Result<Inventory> load(const std::string& path);

  // The entry an attested device matches, if it may enrol. Refusals are
  // Error("rejectedIdentifier", detail) with *failed_rule set to
  //  "inventory_unknown"  neither the attested serial nor UDID is listed;
  //  "inventory_pair"     serial and UDID belong to different entries, or the entry lists
  //                       another value for the other one;
  //  "inventory_status"   the entry's status is not "active".
  Result<InventoryEntry> check(const std::optional<std::string>& serial,
                               const std::optional<std::string>& udid,
                               std::string* failed_rule = nullptr) const;

  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<InventoryEntry> entries_;
  std::unordered_map<std::string, std::size_t> by_serial_;
  std::unordered_map<std::string, std::size_t> by_udid_;
};

}  // namespace attestlab::server

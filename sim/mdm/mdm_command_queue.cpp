// The MDM server's per-device command queue (the queue rules are in mdm_server.h).
#include <algorithm>

#include "sim/device/acme_payload.h"
#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/mdm_server_impl.h"

namespace attestlab::sim::mdm_server_detail {

Result<std::string> enqueue_command(MdmDeviceRecord& d, mdm::MdmCommand command,
                                    std::size_t max_queued, std::int64_t now) {
  std::size_t open = 0;
  for (const auto& c : d.commands)
    if (!c.finished()) ++open;
  if (open >= max_queued) {
    return Error::make("malformed", "the command queue of " + d.device_id + " is full");
  }
  if (command.command_uuid.empty()) command.command_uuid = new_payload_uuid();
  if (d.find_command(command.command_uuid) != nullptr) {
    return Error::make("malformed", "CommandUUID " + command.command_uuid + " is already queued");
  }
  MdmCommandRecord record;
  if (const Bytes* nonce = plist_bytes(command.fields, "DeviceAttestationNonce"))
    record.attestation_nonce = *nonce;
  record.command = std::move(command);
  record.queued_at = now;
  const std::string uuid = record.command.command_uuid;
  d.commands.push_back(std::move(record));
  return uuid;
}

const MdmCommandRecord* record_report(MdmDeviceRecord& d, const mdm::CommandReport& report,
                                      std::int64_t now) {
  if (report.status == mdm::kStatusIdle) {
    for (auto& c : d.commands) c.skipped_this_session = false;
    return nullptr;
  }
  auto c = std::find_if(d.commands.begin(), d.commands.end(), [&](const MdmCommandRecord& r) {
    return r.command.command_uuid == report.command_uuid;
  });
  if (c == d.commands.end() || c->finished()) return nullptr;
  c->status = report.status;
  c->answered_at = now;
  c->error_chain = report.error_chain;
  c->response = report.results;
  if (report.status == mdm::kStatusNotNow) {
    ++c->not_now_count;
    c->skipped_this_session = true;
    return nullptr;
  }
  return &*c;
}

const mdm::MdmCommand* deliver_next_command(MdmDeviceRecord& d, std::int64_t now) {
  auto next = std::find_if(d.commands.begin(), d.commands.end(), [](const MdmCommandRecord& r) {
    return !r.finished() && !r.skipped_this_session;
  });
  if (next == d.commands.end()) return nullptr;
  next->status = kCommandSent;
  next->sent_at = now;
  ++next->deliveries;
  return &next->command;
}

}  // namespace attestlab::sim::mdm_server_detail

// The agent's polling session: report Idle, execute what the server answers, report the
// result, until the server has nothing more; and the background thread that runs sessions.
#include <algorithm>

#include "sim/mdm/mdm_agent_impl.h"
#include "sim/mdm/mdm_plist.h"

namespace attestlab::sim {
namespace mdm_agent_detail {

Outcome format_error(const std::string& why) {
  Outcome o;
  o.status = mdm::kStatusCommandFormatError;
  o.error_chain.push_back({12021, "MCMDMErrorDomain", why, why});
  return o;
}

Outcome failed(std::vector<mdm::MdmError> chain) {
  Outcome o;
  o.status = mdm::kStatusError;
  o.error_chain = std::move(chain);
  return o;
}

}  // namespace mdm_agent_detail

namespace {

using mdm_agent_detail::body_excerpt;
using mdm_agent_detail::CommandContext;
using mdm_agent_detail::format_error;
using mdm_agent_detail::Outcome;

bool blank(const std::string& body) {
  return std::all_of(body.begin(), body.end(),
                     [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
}

}  // namespace

Result<std::size_t> MdmAgent::Impl::run_until_idle() {
  std::lock_guard session(session_mutex);
  mdm::CommandReport report;
  std::string url;
  {
    std::lock_guard lock(records.mutex);
    if (!records.enrolled) return Error::make("malformed", "the device is not enrolled");
    report.udid = records.reported_udid;
    report.enrollment_id = records.reported_enrollment_id;
    url = records.server_url;
  }
  report.status = mdm::kStatusIdle;
  std::size_t executed = 0;
  for (;;) {
    auto answer = put_plist(url, mdm::report_to_plist(report), mdm::kCommandContentType);
    if (!answer) return remember(answer.error());
    if (answer->status != 200) {
      if (answer->status == 401) {
        std::lock_guard lock(records.mutex);
        records.enrolled = false;
      }
      return remember(Error::make(
          "unauthorized",
          "the MDM answered " + std::to_string(answer->status) + ": " + body_excerpt(answer->body),
          answer->status));
    }
    if (blank(answer->body)) break;
    if (executed >= options.max_commands_per_session) {
      return remember(
          Error::make("serverInternal", "the MDM sent more than " +
                                            std::to_string(options.max_commands_per_session) +
                                            " commands in one session"));
    }
    auto json = plist_to_json(answer->body);
    if (!json)
      return remember(Error::make("malformed", "the MDM sent a command that is not a plist"));
    Outcome outcome;
    auto command = mdm::parse_command(*json);
    if (!command) {
      const std::string* uuid = plist_string(*json, "CommandUUID");
      if (uuid == nullptr)
        return remember(Error::make("malformed", "the MDM sent a command without CommandUUID"));
      outcome = format_error(command.error().detail);
      outcome.executed.command_uuid = *uuid;
    } else {
      outcome = execute(*command);
      outcome.executed.command_uuid = command->command_uuid;
      outcome.executed.request_type = command->request_type;
    }
    outcome.executed.status = outcome.status;
    outcome.executed.error_chain = outcome.error_chain;
    outcome.executed.executed_at = now();
    report.status = outcome.status;
    report.command_uuid = outcome.executed.command_uuid;
    report.error_chain = outcome.error_chain;
    report.results = outcome.results;
    {
      std::lock_guard lock(records.mutex);
      records.history.push_back(std::move(outcome.executed));
    }
    ++executed;
  }
  std::lock_guard lock(records.mutex);
  ++records.sessions;
  records.last_error.reset();
  return executed;
}

mdm_agent_detail::Outcome MdmAgent::Impl::execute(const mdm::MdmCommand& c) {
  if (locked && options.deferred_while_locked.count(c.request_type) != 0) {
    Outcome o;
    o.status = mdm::kStatusNotNow;
    return o;
  }
  CommandContext ctx{options, device, records, *apple};
  if (c.request_type == mdm::kInstallProfile) return install_profile(ctx, c);
  if (c.request_type == mdm::kRemoveProfile) return remove_profile(ctx, c);
  if (c.request_type == mdm::kProfileList) return profile_list(ctx);
  if (c.request_type == mdm::kCertificateList) return certificate_list(ctx);
  if (c.request_type == mdm::kDeviceInformation) return device_information(ctx, c);
  return format_error("unknown RequestType " + c.request_type);
}

void MdmAgent::Impl::loop() {
  {
    bool need_enroll;
    {
      std::lock_guard lock(records.mutex);
      need_enroll = !records.enrolled;
    }
    if (need_enroll) (void)enroll();
  }
  while (!stopping) {
    bool is_enrolled;
    {
      std::lock_guard lock(records.mutex);
      is_enrolled = records.enrolled;
    }
    if (is_enrolled) (void)run_until_idle();
    wake->wait_for(options.poll_interval);
  }
}

}  // namespace attestlab::sim

// Shorthand for the cases_*.cpp files: one call a case, fields in reading order.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "conformance/case.h"

namespace attestlab::conformance {

struct CaseHead {
  std::string id;
  std::string title;
  std::string section;
  Level level = Level::Must;
  std::string requirement;
  std::vector<std::string> capabilities = {};
  std::vector<std::string> depends_on = {};  // Case::depends_on
};

inline Case make_case(const char* spec, const char* profile, CaseHead head,
                      std::function<Verdict(CaseContext&)> run,
                      std::vector<DeviceSlot> devices = {}) {
  Case c;
  c.id = std::move(head.id);
  c.title = std::move(head.title);
  c.spec = spec;
  c.section = std::move(head.section);
  c.level = head.level;
  c.profile = profile;
  c.requirement = std::move(head.requirement);
  c.capabilities = std::move(head.capabilities);
  c.depends_on = std::move(head.depends_on);
  c.devices = std::move(devices);
  c.run = std::move(run);
  return c;
}

// An RFC 8555 case (profile rfc8555).
inline Case rfc_case(CaseHead head, std::function<Verdict(CaseContext&)> run) {
  return make_case(kSpecRfc8555, kProfileRfc8555, std::move(head), std::move(run));
}

}  // namespace attestlab::conformance

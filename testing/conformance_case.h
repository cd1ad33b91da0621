// Test support (header-only, for *_test.cpp files only): a conformance case built from a
// lambda, for runner tests that need cases with given levels, capabilities and
// dependencies rather than the registry's.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "conformance/case.h"

namespace attestlab::conformance::testing {

inline Case make_case(const std::string& id, Level level, std::function<Verdict(CaseContext&)> run,
                      std::vector<std::string> capabilities = {},
                      std::vector<std::string> depends_on = {}) {
  Case c;
  c.id = id;
  c.title = id;
  c.spec = kSpecRfc8555;
  c.section = "0";
  c.level = level;
  c.profile = kProfileRfc8555;
  c.requirement = "requirement of " + id;
  c.capabilities = std::move(capabilities);
  c.depends_on = std::move(depends_on);
  c.run = std::move(run);
  return c;
}

}  // namespace attestlab::conformance::testing

#include "conformance/selection.h"

#include <algorithm>
#include <map>
#include <set>

namespace attestlab::conformance {

bool pattern_matches(const std::string& pattern, const Case& c) {
  if (pattern.empty()) return false;
  if (pattern == c.profile || pattern == c.id) return true;
  if (pattern.back() == '*') {
    const std::string prefix = pattern.substr(0, pattern.size() - 1);
    return c.id.compare(0, prefix.size(), prefix) == 0;
  }
  if (c.id.size() > pattern.size() && c.id.compare(0, pattern.size(), pattern) == 0) {
    const char next = c.id[pattern.size()];
    return next == '-' || next == '.';
  }
  return false;
}

Result<CaseList> select_cases(const CaseList& all, const Selection& selection) {
  // A pattern that is some case's own id selects that case alone, not also the cases
  // split from it ("rfc8555-7.1.1-directory-meta" and "...-directory-meta-fields").
  std::map<std::string, const Case*> by_id;
  for (const auto& c : all) by_id.emplace(c.id, &c);
  const auto matches = [&](const std::string& p, const Case& c) {
    return by_id.count(p) != 0 ? c.id == p : pattern_matches(p, c);
  };
  const auto any = [&](const std::vector<std::string>& patterns, const Case& c) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return matches(p, c); });
  };
  const auto check = [&](const std::vector<std::string>& patterns,
                         const char* flag) -> Result<void> {
    for (const auto& p : patterns) {
      const bool hit =
          std::any_of(all.begin(), all.end(), [&](const Case& c) { return matches(p, c); });
      if (!hit)
        return Error::make("malformed", std::string(flag) + " \"" + p + "\" matches no case");
    }
    return ok();
  };
  ATTESTLAB_TRY(check(selection.only, "--only"));
  ATTESTLAB_TRY(check(selection.skip, "--skip"));
  CaseList out;
  std::set<std::string> taken;
  for (const auto& c : all) {
    if ((selection.only.empty() || any(selection.only, c)) && !any(selection.skip, c)) {
      out.push_back(c);
      taken.insert(c.id);
    }
  }
  // A case's verdict rests on the cases it depends on (runner.h): they come along,
  // transitively, unless --skip names them.
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::vector<std::string> deps = out[i].depends_on;  // a copy: out grows below
    for (const auto& dep : deps) {
      auto it = by_id.find(dep);
      if (it == by_id.end() || taken.count(dep) != 0 || any(selection.skip, *it->second)) continue;
      taken.insert(dep);
      out.push_back(*it->second);
    }
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.id < b.id; });
  return out;
}

}  // namespace attestlab::conformance

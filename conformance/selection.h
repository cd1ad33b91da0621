// Which cases a run includes (`attestlab conform --only/--skip`).
//
// A pattern selects a case when it is
//   - the case's profile name ("rfc8555", "device-attest", "apple", "apple-mda-policy"),
//   - the case id itself (then that case alone, even when other ids continue it), or
//   - a prefix of the id ending at a boundary: the id continues with '-' or '.' after it,
//     so "rfc8555-6.5" selects section 6.5 (and 6.5.1) but not 6.50, "rfc8555-7" all of
//     section 7, and "rfc8555-6.5-nonce" the ids starting "rfc8555-6.5-nonce-".
//   - with a trailing '*', any id starting with the text before it.
// A case runs when it matches some --only pattern (or there is none) and no --skip
// pattern, or when a case that runs depends on it (Case::depends_on, transitively) and no
// --skip pattern matches it: "--only rfc8555-7.3.5-inner-url-mismatch" also runs
// rfc8555-7.3.5-key-change, whose outcome decides whether the first is judged. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "conformance/case.h"
#include "core/result.h"

namespace attestlab::conformance {

struct Selection {
  std::vector<std::string> only;
  std::vector<std::string> skip;
};

bool pattern_matches(const std::string& pattern, const Case& c);

// The selected cases, sorted by id. A pattern that matches no case at all is a usage
// error (a typo would otherwise silently run nothing or everything):
// Error("malformed", "--only \"x\" matches no case").
Result<CaseList> select_cases(const CaseList& all, const Selection& selection);

}  // namespace attestlab::conformance

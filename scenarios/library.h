// The scenario library: scenarios/library/*.json, compiled into the binary (so
// `attestlab scenario run all` works from any directory), or read from a directory
// (`--library DIR`, for editing scenarios without rebuilding).
//
// Selection: "all", a scenario name from the library, a glob over names, or a path to a
// scenario file (anything containing '/' or ending in ".json"). Library scenarios must be named
// like their file ("jailbroken" in jailbroken.json) and names must be unique. Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "scenarios/scenario.h"

namespace attestlab::scenarios {

struct LibraryFile {
  std::string path;  // "scenarios/library/jailbroken.json"
  std::string text;
};

// The files compiled in (generated from scenarios/library at build time), sorted by path.
const std::vector<LibraryFile>& embedded_library();

// Parses every library scenario: from `dir` (its *.json files) or, when dir is empty,
// the embedded library. Sorted by name. The first bad file fails the whole library; the
// error names it.
Result<std::vector<Scenario>> load_library(const std::string& dir = "");

// The scenarios `selector` means (see the file comment). Errors: Error("malformed",
// "unknown scenario X (see attestlab scenario list)") or the file's parse error.
Result<std::vector<Scenario>> select_scenarios(const std::vector<Scenario>& library,
                                               const std::string& selector);

// Several selectors, each a scenario name, a glob over names ("happy-*"), a comma list of
// those, "all", or a scenario FILE: the union, each scenario once, in the order first
// selected. A pattern that selects nothing is an error (a typo never runs less silently).
Result<std::vector<Scenario>> select_scenarios(const std::vector<Scenario>& library,
                                               const std::vector<std::string>& selectors);

}  // namespace attestlab::scenarios

#include "scenarios/library.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/pki.h"

namespace attestlab::scenarios {

namespace {

std::string stem_of(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

Result<void> check_library(const std::vector<Scenario>& scenarios) {
  std::set<std::string> names;
  for (const auto& sc : scenarios) {
    if (sc.name != stem_of(sc.source)) {
      return Error::make("malformed",
                         sc.source + ": name: \"" + sc.name + "\" must match the file name");
    }
    if (!names.insert(sc.name).second) {
      return Error::make("malformed",
                         sc.source + ": name: \"" + sc.name + "\" is used by another scenario");
    }
  }
  return ok();
}

}  // namespace

Result<std::vector<Scenario>> load_library(const std::string& dir) {
  std::vector<Scenario> out;
  if (dir.empty()) {
    for (const auto& file : embedded_library()) {
      auto sc = parse_scenario_text(file.text, file.path);
      if (!sc) return sc.error();
      out.push_back(std::move(*sc));
    }
  } else {
    std::error_code ec;
    std::vector<std::string> paths;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
    }
    if (ec) return Error::make("malformed", dir + ": " + ec.message());
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      auto sc = load_scenario_file(path);
      if (!sc) return sc.error();
      out.push_back(std::move(*sc));
    }
  }
  ATTESTLAB_TRY(check_library(out));
  std::sort(out.begin(), out.end(),
            [](const Scenario& a, const Scenario& b) { return a.name < b.name; });
  return out;
}

namespace {

bool is_scenario_file(const std::string& selector) {
  return selector.find('/') != std::string::npos ||
         (selector.size() > 5 && selector.substr(selector.size() - 5) == ".json");
}

// The library scenarios one name, glob ("happy-*", "*-nonce") or "all" selects.
std::vector<const Scenario*> matching(const std::vector<Scenario>& library,
                                      const std::string& pattern) {
  std::vector<const Scenario*> out;
  for (const auto& sc : library) {
    if (pattern == "all" || sc.name == pattern ||
        fnmatch(pattern.c_str(), sc.name.c_str(), 0) == 0) {
      out.push_back(&sc);
    }
  }
  return out;
}

}  // namespace

Result<std::vector<Scenario>> select_scenarios(const std::vector<Scenario>& library,
                                               const std::string& selector) {
  return select_scenarios(library, std::vector<std::string>{selector});
}

Result<std::vector<Scenario>> select_scenarios(const std::vector<Scenario>& library,
                                               const std::vector<std::string>& selectors) {
  std::vector<std::string> patterns;
  for (const auto& selector : selectors) {
    std::size_t start = 0;
    while (start <= selector.size()) {
      std::size_t comma = selector.find(',', start);
      if (comma == std::string::npos) comma = selector.size();
      if (comma > start) patterns.push_back(selector.substr(start, comma - start));
      start = comma + 1;
    }
  }
  if (patterns.empty()) return Error::make("malformed", "no scenario selected");
  std::vector<Scenario> out;
  std::set<std::string> chosen;
  for (const auto& pattern : patterns) {
    if (is_scenario_file(pattern)) {
      auto sc = load_scenario_file(pattern);
      if (!sc) return sc.error();
      if (chosen.insert(sc->name).second) out.push_back(std::move(*sc));
      continue;
    }
    auto found = matching(library, pattern);
    if (found.empty()) {
      return Error::make("malformed",
                         "unknown scenario \"" + pattern + "\" (see attestlab scenario list)");
    }
    for (const Scenario* sc : found)
      if (chosen.insert(sc->name).second) out.push_back(*sc);
  }
  return out;
}

}  // namespace attestlab::scenarios

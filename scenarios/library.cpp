#include "scenarios/library.h"

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

Result<std::vector<Scenario>> select_scenarios(const std::vector<Scenario>& library,
                                               const std::string& selector) {
  if (selector == "all") return library;
  const bool is_file = selector.find('/') != std::string::npos ||
                       (selector.size() > 5 && selector.substr(selector.size() - 5) == ".json");
  if (is_file) {
    auto sc = load_scenario_file(selector);
    if (!sc) return sc.error();
    return std::vector<Scenario>{std::move(*sc)};
  }
  for (const auto& sc : library)
    if (sc.name == selector) return std::vector<Scenario>{sc};
  return Error::make("malformed",
                     "unknown scenario \"" + selector + "\" (see attestlab scenario list)");
}

}  // namespace attestlab::scenarios

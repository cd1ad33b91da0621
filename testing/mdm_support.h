// Test-only helpers for the MDM and profile tests: a temporary directory and a round trip
// through Debian's plistutil CLI (libplist-utils), the independent reader/writer every
// message and profile must survive.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/json.h"
#include "core/result.h"
#include "sim/mdm/mdm_plist.h"
#include "testing/temp_dir.h"

namespace attestlab::sim::testing {

using ScratchDir = attestlab::testing::TempDir;  // testing/temp_dir.h

inline bool have_plistutil() {
  return std::system("command -v plistutil >/dev/null 2>&1") == 0;
}

// XML (ours) → binary (plistutil) → XML (plistutil) → parsed (ours).
inline Result<Json> plistutil_round_trip(const Json& value) {
  ScratchDir dir;
  const std::string in = dir.write("in.plist", json_to_plist_xml(value));
  const std::string bin = dir.file("mid.bin");
  const std::string out = dir.file("out.plist");
  const std::string to_bin = "plistutil -i '" + in + "' -o '" + bin + "' -f bin";
  const std::string to_xml = "plistutil -i '" + bin + "' -o '" + out + "' -f xml";
  if (std::system(to_bin.c_str()) != 0)
    return Error::make("serverInternal", "plistutil -f bin failed");
  if (std::system(to_xml.c_str()) != 0)
    return Error::make("serverInternal", "plistutil -f xml failed");
  return plist_to_json(dir.read("out.plist"));
}

}  // namespace attestlab::sim::testing

// Certificate profiles (draft-ietf-acme-profiles, the WG successor of
// draft-aaron-acme-profiles): the named issuance profiles the server advertises in
// meta.profiles and accepts in newOrder "profile". Static per configuration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"
#include "server/config.h"

namespace attestlab::server {

struct CertProfile {
  std::string name;
  std::string description;
  std::int64_t validity = 0;  // seconds from issuance to notAfter
};

inline constexpr const char* kDeviceProfile = "device";
inline constexpr const char* kShortLivedProfile = "short-lived";
inline constexpr std::int64_t kShortLivedValidity = 7 * 24 * 3600;

// The offered profiles: "device" (the configured certificate, config.cert_validity) and
// "short-lived" (the same certificate valid at most 7 days). The first is the default an
// order without "profile" gets.
const std::vector<CertProfile>& cert_profiles(const ServerConfig& config);
// nullptr when the name is not offered.
const CertProfile* find_cert_profile(const ServerConfig& config, const std::string& name);
// {name: description} for the directory's meta.profiles.
Json profiles_meta(const ServerConfig& config);

}  // namespace attestlab::server

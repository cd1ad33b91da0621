#include "server/acme/cert_profiles.h"

#include <algorithm>
#include <map>
#include <mutex>

namespace attestlab::server {

const std::vector<CertProfile>& cert_profiles(const ServerConfig& config) {
  // One list per configured validity; servers in one process may differ (tests).
  static std::mutex mutex;
  static std::map<std::int64_t, std::vector<CertProfile>> by_validity;
  std::lock_guard lock(mutex);
  auto& list = by_validity[config.cert_validity];
  if (list.empty()) {
    std::int64_t days = config.cert_validity / 86400;
    list.push_back(
        {kDeviceProfile,
         "The device certificate: identifiers as ordered, valid " + std::to_string(days) + " days",
         config.cert_validity});
    std::int64_t short_validity = std::min(kShortLivedValidity, config.cert_validity);
    list.push_back(
        {kShortLivedProfile,
         "The device certificate valid at most " + std::to_string(short_validity / 3600) + " hours",
         short_validity});
  }
  return list;
}

const CertProfile* find_cert_profile(const ServerConfig& config, const std::string& name) {
  for (const auto& profile : cert_profiles(config)) {
    if (profile.name == name) return &profile;
  }
  return nullptr;
}

Json profiles_meta(const ServerConfig& config) {
  Json out = Json::object();
  for (const auto& profile : cert_profiles(config)) out[profile.name] = profile.description;
  return out;
}

}  // namespace attestlab::server

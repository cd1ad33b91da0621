#include "sim/device/device.h"

#include <array>
#include <charconv>
#include <utility>

namespace attestlab::sim {
namespace {

enum class Os { IOS, MacOS, TvOS, WatchOS, VisionOS, LegacyIOS };

struct Software {
  const char* os_version;
  const char* build_version;
  const char* sepos_version;
  const char* llb_version;
};

// Released versions per OS family (sepOS and LLB follow the Darwin / iBoot train of the
// release; exactness is not the point, plausibility is).
const std::vector<Software>& software_for(Os os) {
  static const std::vector<Software> ios = {{"16.7.8", "20H343", "20.6.0", "8422.220.2"},
                                            {"17.5", "21F79", "21.5.0", "10151.121.1"},
                                            {"17.6.1", "21G93", "21.6.0", "10151.140.19"},
                                            {"18.1", "22B83", "22.1.0", "11881.40.130"}};
  static const std::vector<Software> macos = {{"14.5", "23F79", "23.5.0", "10151.121.1"},
                                              {"14.6.1", "23G93", "23.6.0", "10151.140.19"},
                                              {"15.1", "24B83", "24.1.0", "11881.41.5"}};
  static const std::vector<Software> tvos = {{"17.5", "21L569", "21.5.0", "10151.121.1"},
                                             {"18.1", "22J580", "22.1.0", "11881.40.130"}};
  static const std::vector<Software> watchos = {{"10.5", "21T576", "21.5.0", "10151.121.1"},
                                                {"11.1", "22R3581", "22.1.0", "11881.40.130"}};
  static const std::vector<Software> visionos = {{"1.2", "21O589", "21.5.0", "10151.121.1"},
                                                 {"2.1", "22N581", "22.1.0", "11881.40.130"}};
  static const std::vector<Software> legacy_ios = {{"15.8.2", "19H384", "19.6.0", "7459.140.15"}};
  switch (os) {
    case Os::IOS:
      return ios;
    case Os::MacOS:
      return macos;
    case Os::TvOS:
      return tvos;
    case Os::WatchOS:
      return watchos;
    case Os::VisionOS:
      return visionos;
    case Os::LegacyIOS:
      return legacy_ios;
  }
  return ios;
}

enum class UdidStyle {
  Modern,    // "CHIPID00-XXXXXXXXXXXXXXXX" (A12 and later, Apple silicon)
  Legacy40,  // 40 lowercase hex digits (A11 and older)
  Uuid,      // hardware UUID (Intel Macs)
};

struct Model {
  const char* model;
  const char* product_name;
  UdidStyle udid_style;
  const char* chip_id;  // UdidStyle::Modern only
};

struct KindInfo {
  DeviceKind kind;
  const char* name;
  Os os;
  const char* platform;  // as inventories and the posture policy spell it
  std::vector<Model> models;
};

const std::vector<KindInfo>& kind_table() {
  static const std::vector<KindInfo> table = {
      {DeviceKind::IPhone,
       "iPhone",
       Os::IOS, "iOS",
       {{"iPhone10,3", "iPhone X", UdidStyle::Legacy40, ""},
        {"iPhone13,2", "iPhone 12", UdidStyle::Modern, "00008101"},
        {"iPhone14,5", "iPhone 13", UdidStyle::Modern, "00008110"},
        {"iPhone15,2", "iPhone 14 Pro", UdidStyle::Modern, "00008120"},
        {"iPhone16,1", "iPhone 15 Pro", UdidStyle::Modern, "00008130"}}},
      {DeviceKind::IPad,
       "iPad",
       Os::IOS, "iPadOS",
       {{"iPad8,1", "iPad Pro (11-inch)", UdidStyle::Modern, "00008027"},
        {"iPad13,1", "iPad Air (4th generation)", UdidStyle::Modern, "00008101"},
        {"iPad14,1", "iPad mini (6th generation)", UdidStyle::Modern, "00008110"},
        {"iPad13,4", "iPad Pro (11-inch) (3rd generation)", UdidStyle::Modern, "00008103"}}},
      {DeviceKind::Mac,
       "Mac",
       Os::MacOS, "macOS",
       {{"Macmini9,1", "Mac mini (M1, 2020)", UdidStyle::Modern, "00008103"},
        {"MacBookPro18,3", "MacBook Pro (14-inch, 2021)", UdidStyle::Modern, "00006000"},
        {"Mac14,2", "MacBook Air (M2, 2022)", UdidStyle::Modern, "00008112"},
        {"Mac15,3", "MacBook Pro (14-inch, M3, Nov 2023)", UdidStyle::Modern, "00008122"}}},
      {DeviceKind::AppleTv,
       "AppleTV",
       Os::TvOS, "tvOS",
       {{"AppleTV11,1", "Apple TV 4K (2nd generation)", UdidStyle::Modern, "00008020"},
        {"AppleTV14,1", "Apple TV 4K (3rd generation)", UdidStyle::Modern, "00008110"}}},
      {DeviceKind::VisionPro,
       "VisionPro",
       Os::VisionOS, "visionOS",
       {{"RealityDevice14,1", "Apple Vision Pro", UdidStyle::Modern, "00008112"}}},
      {DeviceKind::Watch,
       "Watch",
       Os::WatchOS, "watchOS",
       {{"Watch6,1", "Apple Watch Series 6", UdidStyle::Modern, "00008301"},
        {"Watch7,1", "Apple Watch Series 9", UdidStyle::Modern, "00008310"}}},
      {DeviceKind::LegacyIPhone,
       "LegacyiPhone",
       Os::LegacyIOS, "iOS",
       {{"iPhone8,1", "iPhone 6s", UdidStyle::Legacy40, ""},
        {"iPhone9,1", "iPhone 7", UdidStyle::Legacy40, ""}}},
      {DeviceKind::IntelMac,
       "IntelMac",
       Os::MacOS, "macOS",
       {{"MacBookPro16,1", "MacBook Pro (16-inch, 2019)", UdidStyle::Uuid, ""},
        {"iMac20,1", "iMac (Retina 5K, 27-inch, 2020)", UdidStyle::Uuid, ""}}},
  };
  return table;
}

const KindInfo& info(DeviceKind kind) {
  for (const auto& entry : kind_table()) {
    if (entry.kind == kind) return entry;
  }
  return kind_table().front();
}

bool at_least(std::pair<int, int> version, std::pair<int, int> floor) {
  return version >= floor;
}

}  // namespace

const char* to_string(DeviceKind kind) {
  return info(kind).name;
}

std::optional<DeviceKind> parse_device_kind(std::string_view name) {
  for (const auto& entry : kind_table()) {
    if (name == entry.name) return entry.kind;
  }
  return std::nullopt;
}

const std::vector<DeviceKind>& all_device_kinds() {
  static const std::vector<DeviceKind> kinds = [] {
    std::vector<DeviceKind> out;
    for (const auto& entry : kind_table()) out.push_back(entry.kind);
    return out;
  }();
  return kinds;
}

bool kind_has_secure_enclave(DeviceKind kind) {
  return kind != DeviceKind::IntelMac;
}

bool kind_can_attest(DeviceKind kind) {
  return kind != DeviceKind::LegacyIPhone && kind != DeviceKind::IntelMac;
}

bool kind_is_mac(DeviceKind kind) {
  return kind == DeviceKind::Mac || kind == DeviceKind::IntelMac;
}

bool kind_attests_mac_posture(DeviceKind kind) {
  return kind == DeviceKind::Mac;
}

std::pair<int, int> min_attestation_os(DeviceKind kind) {
  switch (info(kind).os) {
    case Os::MacOS:
      return {14, 0};
    case Os::WatchOS:
      return {9, 0};
    case Os::VisionOS:
      return {1, 1};
    case Os::IOS:
    case Os::TvOS:
    case Os::LegacyIOS:
      return {16, 0};
  }
  return {16, 0};
}

const char* platform_name(DeviceKind kind) {
  return info(kind).platform;
}

std::optional<std::pair<int, int>> parse_os_version(std::string_view version) {
  int major = 0;
  int minor = 0;
  const char* begin = version.data();
  const char* end = begin + version.size();
  auto r = std::from_chars(begin, end, major);
  if (r.ec != std::errc() || r.ptr == begin) return std::nullopt;
  if (r.ptr != end) {
    if (*r.ptr != '.') return std::nullopt;
    const char* minor_begin = r.ptr + 1;
    auto r2 = std::from_chars(minor_begin, end, minor);
    if (r2.ec != std::errc() || r2.ptr == minor_begin) return std::nullopt;
    if (r2.ptr != end && *r2.ptr != '.') return std::nullopt;
  }
  return std::make_pair(major, minor);
}

// ---------------------------------------------------------------------------------------
// Device

Device::Device(DeviceKind kind, DeviceIdentity identity, Posture posture)
    : kind_(kind),
      identity_(std::move(identity)),
      posture_(posture),
      enclave_(kind_has_secure_enclave(kind)) {}

void Device::update_software(std::string os_version, std::string build_version,
                             std::string sepos_version, std::string llb_version) {
  identity_.os_version = std::move(os_version);
  identity_.build_version = std::move(build_version);
  identity_.sepos_version = std::move(sepos_version);
  identity_.llb_version = std::move(llb_version);
}

SelfReport Device::self_report() const {
  SelfReport report{identity_, posture_};
  const ClaimOverrides& o = overrides_;
  if (o.serial) report.identity.serial = *o.serial;
  if (o.udid) report.identity.udid = *o.udid;
  if (o.model) report.identity.model = *o.model;
  if (o.product_name) report.identity.product_name = *o.product_name;
  if (o.os_version) report.identity.os_version = *o.os_version;
  if (o.build_version) report.identity.build_version = *o.build_version;
  if (o.sip_enabled) report.posture.sip_enabled = *o.sip_enabled;
  if (o.secure_boot) report.posture.secure_boot = *o.secure_boot;
  if (o.third_party_kexts_allowed) {
    report.posture.third_party_kexts_allowed = *o.third_party_kexts_allowed;
  }
  if (o.jailbroken) report.posture.jailbroken = *o.jailbroken;
  return report;
}

bool Device::supports_attestation() const {
  if (!kind_can_attest(kind_)) return false;
  auto version = parse_os_version(identity_.os_version);
  return version && at_least(*version, min_attestation_os(kind_));
}

DeviceFacts Device::attested_facts() const {
  DeviceFacts facts;
  if (!user_enrollment_) {
    facts.serial = identity_.serial;
    facts.udid = identity_.udid;
  }
  if (!identity_.os_version.empty()) facts.os_version = identity_.os_version;
  if (!identity_.sepos_version.empty()) facts.sepos_version = identity_.sepos_version;
  if (!identity_.llb_version.empty()) facts.llb_version = identity_.llb_version;
  if (kind_attests_mac_posture(kind_)) {
    facts.sip_enabled = posture_.sip_enabled;
    facts.secure_boot = posture_.secure_boot;
    facts.third_party_kexts_allowed = posture_.third_party_kexts_allowed;
  }
  return facts;
}

void Device::erase() {
  enclave_.erase();
  software_.erase();
  ++erase_count_;
}

// ---------------------------------------------------------------------------------------
// FleetGenerator

namespace {
constexpr const char* kSerialAlphabet = "BCDFGHJKLMNPQRTVWXY0123456789";  // randomized serials
constexpr const char* kLegacySerialAlphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
constexpr const char* kUpperHex = "0123456789ABCDEF";
constexpr const char* kLowerHex = "0123456789abcdef";
}  // namespace

FleetGenerator::FleetGenerator(std::uint64_t seed) : engine_(seed) {}

std::uint64_t FleetGenerator::next() {
  return engine_();
}

std::uint64_t FleetGenerator::below(std::uint64_t bound) {
  if (bound <= 1) return 0;
  // Rejection sampling: unbiased and, unlike std:: distributions, identical everywhere.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t x = next();
  while (x >= limit) x = next();
  return x % bound;
}

std::string FleetGenerator::pick_chars(const char* alphabet, std::size_t n) {
  const std::string_view chars(alphabet);
  std::string out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(chars[below(chars.size())]);
  return out;
}

DeviceIdentity FleetGenerator::identity(DeviceKind kind) {
  const KindInfo& k = info(kind);
  const Model& model = k.models[below(k.models.size())];
  const auto& versions = software_for(k.os);
  const Software& sw = versions[below(versions.size())];

  DeviceIdentity id;
  id.model = model.model;
  id.product_name = model.product_name;
  id.os_version = sw.os_version;
  id.build_version = sw.build_version;
  id.sepos_version = sw.sepos_version;
  id.llb_version = sw.llb_version;
  if (kind == DeviceKind::IntelMac) {
    // Attestation never reports these; an Intel Mac has no Secure Enclave firmware of its own.
    id.sepos_version.clear();
    id.llb_version.clear();
  }

  const bool legacy_serial = model.udid_style != UdidStyle::Modern;
  do {
    id.serial =
        legacy_serial ? pick_chars(kLegacySerialAlphabet, 12) : pick_chars(kSerialAlphabet, 10);
  } while (!issued_.insert(id.serial).second);
  do {
    switch (model.udid_style) {
      case UdidStyle::Modern:
        id.udid = std::string(model.chip_id) + "-" + pick_chars(kUpperHex, 16);
        break;
      case UdidStyle::Legacy40:
        id.udid = pick_chars(kLowerHex, 40);
        break;
      case UdidStyle::Uuid:
        id.udid = pick_chars(kUpperHex, 8) + "-" + pick_chars(kUpperHex, 4) + "-" +
                  pick_chars(kUpperHex, 4) + "-" + pick_chars(kUpperHex, 4) + "-" +
                  pick_chars(kUpperHex, 12);
        break;
    }
  } while (!issued_.insert(id.udid).second);
  id.enrollment_id = pick_chars(kUpperHex, 8) + "-" + pick_chars(kUpperHex, 4) + "-" +
                     pick_chars(kUpperHex, 4) + "-" + pick_chars(kUpperHex, 4) + "-" +
                     pick_chars(kUpperHex, 12);
  return id;
}

Device FleetGenerator::device(DeviceKind kind) {
  return Device(kind, identity(kind));
}

std::vector<Device> FleetGenerator::fleet(std::size_t n, const std::vector<unsigned>& weights) {
  static const std::vector<unsigned> kDefaultMix = {40, 15, 25, 3, 1, 4, 6, 6};
  const auto& kinds = all_device_kinds();
  std::vector<unsigned> w(kinds.size(), 0);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kinds.size() && i < weights.size(); ++i) {
    w[i] = weights[i];
    total += weights[i];
  }
  if (total == 0) {
    w = kDefaultMix;
    total = 0;
    for (unsigned x : w) total += x;
  }
  std::vector<Device> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t r = below(total);
    std::size_t pick = 0;
    while (r >= w[pick]) {
      r -= w[pick];
      ++pick;
    }
    out.push_back(device(kinds[pick]));
  }
  return out;
}

}  // namespace attestlab::sim

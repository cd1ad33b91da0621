#include "sim/device/apple_format.h"

#include "core/enum_names.h"
#include "core/utf8.h"

namespace attestlab::sim {
namespace {

pki::RawExtension text_extension(const char* oid, const std::string& text) {
  return pki::RawExtension{oid, to_bytes(text), false};
}

pki::RawExtension flag_extension(const char* oid, bool on) {
  return pki::RawExtension{oid, Bytes{on ? kFlagTrue : kFlagFalse}, false};
}

Error malformed(const char* oid, const std::string& why) {
  return Error::make("badAttestationStatement",
                     std::string("attestation extension ") + oid + ": " + why);
}

Result<std::optional<std::string>> read_text(const pki::Certificate& leaf, const char* oid) {
  auto raw = leaf.extension_value(oid);
  if (!raw) return std::optional<std::string>{};
  if (!is_valid_utf8(attestlab::to_string(*raw))) return malformed(oid, "value is not UTF-8 text");
  return std::optional<std::string>{attestlab::to_string(*raw)};
}

Result<std::optional<bool>> read_flag(const pki::Certificate& leaf, const char* oid) {
  auto raw = leaf.extension_value(oid);
  if (!raw) return std::optional<bool>{};
  if (raw->size() != 1 || ((*raw)[0] != kFlagTrue && (*raw)[0] != kFlagFalse)) {
    return malformed(oid, "flag must be one byte 0x00 or 0x01");
  }
  return std::optional<bool>{(*raw)[0] == kFlagTrue};
}

}  // namespace

const std::vector<std::string>& all_apple_oids() {
  static const std::vector<std::string> oids = {
      kOidSerialNumber,  kOidUdid,      kOidOsVersion,       kOidSeposVersion,   kOidLlbVersion,
      kOidFreshnessCode, kOidSipStatus, kOidSecureBootLevel, kOidThirdPartyKexts};
  return oids;
}

namespace {
constexpr EnumName<SecureBootLevel> kSecureBootNames[] = {
    {SecureBootLevel::Full, kSecureBootFull},
    {SecureBootLevel::Reduced, kSecureBootReduced},
    {SecureBootLevel::Permissive, kSecureBootPermissive}};
}  // namespace

const char* to_string(SecureBootLevel level) {
  return name_of(kSecureBootNames, level, kSecureBootFull);
}

std::optional<SecureBootLevel> parse_secure_boot_level(std::string_view name) {
  return value_named(kSecureBootNames, name);
}

Bytes freshness_code(const Bytes& nonce) {
  return sha256(nonce);
}
Bytes freshness_code(std::string_view nonce) {
  return sha256(nonce);
}

std::vector<pki::RawExtension> encode_apple_extensions(const DeviceFacts& facts,
                                                       const std::optional<Bytes>& freshness) {
  std::vector<pki::RawExtension> out;
  if (facts.serial) out.push_back(text_extension(kOidSerialNumber, *facts.serial));
  if (facts.udid) out.push_back(text_extension(kOidUdid, *facts.udid));
  if (facts.os_version) out.push_back(text_extension(kOidOsVersion, *facts.os_version));
  if (facts.sepos_version) out.push_back(text_extension(kOidSeposVersion, *facts.sepos_version));
  if (facts.llb_version) out.push_back(text_extension(kOidLlbVersion, *facts.llb_version));
  if (freshness) out.push_back(pki::RawExtension{kOidFreshnessCode, *freshness, false});
  if (facts.sip_enabled) out.push_back(flag_extension(kOidSipStatus, *facts.sip_enabled));
  if (facts.secure_boot) {
    out.push_back(text_extension(kOidSecureBootLevel, to_string(*facts.secure_boot)));
  }
  if (facts.third_party_kexts_allowed) {
    out.push_back(flag_extension(kOidThirdPartyKexts, *facts.third_party_kexts_allowed));
  }
  return out;
}

Result<AttestedLeafContents> decode_apple_extensions(const pki::Certificate& leaf) {
  AttestedLeafContents out;
  DeviceFacts& f = out.facts;
  struct TextField {
    const char* oid;
    std::optional<std::string>* target;
  };
  const TextField texts[] = {{kOidSerialNumber, &f.serial},
                             {kOidUdid, &f.udid},
                             {kOidOsVersion, &f.os_version},
                             {kOidSeposVersion, &f.sepos_version},
                             {kOidLlbVersion, &f.llb_version}};
  for (const auto& field : texts) {
    auto value = read_text(leaf, field.oid);
    if (!value) return value.error();
    *field.target = std::move(*value);
  }
  out.freshness = leaf.extension_value(kOidFreshnessCode);

  auto sip = read_flag(leaf, kOidSipStatus);
  if (!sip) return sip.error();
  f.sip_enabled = *sip;
  auto kexts = read_flag(leaf, kOidThirdPartyKexts);
  if (!kexts) return kexts.error();
  f.third_party_kexts_allowed = *kexts;

  auto boot = read_text(leaf, kOidSecureBootLevel);
  if (!boot) return boot.error();
  if (boot->has_value()) {
    auto level = parse_secure_boot_level(**boot);
    if (!level) return malformed(kOidSecureBootLevel, "unknown secure boot level '" + **boot + "'");
    f.secure_boot = level;
  }
  return out;
}

}  // namespace attestlab::sim

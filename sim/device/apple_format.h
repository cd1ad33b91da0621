// The Apple attestation leaf as bytes: the OIDs of PROTOCOL.md §3 and the raw-value
// encodings fixed in docs/APPLE_FORMAT.md, plus the facts they carry. This is the
// simulator's half of a wire contract; the server reads the same bytes with its own code
// (sim/ and server/ share no headers). Pure functions and constants; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/pki.h"
#include "core/result.h"

namespace attestlab::sim {

// Extension OIDs of an attestation leaf. Each extension is non-critical and its extnValue
// OCTET STRING holds the raw value bytes directly (no inner DER).
inline constexpr const char* kOidSerialNumber = "1.2.840.113635.100.8.9.1";      // UTF-8
inline constexpr const char* kOidUdid = "1.2.840.113635.100.8.9.2";              // UTF-8
inline constexpr const char* kOidOsVersion = "1.2.840.113635.100.8.10.1";        // UTF-8
inline constexpr const char* kOidSeposVersion = "1.2.840.113635.100.8.10.2";     // UTF-8
inline constexpr const char* kOidLlbVersion = "1.2.840.113635.100.8.10.3";       // UTF-8
inline constexpr const char* kOidFreshnessCode = "1.2.840.113635.100.8.11.1";    // 32 bytes
inline constexpr const char* kOidSipStatus = "1.2.840.113635.100.8.13.1";        // 1 byte flag
inline constexpr const char* kOidSecureBootLevel = "1.2.840.113635.100.8.13.2";  // UTF-8 name
inline constexpr const char* kOidThirdPartyKexts = "1.2.840.113635.100.8.13.3";  // 1 byte flag

// Every OID above, in the order the mock CA writes them.
const std::vector<std::string>& all_apple_oids();

// The 1-byte flags of kOidSipStatus (enabled / disabled) and kOidThirdPartyKexts
// (allowed / not allowed). Any other byte, or any other length, is malformed.
inline constexpr std::uint8_t kFlagTrue = 0x01;
inline constexpr std::uint8_t kFlagFalse = 0x00;

// Secure boot level of an Apple silicon Mac, written as its UTF-8 name.
enum class SecureBootLevel { Full, Reduced, Permissive };
inline constexpr const char* kSecureBootFull = "full";
inline constexpr const char* kSecureBootReduced = "reduced";
inline constexpr const char* kSecureBootPermissive = "permissive";
const char* to_string(SecureBootLevel level);
std::optional<SecureBootLevel> parse_secure_boot_level(std::string_view name);

// Size of the freshness code: a SHA-256 digest.
inline constexpr std::size_t kFreshnessCodeSize = 32;
// The longest DeviceAttestationNonce an MDM may send (Apple Device Management).
inline constexpr std::size_t kMaxDeviceAttestationNonceSize = 32;

// Lifetime of an attestation leaf, and Apple's throttle window for new attestations.
inline constexpr std::int64_t kAttestationValiditySeconds = 7 * 24 * 3600;
inline constexpr std::int64_t kAttestationThrottleSeconds = 7 * 24 * 3600;

// Freshness code for a nonce: SHA-256 of its bytes. For ACME the nonce is the challenge
// token's ASCII text; for MDM it is the DeviceAttestationNonce data.
Bytes freshness_code(const Bytes& nonce);
Bytes freshness_code(std::string_view nonce);

// What Apple's attestation servers confirm about a device: the facts a leaf carries
// (besides the key and the freshness code). An unset member is not written.
struct DeviceFacts {
  std::optional<std::string> serial;  // unset under User Enrollment
  std::optional<std::string> udid;    // unset under User Enrollment
  std::optional<std::string> os_version;
  std::optional<std::string> sepos_version;
  std::optional<std::string> llb_version;
  // Apple silicon Macs only.
  std::optional<bool> sip_enabled;
  std::optional<SecureBootLevel> secure_boot;
  std::optional<bool> third_party_kexts_allowed;

  bool operator==(const DeviceFacts&) const = default;
};

// The leaf extensions for facts and an optional freshness code, in all_apple_oids()
// order, all non-critical. A freshness code of any length is written as given (forgery
// helpers rely on that); honest callers pass freshness_code(...).
std::vector<pki::RawExtension> encode_apple_extensions(const DeviceFacts& facts,
                                                       const std::optional<Bytes>& freshness);

// What a leaf says, read back with the encodings above.
struct AttestedLeafContents {
  DeviceFacts facts;
  std::optional<Bytes> freshness;  // as found; not length-checked
};

// Reads the Apple extensions of a leaf. Absent extensions stay unset. A present
// extension with a malformed value (flag not exactly one 0x00/0x01 byte, unknown secure
// boot name, text that is not valid UTF-8) gives Error("badAttestationStatement") naming
// the OID.
Result<AttestedLeafContents> decode_apple_extensions(const pki::Certificate& leaf);

}  // namespace attestlab::sim

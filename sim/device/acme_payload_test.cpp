// The ACMECertificate payload: parsing (XML, binary, libplist dicts), writing, round trips
// (in-process and through Debian's plistutil CLI), and every device-side refusal.
#include "sim/device/acme_payload.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/bytes.h"
#include "testing/temp_dir.h"

namespace attestlab::sim {
namespace {

namespace fs = std::filesystem;
using Severity = PayloadProblem::Severity;

// As an MDM writes it (modelled on Apple's documentation and public MDA examples).
const char* kAppleStyleXml = R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Attest</key><true/>
  <key>ClientIdentifier</key><string>F2LXQ7K9MN</string>
  <key>DirectoryURL</key><string>https://ca.example.com/acme/directory</string>
  <key>ExtendedKeyUsage</key><array><string>1.3.6.1.5.5.7.3.2</string></array>
  <key>HardwareBound</key><true/>
  <key>KeySize</key><integer>384</integer>
  <key>KeyType</key><string>ECSECPrimeRandom</string>
  <key>KeyIsExtractable</key><false/>
  <key>AllowAllAppsAccess</key><true/>
  <key>PayloadDisplayName</key><string>ACME Certificate</string>
  <key>PayloadIdentifier</key><string>com.example.acme.1</string>
  <key>PayloadType</key><string>com.apple.security.acme</string>
  <key>PayloadUUID</key><string>7B0C4E2A-1D6F-4B8E-9F7A-2C3D4E5F6A7B</string>
  <key>PayloadVersion</key><integer>1</integer>
  <key>Subject</key>
  <array>
    <array><array><string>C</string><string>US</string></array></array>
    <array><array><string>O</string><string>Example Inc.</string></array>
           <array><string>OU</string><string>Devices</string></array></array>
    <array><array><string>CN</string><string>F2LXQ7K9MN</string></array></array>
    <array><array><string>1.2.5.3</string><string>bar</string></array></array>
  </array>
  <key>SubjectAltName</key>
  <dict>
    <key>dNSName</key><string>device.example.com</string>
    <key>rfc822Name</key><string>user@example.com</string>
    <key>uniformResourceIdentifier</key><string>https://example.com/device</string>
    <key>ntPrincipalName</key><string>user@EXAMPLE.COM</string>
  </dict>
  <key>UsageFlags</key><integer>5</integer>
  <key>SomeFutureKey</key><string>ignored</string>
</dict>
</plist>
)";

AcmePayload valid_payload() {
  return AcmePayload::for_attestation("https://ca.example.com/acme/directory", "F2LXQ7K9MN");
}

std::vector<std::string> codes(const std::vector<PayloadProblem>& problems,
                               Severity severity = Severity::Error) {
  std::vector<std::string> out;
  for (const auto& p : problems)
    if (p.severity == severity) out.push_back(p.code);
  return out;
}

bool has_code(const std::vector<PayloadProblem>& problems, const std::string& code) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const PayloadProblem& p) { return p.code == code; });
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using attestlab::testing::TempDir;  // testing/temp_dir.h

// --- parsing -------------------------------------------------------------------------------

TEST(AcmePayload, ParsesEveryKeyOfAnAppleStylePayload) {
  auto parsed = parse_acme_payload_text(kAppleStyleXml);
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  const AcmePayload& p = *parsed;
  EXPECT_EQ(p.payload_type, kAcmePayloadType);
  EXPECT_EQ(p.payload_uuid, "7B0C4E2A-1D6F-4B8E-9F7A-2C3D4E5F6A7B");
  EXPECT_EQ(p.payload_identifier, "com.example.acme.1");
  EXPECT_EQ(p.payload_version, 1);
  EXPECT_EQ(p.payload_display_name, "ACME Certificate");
  EXPECT_EQ(p.directory_url, "https://ca.example.com/acme/directory");
  EXPECT_EQ(p.client_identifier, "F2LXQ7K9MN");
  EXPECT_EQ(p.key_type, kAcmeKeyTypeEc);
  EXPECT_EQ(p.key_size, 384);
  EXPECT_TRUE(p.is_hardware_bound());
  EXPECT_TRUE(p.attests());
  EXPECT_FALSE(p.key_extractable());
  EXPECT_TRUE(p.all_apps_access());
  EXPECT_EQ(p.usage(), kAcmeUsageSign | kAcmeUsageEncrypt);
  ASSERT_TRUE(p.extended_key_usage.has_value());
  EXPECT_EQ(*p.extended_key_usage, std::vector<std::string>{"1.3.6.1.5.5.7.3.2"});

  ASSERT_TRUE(p.subject.has_value());
  ASSERT_EQ(p.subject->size(), 4u);
  EXPECT_EQ((*p.subject)[0], (SubjectRdn{{"C", "US"}}));
  EXPECT_EQ((*p.subject)[1], (SubjectRdn{{"O", "Example Inc."}, {"OU", "Devices"}}));
  EXPECT_EQ((*p.subject)[3], (SubjectRdn{{"1.2.5.3", "bar"}}));

  ASSERT_TRUE(p.subject_alt_name.has_value());
  EXPECT_EQ(p.subject_alt_name->dns_name, std::vector<std::string>{"device.example.com"});
  EXPECT_EQ(p.subject_alt_name->rfc822_name, std::vector<std::string>{"user@example.com"});
  EXPECT_EQ(p.subject_alt_name->uniform_resource_identifier,
            std::vector<std::string>{"https://example.com/device"});
  EXPECT_EQ(p.subject_alt_name->nt_principal_name, std::vector<std::string>{"user@EXAMPLE.COM"});

  // The unknown key is ignored, but remembered by name for linting.
  EXPECT_EQ(p.unknown_keys, std::vector<std::string>{"SomeFutureKey"});
  EXPECT_TRUE(p.parse_problems.empty());

  auto problems = validate_as_device(p);
  EXPECT_FALSE(device_refuses(problems)) << describe(problems.front());
  EXPECT_EQ(codes(problems, Severity::Warning), std::vector<std::string>{"unknown_key"});
}

TEST(AcmePayload, UnknownKeysAreNotWrittenBack) {
  auto parsed = parse_acme_payload_text(kAppleStyleXml);
  ASSERT_TRUE(parsed.ok());
  const std::string xml = acme_payload_to_xml(*parsed);
  EXPECT_EQ(xml.find("SomeFutureKey"), std::string::npos);
  EXPECT_NE(xml.find("ClientIdentifier"), std::string::npos);
}

TEST(AcmePayload, AbsentKeysStayAbsentAndDefaultsApply) {
  auto parsed =
      parse_acme_payload_text(R"(<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>)"
                              R"(<key>ClientIdentifier</key><string>X</string></dict></plist>)");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->attest.has_value());
  EXPECT_FALSE(parsed->attests());
  EXPECT_FALSE(parsed->is_hardware_bound());
  EXPECT_TRUE(parsed->key_extractable());  // Apple's default
  EXPECT_FALSE(parsed->all_apps_access());
  EXPECT_EQ(parsed->usage(), 0);
  // Writing it back writes only what was there.
  const std::string xml = acme_payload_to_xml(*parsed);
  EXPECT_EQ(xml.find("Attest"), std::string::npos);
  EXPECT_EQ(xml.find("KeySize"), std::string::npos);
}

TEST(AcmePayload, SubjectAltNameAcceptsArraysOfNames) {
  auto parsed = parse_acme_payload_text(
      R"(<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>)"
      R"(<key>SubjectAltName</key><dict><key>dNSName</key><array><string>a.example</string>)"
      R"(<string>b.example</string></array></dict></dict></plist>)");
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed->subject_alt_name.has_value());
  EXPECT_EQ(parsed->subject_alt_name->dns_name,
            (std::vector<std::string>{"a.example", "b.example"}));
  // Written back as an array, read back the same.
  auto again = parse_acme_payload_text(acme_payload_to_xml(*parsed));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->subject_alt_name, parsed->subject_alt_name);
}

TEST(AcmePayload, WrongTypesAreReportedOnceAndRefused) {
  auto parsed = parse_acme_payload_text(
      R"(<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>)"
      R"(<key>KeySize</key><string>384</string>)"
      R"(<key>HardwareBound</key><string>yes</string>)"
      R"(<key>Attest</key><integer>1</integer>)"
      R"(<key>ExtendedKeyUsage</key><array><integer>3</integer></array>)"
      R"(<key>Subject</key><array><array><string>CN</string></array></array>)"
      R"(<key>SubjectAltName</key><dict><key>dNSName</key><integer>1</integer></dict>)"
      R"(</dict></plist>)");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->key_size.has_value());
  EXPECT_FALSE(parsed->hardware_bound.has_value());
  EXPECT_FALSE(parsed->attest.has_value());
  EXPECT_FALSE(parsed->subject.has_value());
  auto problems = validate_as_device(*parsed);
  EXPECT_TRUE(device_refuses(problems));
  int wrong_types = 0;
  for (const auto& p : problems) wrong_types += p.code == "wrong_type";
  EXPECT_EQ(wrong_types, 4);  // KeySize, HardwareBound, Attest, ExtendedKeyUsage
  EXPECT_TRUE(has_code(problems, "invalid_subject"));
  EXPECT_TRUE(has_code(problems, "invalid_subject_alt_name"));
  // A mistyped key is not also reported as missing.
  EXPECT_FALSE(has_code(problems, "missing_key_size"));
  EXPECT_FALSE(has_code(problems, "missing_hardware_bound"));
  EXPECT_FALSE(has_code(problems, "missing_subject"));
}

TEST(AcmePayload, RefusesTextThatIsNotAPlistDict) {
  EXPECT_EQ(parse_acme_payload_text("").error().type, "malformed");
  EXPECT_EQ(parse_acme_payload_text("not a plist").error().type, "malformed");
  EXPECT_EQ(parse_acme_payload_text(R"(<?xml version="1.0"?><plist version="1.0"><array/></plist>)")
                .error()
                .type,
            "malformed");
  EXPECT_EQ(parse_acme_payload(nullptr).error().type, "malformed");
  // Random bytes and truncations of a good plist never crash.
  const std::string good = kAppleStyleXml;
  for (std::size_t cut = 0; cut < good.size(); cut += 37) {
    auto r = parse_acme_payload_text(std::string_view(good).substr(0, cut));
    (void)r;
  }
  for (int i = 0; i < 50; ++i) {
    Bytes noise = random_bytes(64 + i);
    if (i % 2 == 0) std::copy_n("bplist00", 8, noise.begin());
    auto r = parse_acme_payload_text(attestlab::to_string(noise));
    (void)r;
  }
}

// --- writing and round trips -------------------------------------------------------------------

TEST(AcmePayload, RoundTripsThroughXmlAndDict) {
  auto parsed = parse_acme_payload_text(kAppleStyleXml);
  ASSERT_TRUE(parsed.ok());
  AcmePayload p = *parsed;
  p.unknown_keys.clear();  // not written, so not read back

  auto again = parse_acme_payload_text(acme_payload_to_xml(p));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, p);

  PlistPtr dict = acme_payload_to_plist(p);
  auto from_dict = parse_acme_payload(dict.get());
  ASSERT_TRUE(from_dict.ok());
  EXPECT_EQ(*from_dict, p);

  AcmePayload mda = valid_payload();
  auto mda_again = parse_acme_payload_text(acme_payload_to_xml(mda));
  ASSERT_TRUE(mda_again.ok());
  EXPECT_EQ(*mda_again, mda);
}

TEST(AcmePayload, RoundTripsThroughPlistutilXmlToBinaryToXml) {
  ASSERT_EQ(std::system("command -v plistutil >/dev/null 2>&1"), 0)
      << "plistutil (Debian libplist-utils) is needed";
  auto parsed = parse_acme_payload_text(kAppleStyleXml);
  ASSERT_TRUE(parsed.ok());
  AcmePayload p = *parsed;
  p.unknown_keys.clear();

  TempDir dir;
  const fs::path xml_in = dir.file("in.xml");
  const fs::path bin = dir.file("payload.plist");
  const fs::path xml_out = dir.file("out.xml");
  {
    std::ofstream out(xml_in, std::ios::binary);
    out << acme_payload_to_xml(p);
  }
  const std::string to_bin =
      "plistutil -i '" + xml_in.string() + "' -o '" + bin.string() + "' -f bin";
  const std::string to_xml =
      "plistutil -i '" + bin.string() + "' -o '" + xml_out.string() + "' -f xml";
  ASSERT_EQ(std::system(to_bin.c_str()), 0);
  ASSERT_EQ(std::system(to_xml.c_str()), 0);

  const std::string binary = read_all(bin);
  ASSERT_GE(binary.size(), 8u);
  EXPECT_EQ(binary.substr(0, 8), "bplist00");
  auto from_binary = parse_acme_payload_text(binary);
  ASSERT_TRUE(from_binary.ok()) << from_binary.error().detail;
  EXPECT_EQ(*from_binary, p);

  auto from_xml = parse_acme_payload_text(read_all(xml_out));
  ASSERT_TRUE(from_xml.ok()) << from_xml.error().detail;
  EXPECT_EQ(*from_xml, p);
}

TEST(AcmePayload, FindsAcmePayloadsInAConfigurationProfile) {
  AcmePayload a = valid_payload();
  AcmePayload b = valid_payload();
  b.client_identifier = "00008110-001A2D3E0C12801E";
  const std::string profile = configuration_profile_xml({a, b}, "com.example.profile");
  EXPECT_NE(profile.find("Configuration"), std::string::npos);
  auto found = acme_payloads_in_profile_text(profile);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0], a);
  EXPECT_EQ((*found)[1], b);
  // A bare ACME payload counts as one.
  auto bare = acme_payloads_in_profile_text(acme_payload_to_xml(a));
  ASSERT_TRUE(bare.ok());
  ASSERT_EQ(bare->size(), 1u);
  EXPECT_EQ(bare->front(), a);
}

TEST(AcmePayload, NewUuidsAreVersion4AndUnique) {
  const std::string a = new_payload_uuid();
  const std::string b = new_payload_uuid();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89AB").find(a[19]), std::string::npos);
  EXPECT_EQ(a, [&] {
    std::string upper = a;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    return upper;
  }());
}

// --- device-side validation --------------------------------------------------------------------

TEST(AcmePayloadValidation, TheMdaPayloadIsClean) {
  EXPECT_TRUE(validate_as_device(valid_payload()).empty());
  AcmePayload p256 = valid_payload();
  p256.key_size = 256;
  EXPECT_TRUE(validate_as_device(p256).empty());
}

TEST(AcmePayloadValidation, AnEmptyDictMissesEveryRequiredKey) {
  auto empty = parse_acme_payload_text(
      R"(<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict/></plist>)");
  ASSERT_TRUE(empty.ok());
  auto problems = validate_as_device(*empty);
  EXPECT_EQ(
      codes(problems),
      (std::vector<std::string>{
          "missing_payload_type", "missing_payload_uuid", "missing_payload_identifier",
          "missing_payload_version", "missing_directory_url", "missing_client_identifier",
          "missing_key_type", "missing_hardware_bound", "missing_key_size", "missing_subject"}));
}

struct RefusalCase {
  const char* name;
  void (*edit)(AcmePayload&);
  const char* code;
};

TEST(AcmePayloadValidation, RefusesWhatARealDeviceRefuses) {
  const RefusalCase cases[] = {
      {"RSA hardware-bound",
       [](AcmePayload& p) {
         p.key_type = "RSA";
         p.key_size = 2048;
         p.attest = false;
       },
       "hardware_bound_requires_ec"},
      {"RSA attested",
       [](AcmePayload& p) {
         p.key_type = "RSA";
         p.key_size = 2048;
         p.hardware_bound = false;
       },
       "attest_with_rsa"},
      {"hardware-bound P-521", [](AcmePayload& p) { p.key_size = 521; }, "hardware_bound_key_size"},
      {"hardware-bound 192", [](AcmePayload& p) { p.key_size = 192; }, "hardware_bound_key_size"},
      {"Attest without HardwareBound", [](AcmePayload& p) { p.hardware_bound = false; },
       "attest_requires_hardware_bound"},
      {"http directory",
       [](AcmePayload& p) { p.directory_url = "http://ca.example.com/acme/directory"; },
       "directory_url_not_https"},
      {"not a URL", [](AcmePayload& p) { p.directory_url = "ca.example.com"; },
       "invalid_directory_url"},
      {"no ClientIdentifier", [](AcmePayload& p) { p.client_identifier.reset(); },
       "missing_client_identifier"},
      {"empty ClientIdentifier", [](AcmePayload& p) { p.client_identifier = ""; },
       "empty_client_identifier"},
      {"DSA", [](AcmePayload& p) { p.key_type = "DSA"; }, "unsupported_key_type"},
      {"software EC 200",
       [](AcmePayload& p) {
         p.hardware_bound = false;
         p.attest = false;
         p.key_size = 200;
       },
       "unsupported_key_size"},
      {"RSA 8192",
       [](AcmePayload& p) {
         p.key_type = "RSA";
         p.hardware_bound = false;
         p.attest = false;
         p.key_size = 8192;
       },
       "unsupported_key_size"},
      {"no KeySize", [](AcmePayload& p) { p.key_size.reset(); }, "missing_key_size"},
      {"no HardwareBound", [](AcmePayload& p) { p.hardware_bound.reset(); },
       "missing_hardware_bound"},
      {"no Subject", [](AcmePayload& p) { p.subject.reset(); }, "missing_subject"},
      {"Subject emailAddress",
       [](AcmePayload& p) {
         p.subject = std::vector<SubjectRdn>{{{"emailAddress", "a@b"}}};
       },
       "unknown_subject_attribute"},
      {"Subject empty value",
       [](AcmePayload& p) {
         p.subject = std::vector<SubjectRdn>{{{"CN", ""}}};
       },
       "empty_subject_value"},
      {"EKU name",
       [](AcmePayload& p) { p.extended_key_usage = std::vector<std::string>{"clientAuth"}; },
       "invalid_eku_oid"},
      {"negative UsageFlags", [](AcmePayload& p) { p.usage_flags = -1; }, "invalid_usage_flags"},
      {"SCEP payload type", [](AcmePayload& p) { p.payload_type = "com.apple.security.scep"; },
       "wrong_payload_type"},
      {"no PayloadUUID", [](AcmePayload& p) { p.payload_uuid.reset(); }, "missing_payload_uuid"},
  };
  for (const auto& c : cases) {
    AcmePayload p = valid_payload();
    c.edit(p);
    auto problems = validate_as_device(p);
    EXPECT_TRUE(device_refuses(problems)) << c.name;
    EXPECT_TRUE(has_code(problems, c.code)) << c.name << ": expected " << c.code;
    for (const auto& problem : problems) {
      EXPECT_FALSE(problem.message.empty()) << c.name;
      EXPECT_NE(describe(problem).find(problem.code), std::string::npos);
    }
  }
}

TEST(AcmePayloadValidation, SoftwareKeysAreAcceptedWithoutAttest) {
  AcmePayload rsa = valid_payload();
  rsa.key_type = "RSA";
  rsa.key_size = 2048;
  rsa.hardware_bound = false;
  rsa.attest = false;
  EXPECT_TRUE(validate_as_device(rsa).empty());

  AcmePayload ec521 = valid_payload();
  ec521.hardware_bound = false;
  ec521.attest = false;
  ec521.key_size = 521;
  EXPECT_TRUE(validate_as_device(ec521).empty());
}

TEST(AcmePayloadValidation, WarningsDoNotRefuse) {
  AcmePayload p = valid_payload();
  p.usage_flags = 1 | 2 | 4;
  p.key_is_extractable = true;
  p.payload_version = 2;
  p.client_identifier = "$SERIALNUMBER";
  auto problems = validate_as_device(p);
  EXPECT_FALSE(device_refuses(problems));
  EXPECT_EQ(codes(problems, Severity::Warning),
            (std::vector<std::string>{"payload_version_not_1",
                                      "client_identifier_not_permanent_identifier",
                                      "extractable_hardware_bound_key", "unknown_usage_flags"}));

  AcmePayload small = valid_payload();
  small.key_type = "RSA";
  small.key_size = 1024;
  small.hardware_bound = false;
  small.attest = false;
  auto small_problems = validate_as_device(small);
  EXPECT_FALSE(device_refuses(small_problems));
  EXPECT_TRUE(has_code(small_problems, "rsa_key_size_small"));

  AcmePayload assigner = valid_payload();
  assigner.client_identifier = "F2LXQ7K9MN/1.2.840.113635";
  EXPECT_TRUE(validate_as_device(assigner).empty());
  assigner.client_identifier = "F2LXQ7K9MN/apple";
  EXPECT_TRUE(has_code(validate_as_device(assigner), "client_identifier_not_permanent_identifier"));
}

}  // namespace
}  // namespace attestlab::sim

// The plist<->JSON layer and every MDM message: typed round trips through our XML and
// binary writers and through Debian's plistutil, and the parse errors a server relies on.
#include "sim/mdm/mdm_messages.h"

#include <gtest/gtest.h>

#include "sim/mdm/mdm_plist.h"
#include "testing/mdm_support.h"

namespace attestlab::sim::mdm {
namespace {

using testing::plistutil_round_trip;

// `value`, written as `plist` through our XML and binary writers and through plistutil, parses
// back equal with `parse`; `label` names it in failures. Callers wrap it in
// ASSERT_NO_FATAL_FAILURE so a failed ASSERT ends the test.
template <class T, class Parse>
void expect_round_trips_every_way(const T& value, const Json& plist, Parse parse,
                                  const std::string& label) {
  for (const auto& text : {json_to_plist_xml(plist), json_to_plist_binary(plist)}) {
    auto json = plist_to_json(text);
    ASSERT_TRUE(json.ok()) << label;
    auto parsed = parse(*json);
    ASSERT_TRUE(parsed.ok()) << label << ": " << parsed.error().detail;
    EXPECT_EQ(*parsed, value) << label;
  }
  auto through = plistutil_round_trip(plist);
  ASSERT_TRUE(through.ok()) << label;
  auto parsed = parse(*through);
  ASSERT_TRUE(parsed.ok()) << label;
  EXPECT_EQ(*parsed, value) << label;
}

Json every_plist_type() {
  return Json{{"string", "h\u00e9llo <&>"},
              {"empty", ""},
              {"integer", 42},
              {"negative", -7},
              {"big", static_cast<std::int64_t>(1) << 40},
              {"real", 1.5},
              {"yes", true},
              {"no", false},
              {"data", plist_data(Bytes{0, 1, 2, 0xff})},
              {"array", Json::array({1, "two", Json::array({3})})},
              {"dict", Json{{"inner", Json::object()}}}};
}

TEST(MdmPlist, EveryTypeRoundTripsThroughXmlAndBinary) {
  const Json value = every_plist_type();
  auto from_xml = plist_to_json(json_to_plist_xml(value));
  ASSERT_TRUE(from_xml.ok()) << from_xml.error().detail;
  EXPECT_EQ(*from_xml, value);
  const std::string bin = json_to_plist_binary(value);
  ASSERT_EQ(bin.rfind("bplist00", 0), 0u);
  auto from_bin = plist_to_json(bin);
  ASSERT_TRUE(from_bin.ok());
  EXPECT_EQ(*from_bin, value);
}

TEST(MdmPlist, EveryTypeRoundTripsThroughPlistutil) {
  ASSERT_TRUE(testing::have_plistutil()) << "plistutil (Debian libplist-utils) is needed";
  auto back = plistutil_round_trip(every_plist_type());
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, every_plist_type());
}

TEST(MdmPlist, DataIsBase64InXml) {
  const std::string xml = json_to_plist_xml(Json{{"d", plist_data(std::string_view("abc"))}});
  EXPECT_NE(xml.find("<data>"), std::string::npos);
  EXPECT_NE(xml.find("YWJj"), std::string::npos);
}

TEST(MdmPlist, NullsAreLeftOut) {
  auto back =
      plist_to_json(json_to_plist_xml(Json{{"a", nullptr}, {"b", Json::array({1, nullptr, 2})}}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (Json{{"b", Json::array({1, 2})}}));
}

TEST(MdmPlist, ReadsDatesAsRfc3339) {
  auto back = plist_to_json(R"(<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>When</key><date>2024-01-02T03:04:05Z</date></dict></plist>)");
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ((*back)["When"], "2024-01-02T03:04:05Z");
}

TEST(MdmPlist, RejectsGarbageAndDeepNesting) {
  EXPECT_FALSE(plist_to_json("").ok());
  EXPECT_FALSE(plist_to_json("not a plist at all").ok());
  EXPECT_FALSE(plist_to_json("bplist00\x01\x02").ok());
  std::string deep = "<plist version=\"1.0\">";
  for (int i = 0; i < kMaxPlistDepth + 5; ++i) deep += "<array>";
  for (int i = 0; i < kMaxPlistDepth + 5; ++i) deep += "</array>";
  deep += "</plist>";
  auto parsed = plist_to_json(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().type, "malformed");
}

TEST(MdmPlist, TypedAccessorsRefuseOtherTypes) {
  const Json d = every_plist_type();
  ASSERT_NE(plist_string(d, "string"), nullptr);
  EXPECT_EQ(plist_string(d, "integer"), nullptr);
  ASSERT_NE(plist_bytes(d, "data"), nullptr);
  EXPECT_EQ(*plist_bytes(d, "data"), (Bytes{0, 1, 2, 0xff}));
  EXPECT_EQ(plist_bytes(d, "string"), nullptr);
  EXPECT_EQ(plist_integer(d, "negative"), -7);
  EXPECT_FALSE(plist_integer(d, "real").has_value());
  EXPECT_EQ(plist_bool(d, "yes"), true);
  EXPECT_NE(plist_array(d, "array"), nullptr);
  EXPECT_NE(plist_dict(d, "dict"), nullptr);
  EXPECT_EQ(plist_dict(d, "array"), nullptr);
  EXPECT_STREQ(plist_type_name(d["data"]), "data");
}

// --- messages -------------------------------------------------------------------------------

constexpr const char* kTopic = "com.apple.mgmt.External.abc";
constexpr const char* kUdid = "00008110-001A2D3E0C12801E";

CheckinMessage authenticate() {
  return {.message_type = kAuthenticate, .topic = kTopic, .udid = kUdid,
          .serial_number = "F2LXQ7K9MN", .os_version = "17.5", .build_version = "21F79",
          .product_name = "iPhone15,2", .model = "iPhone15,2", .device_name = "Test iPhone"};
}

CheckinMessage token_update() {
  return {.message_type = kTokenUpdate, .topic = kTopic, .udid = kUdid,
          .token = Bytes(32, 0xab), .push_magic = "5A1B2C3D-0000-4000-8000-000000000001",
          .unlock_token = Bytes{1, 2, 3}, .awaiting_configuration = false};
}

std::vector<CheckinMessage> every_checkin() {
  const CheckinMessage checkout{.message_type = kCheckOut, .topic = kTopic, .udid = kUdid};
  CheckinMessage user = authenticate();
  user.udid.clear();
  user.serial_number.clear();
  user.enrollment_id = "E1A2B3C4-ENROLL";
  CheckinMessage with_extra = authenticate();
  with_extra.extra = Json{{"IMEI", "35 000000 000000 0"}, {"DeviceFuture", Json::array({1})}};
  return {authenticate(), token_update(), checkout, user, with_extra};
}

TEST(MdmMessages, CheckinRoundTripsEveryWay) {
  ASSERT_TRUE(testing::have_plistutil());
  for (const auto& m : every_checkin()) {
    ASSERT_NO_FATAL_FAILURE(expect_round_trips_every_way(
        m, checkin_to_plist(m), [](const Json& j) { return parse_checkin(j); }, m.message_type));
  }
}

TEST(MdmMessages, CheckinUsesAppleKeyNames) {
  const Json p = checkin_to_plist(token_update());
  EXPECT_EQ(p["MessageType"], "TokenUpdate");
  EXPECT_TRUE(p["Token"].is_binary());
  EXPECT_TRUE(p["UnlockToken"].is_binary());
  EXPECT_EQ(p["PushMagic"], "5A1B2C3D-0000-4000-8000-000000000001");
  EXPECT_EQ(p["UDID"], "00008110-001A2D3E0C12801E");
  EXPECT_EQ(p["AwaitingConfiguration"], false);
  const Json a = checkin_to_plist(authenticate());
  EXPECT_EQ(a["SerialNumber"], "F2LXQ7K9MN");
  EXPECT_EQ(a["OSVersion"], "17.5");
  EXPECT_FALSE(a.contains("Token"));
}

TEST(MdmMessages, CheckinParseErrors) {
  Json no_type = checkin_to_plist(authenticate());
  no_type.erase("MessageType");
  EXPECT_FALSE(parse_checkin(no_type).ok());
  Json no_id = checkin_to_plist(authenticate());
  no_id.erase("UDID");
  EXPECT_FALSE(parse_checkin(no_id).ok());
  Json token_string = checkin_to_plist(token_update());
  token_string["Token"] = "not data";
  auto bad = parse_checkin(token_string);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("Token must be data"), std::string::npos);
  Json no_magic = checkin_to_plist(token_update());
  no_magic.erase("PushMagic");
  EXPECT_FALSE(parse_checkin(no_magic).ok());
  EXPECT_FALSE(parse_checkin(Json::array()).ok());
  Json udid_number = checkin_to_plist(authenticate());
  udid_number["UDID"] = 5;
  EXPECT_FALSE(parse_checkin(udid_number).ok());
}

std::vector<CommandReport> every_report() {
  CommandReport idle{"UDID-1", "", kStatusIdle, "", {}, Json::object()};
  CommandReport ack{"UDID-1", "", kStatusAcknowledged, "CMD-1", {}, Json::object()};
  ack.results["QueryResponses"] =
      Json{{"DevicePropertiesAttestation",
            Json::array({plist_data(Bytes{0x30, 0x82, 1}), plist_data(Bytes{0x30, 2})})},
           {"OSVersion", "17.5"},
           {"SerialNumber", "F2LXQ7K9MN"}};
  CommandReport error{"UDID-1", "", kStatusError, "CMD-2", {}, Json::object()};
  error.error_chain = {{4001, "MCInstallationErrorDomain", "Profile Installation Failed",
                        "Profile Installation Failed"},
                       {7, "ACMECertificateErrorDomain", "challenge: badAttestationStatement", ""}};
  CommandReport not_now{"UDID-1", "", kStatusNotNow, "CMD-3", {}, Json::object()};
  CommandReport format{"", "ENROLL-1", kStatusCommandFormatError, "CMD-4", {}, Json::object()};
  format.error_chain = {
      {12021, "MCMDMErrorDomain", "unknown RequestType Foo", "unknown RequestType Foo"}};
  CommandReport lists{"UDID-1", "", kStatusAcknowledged, "CMD-5", {}, Json::object()};
  lists.results["ProfileList"] =
      Json::array({Json{{"PayloadIdentifier", "a"}, {"IsManaged", true}}});
  lists.results["CertificateList"] = Json::array({Json{
      {"CommonName", "F2LXQ7K9MN"}, {"Data", plist_data(Bytes{0x30, 3})}, {"IsIdentity", true}}});
  return {idle, ack, error, not_now, format, lists};
}

TEST(MdmMessages, ReportRoundTripsEveryWay) {
  ASSERT_TRUE(testing::have_plistutil());
  for (const auto& r : every_report()) {
    ASSERT_NO_FATAL_FAILURE(expect_round_trips_every_way(
        r, report_to_plist(r), [](const Json& j) { return parse_report(j); }, r.status));
  }
}

TEST(MdmMessages, ReportParseErrors) {
  EXPECT_FALSE(parse_report(Json{{"UDID", "x"}}).ok());       // no Status
  EXPECT_FALSE(parse_report(Json{{"Status", "Idle"}}).ok());  // no id
  EXPECT_FALSE(
      parse_report(Json{{"UDID", "x"}, {"Status", "Acknowledged"}}).ok());  // no CommandUUID
  EXPECT_FALSE(
      parse_report(
          Json{{"UDID", "x"}, {"Status", "Error"}, {"CommandUUID", "c"}, {"ErrorChain", "no"}})
          .ok());
  EXPECT_FALSE(parse_report(Json{{"UDID", "x"}, {"Status", 3}}).ok());
  auto unknown_status =
      parse_report(Json{{"UDID", "x"}, {"Status", "Bogus"}, {"CommandUUID", "c"}});
  ASSERT_TRUE(unknown_status.ok());
  EXPECT_FALSE(is_known_status(unknown_status->status));
}

TEST(MdmMessages, CommandsRoundTripEveryWay) {
  ASSERT_TRUE(testing::have_plistutil());
  const std::vector<MdmCommand> commands = {
      make_install_profile("<plist>pretend mobileconfig</plist>"),
      make_remove_profile("com.example.profile"),
      make_profile_list(),
      make_certificate_list(),
      make_certificate_list(true),
      make_device_information({kQueryDevicePropertiesAttestation, kQueryOsVersion}, Bytes(32, 7)),
      make_device_information({kQueryUdid}),
  };
  for (const auto& c : commands) {
    EXPECT_EQ(c.command_uuid.size(), 36u);
    const Json plist = command_to_plist(c);
    EXPECT_EQ(plist["Command"]["RequestType"], c.request_type);
    ASSERT_NO_FATAL_FAILURE(expect_round_trips_every_way(
        c, plist, [](const Json& j) { return parse_command(j); }, c.request_type));
  }
}

TEST(MdmMessages, CommandShapes) {
  const MdmCommand info =
      make_device_information({kQueryDevicePropertiesAttestation}, Bytes(32, 1));
  ASSERT_NE(plist_bytes(info.fields, "DeviceAttestationNonce"), nullptr);
  EXPECT_EQ(plist_bytes(info.fields, "DeviceAttestationNonce")->size(), 32u);
  EXPECT_EQ(info.fields["Queries"], Json::array({"DevicePropertiesAttestation"}));
  const MdmCommand install = make_install_profile("abc");
  ASSERT_NE(plist_bytes(install.fields, "Payload"), nullptr);
  EXPECT_EQ(*plist_bytes(install.fields, "Payload"), to_bytes("abc"));
  EXPECT_EQ(make_remove_profile("id").fields["Identifier"], "id");
  EXPECT_NE(make_profile_list().command_uuid, make_profile_list().command_uuid);
}

TEST(MdmMessages, CommandParseErrors) {
  EXPECT_FALSE(parse_command(Json{{"Command", Json{{"RequestType", "ProfileList"}}}}).ok());
  EXPECT_FALSE(parse_command(Json{{"CommandUUID", "u"}}).ok());
  EXPECT_FALSE(parse_command(Json{{"CommandUUID", "u"}, {"Command", "ProfileList"}}).ok());
  EXPECT_FALSE(parse_command(Json{{"CommandUUID", "u"}, {"Command", Json::object()}}).ok());
}

TEST(MdmMessages, ErrorChainDescription) {
  const std::vector<MdmError> chain = {
      {4001, "MCInstallationErrorDomain", "Profile Installation Failed", ""},
      {3, "DeviceAttestationErrorDomain", "nonce too long", ""}};
  EXPECT_EQ(describe_error_chain(chain),
            "MCInstallationErrorDomain 4001: Profile Installation Failed; "
            "DeviceAttestationErrorDomain 3: nonce too long");
  EXPECT_EQ(parse_error_chain(error_chain_to_plist(chain)), chain);
  EXPECT_TRUE(parse_error_chain(Json::array({"x", 1})).empty());
}

}  // namespace
}  // namespace attestlab::sim::mdm

#include "reports/run_result.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/pki.h"
#include "core/utf8.h"

namespace attestlab::reports {
namespace {

RunResult sample() {
  const CaseResult pass{.id = "rfc8555-6.5-nonce-reuse", .title = "nonce reuse",
                        .requirement = "A nonce is accepted once.", .spec = "RFC 8555",
                        .section = "6.5", .level = "MUST", .profile = "rfc8555"};
  CaseResult fail = pass;
  fail.id = "apple-freshness-required";
  fail.outcome = Outcome::Fail;
  fail.expected = "badAttestationStatement";
  fail.observed = "valid <script>alert(1)</script>";
  fail.wire_log = Json::array({Json{{"request", "POST /x"}, {"body", "</pre><script>"}}});
  CaseResult skip = pass;
  skip.id = "rfc8555-7.3.4-eab";
  skip.outcome = Outcome::Skip;
  skip.reason = "target does not require EAB";
  return {.kind = "conformance", .command = "attestlab conform --target X",
          .targets = {{.name = "embedded", .directory_url = "https://127.0.0.1:1/acme/directory",
                       .cases = {pass, fail, skip}}}};
}

TEST(Reports, JsonRoundTripKeepsEveryField) {
  RunResult run = sample();
  Json j = run.to_json();
  EXPECT_EQ(j["schema"], kResultSchema);
  EXPECT_EQ(j["targets"][0]["summary"]["fail"], 1);
  auto back = RunResult::from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->to_json(), j);
  EXPECT_TRUE(back->failed());
}

TEST(Reports, LoadRunsKeepTheirLoadMemberAndFailOnAThreshold) {
  RunResult run;
  run.kind = "load";
  TargetRun t;
  t.name = "embedded";
  t.load = Json{{"flow", "plain"},
                {"thresholds", Json::array({Json{{"expression", "p99<300ms"}, {"passed", true}}})}};
  run.targets.push_back(t);
  Json j = run.to_json();
  EXPECT_EQ(j["targets"][0]["load"]["flow"], "plain");
  auto back = RunResult::from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->to_json(), j);
  EXPECT_FALSE(back->failed());
  run.targets[0].load["thresholds"].push_back(Json{{"expression", "rate>50/s"}, {"passed", false}});
  EXPECT_TRUE(run.failed());
  // Other kinds carry no "load" member; a malformed one is refused.
  EXPECT_FALSE(sample().to_json()["targets"][0].contains("load"));
  j["targets"][0]["load"] = "fast";
  EXPECT_FALSE(RunResult::from_json(j).ok());
}

TEST(Reports, WrongSchemaIsRefused) {
  Json j = sample().to_json();
  j["schema"] = "attestlab.result/0";
  auto r = RunResult::from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("attestlab.result/0"), std::string::npos);
}

TEST(Reports, JunitCountsAndEscapes) {
  std::string x = render_junit(sample());
  EXPECT_NE(x.find("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""), std::string::npos);
  EXPECT_EQ(x.find("<script>"), std::string::npos);
  EXPECT_NE(x.find("&lt;script&gt;"), std::string::npos);
}

TEST(Reports, HtmlIsSelfContainedAndEscaped) {
  std::string h = render_html(sample());
  EXPECT_EQ(h.find("<script"), std::string::npos) << "user data must never become markup";
  EXPECT_EQ(h.find("http://"), std::string::npos) << "no external resources";
  EXPECT_NE(h.find("href=\"#t0-apple-freshness-required\""), std::string::npos);
  EXPECT_NE(h.find("id=\"t0-apple-freshness-required\""), std::string::npos);
}

TEST(Reports, MarkdownListsFailuresOnly) {
  std::string m = render_markdown(sample());
  EXPECT_NE(m.find("apple-freshness-required"), std::string::npos);
  EXPECT_EQ(m.find("**rfc8555-6.5-nonce-reuse**"), std::string::npos);
}

TEST(Reports, WriteReportsWritesFourFiles) {
  auto dir =
      std::filesystem::temp_directory_path() / ("attestlab-reports-" + std::to_string(::getpid()));
  ASSERT_TRUE(write_reports(sample(), dir.string()).ok());
  for (const char* f : {"result.json", "junit.xml", "summary.md", "report.html"})
    EXPECT_GT(std::filesystem::file_size(dir / f), 100u) << f;
  auto text = pki::read_file((dir / "result.json").string());
  ASSERT_TRUE(text.ok());
  auto parsed = parse_json(*text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(RunResult::from_json(*parsed).ok());
  std::filesystem::remove_all(dir);
}

// A foreign server's bytes reach a case's reason and observed text; neither a stray
// byte nor a multi-byte character cut at a byte count may cost the run its reports.
TEST(Reports, BytesThatAreNotUtf8StillGiveValidReports) {
  RunResult run = sample();
  CaseResult& fail = run.targets[0].cases[1];
  fail.reason = "HTTP 500 without a problem document: \xff\xfe<";
  std::string accented;
  for (int i = 0; i < 150; ++i) accented += "\xC3\xA9";
  fail.observed = accented.substr(0, 199) + "...";  // cut inside a character
  fail.expected = "ok \xC0\xAF";
  auto dir = std::filesystem::temp_directory_path() /
             ("attestlab-reports-utf8-" + std::to_string(::getpid()));
  auto written = write_reports(run, dir.string());
  ASSERT_TRUE(written.ok()) << written.error().detail;
  for (const char* f : {"result.json", "junit.xml", "summary.md", "report.html"}) {
    auto text = pki::read_file((dir / f).string());
    ASSERT_TRUE(text.ok()) << f;
    EXPECT_EQ(utf8_or_replaced(*text), *text) << f << " is not valid UTF-8";
    EXPECT_NE(text->find("\xEF\xBF\xBD"), std::string::npos) << f;
  }
  auto parsed = parse_json(*pki::read_file((dir / "result.json").string()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(RunResult::from_json(*parsed).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attestlab::reports

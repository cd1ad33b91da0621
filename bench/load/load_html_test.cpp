#include "bench/load/load_html.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include "bench/load/svg_chart.h"

namespace attestlab::load {
namespace {

int count_of(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

// A run of 3 timeline slots: 10, 0 and 12 completions (the middle second had none), one
// error, two steps, a threshold that passed and one that failed.
LoadRun sample_run() {
  LoadRun r;
  r.target_name = "vendor <x> & co";
  r.urls = {"https://127.0.0.1:14000/dir"};
  r.flow = "plain";
  r.challenge = "http-01";
  r.plan.rate = 11;
  r.plan.duration_s = 3;
  r.workers = 4;
  r.shards = {0};
  r.started_at = "2026-12-04T19:00:00Z";
  r.elapsed_s = 3;
  r.scheduled = 23;
  for (int i = 0; i < 10; ++i) {
    r.stats.latency.record(20000 + 1000 * i);
    r.stats.record_in_timeline(0.5, true, 20000 + 1000 * i);
  }
  for (int i = 0; i < 12; ++i) {
    r.stats.latency.record(40000 + 5000 * i);
    r.stats.record_in_timeline(2.5, true, 40000 + 5000 * i);
  }
  r.stats.record_in_timeline(2.6, false, 0);
  r.stats.completed = 22;
  r.stats.failed = 1;
  r.stats.steps[static_cast<std::size_t>(Step::Order)].record(3000);
  r.stats.steps[static_cast<std::size_t>(Step::Validation)].record(12000);
  r.stats.count_error({"finalize", "badCSR", 400}, "the CSR <script>alert(1)</script>");
  r.thresholds = {{"p99<300ms", "95.0ms", true}, {"errors<0.1%", "4.35%", false}};
  r.server_cpu_ms = 44.0;
  r.generator_cpu_ms = 22.0;
  r.floor = CryptoFloor{{100, 120, 40, 500, 520, 10}, *crypto_counts_for("plain", false)};
  return r;
}

TEST(LoadHtml, HasTheFourPlotsWithDrawnSeries) {
  const std::string html = render_load_html({sample_run()}, "attestlab load --rate 11/s");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* plot :
       {"plot throughput", "plot latency-over-time", "plot latency-distribution", "plot steps"})
    EXPECT_EQ(count_of(html, std::string("<svg class=\"") + plot + "\""), 1) << plot;
  // Throughput: completed/s and failed/s (there was a failure), each a non-empty path.
  std::smatch m;
  const std::regex path("<path class=\"series\" data-series=\"completed/s\" d=\"M([0-9. LM]+)\"");
  ASSERT_TRUE(std::regex_search(html, m, path));
  EXPECT_EQ(count_of(m[1].str(), " L"), 2);  // 3 slots: one move, two lines
  EXPECT_NE(html.find("data-series=\"failed/s\""), std::string::npos);
  // p50/p99 over time break at the empty second: two moves in each path.
  const std::regex p99("data-series=\"p99\" d=\"(M[^\"]*)\"");
  ASSERT_TRUE(std::regex_search(html, m, p99));
  EXPECT_EQ(count_of(m[1].str(), "M"), 2) << m[1].str();
  // The distribution holds every completed enrollment; the steps chart a group a step.
  EXPECT_GE(count_of(html, "<rect class=\"column\""), 2);
  EXPECT_EQ(count_of(html, "<rect class=\"bar\""), 4);  // 2 steps x p50/p99
  EXPECT_NE(html.find(">validation wait</text>"), std::string::npos);
  EXPECT_NE(html.find(">order</text>"), std::string::npos);
}

TEST(LoadHtml, ShowsTheFiguresThresholdsErrorsAndCpu) {
  const LoadRun r = sample_run();
  const std::string html = render_load_html({r}, "");
  EXPECT_NE(html.find("data-completed=\"22\" data-failed=\"1\""), std::string::npos);
  EXPECT_NE(html.find("22 completed, 1 failed, 0 unfinished of 23 offered"), std::string::npos);
  EXPECT_NE(html.find("7.33 enrollments/s"), std::string::npos);  // 22 / 3 s
  char p99[32];
  std::snprintf(p99, sizeof p99, "p99 %.1f ms", r.stats.latency.percentile(99) / 1000.0);
  EXPECT_NE(html.find(std::string("latency from intended start</th><td>p50 ")), std::string::npos);
  EXPECT_NE(html.find(p99), std::string::npos) << p99;
  EXPECT_NE(html.find("<tr class=\"pass\"><td><code>p99&lt;300ms</code></td><td>95.0ms</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr class=\"fail\"><td><code>errors&lt;0.1%</code></td><td>4.35%</td>"
                      "<td>FAIL</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>1</td><td>finalize</td><td>badCSR</td><td>400</td>"), std::string::npos);
  EXPECT_NE(html.find("server 2.00 ms · generator 1.00 ms · crypto floor 0.760 ms"),
            std::string::npos);
}

TEST(LoadHtml, EscapesEverythingFromTheRun) {
  const std::string html = render_load_html({sample_run()}, "load --target '<b>'");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<x>"), std::string::npos);
  EXPECT_NE(html.find("vendor &lt;x&gt; &amp; co"), std::string::npos);
  EXPECT_NE(html.find("the CSR &lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("load --target &#39;&lt;b&gt;&#39;"), std::string::npos);
  // Self-contained: nothing is fetched.
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
}

TEST(LoadHtml, AnEmptyRunStillRenders) {
  LoadRun empty;
  empty.target_name = "idle";
  empty.flow = "device";
  const std::string html = render_load_html({empty}, "");
  EXPECT_NE(html.find("<svg class=\"plot throughput\""), std::string::npos);
  EXPECT_NE(html.find("No errors."), std::string::npos);
  EXPECT_NE(html.find("No thresholds were set."), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_EQ(html.find("inf"), std::string::npos);
  EXPECT_NE(render_load_html({}, "").find("No load runs."), std::string::npos);
}

TEST(LoadHtml, LatencyBinsKeepEveryCountOnALogScale) {
  Histogram h;
  for (std::uint64_t v : {1000u, 1100u, 5000u, 90000u, 90000u, 250000u}) h.record(v);
  const auto bins = latency_bins(h, 10);
  ASSERT_EQ(bins.size(), 10u);
  std::uint64_t total = 0;
  for (const auto& b : bins) total += b.count;
  EXPECT_EQ(total, h.count());
  EXPECT_NEAR(bins.front().low_ms, 1.0, 1e-9);
  EXPECT_NEAR(bins.back().high_ms, 250.0, 1e-6);
  EXPECT_EQ(bins.front().count, 2u);  // 1.0 and 1.1 ms
  EXPECT_EQ(bins.back().count, 1u);   // 250 ms
  // Equal widths in log space.
  EXPECT_NEAR(bins[0].high_ms / bins[0].low_ms, bins[5].high_ms / bins[5].low_ms, 1e-9);
  EXPECT_TRUE(latency_bins(Histogram(), 10).empty());
}

void expect_ticks(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
}

TEST(SvgChart, TicksAndNumbers) {
  expect_ticks(nice_ticks(0, 10, 5), {0, 2, 4, 6, 8, 10});
  expect_ticks(nice_ticks(0, 0.9, 8), {0, 0.2, 0.4, 0.6, 0.8});
  expect_ticks(nice_ticks(0, 0.9, 4), {0, 0.5});  // step 0.5 >= 0.9 / 4
  expect_ticks(nice_ticks(5, 5, 4), {5});
  expect_ticks(nice_ticks(3, 47, 5), {10, 20, 30, 40});
  expect_ticks(nice_ticks(3, 47, 4), {20, 40});
  EXPECT_EQ(short_number(0), "0");
  EXPECT_EQ(short_number(12.5), "12.5");
  EXPECT_EQ(short_number(25000), "25k");
  EXPECT_EQ(short_number(3000000), "3M");
}

TEST(SvgChart, LineChartSkipsNonFinitePointsAndEscapesNames) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  LineChart c{"t", "A & B", "x", "y", {{"s<1>", "#000", {{1, 1}, {2, nan}, {3, 2}}}}};
  const std::string svg = render_line_chart(c);
  EXPECT_EQ(svg.rfind("<svg class=\"plot t\"", 0), 0u);
  EXPECT_NE(svg.find("<title>A &amp; B</title>"), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"s&lt;1&gt;\""), std::string::npos);
  EXPECT_EQ(count_of(svg, "<circle"), 2);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

}  // namespace
}  // namespace attestlab::load

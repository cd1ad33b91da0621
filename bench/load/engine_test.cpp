#include "bench/load/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "bench/load/plain_flow.h"
#include "core/child_process.h"
#include "testing/acme_stub.h"

namespace attestlab::load {
namespace {

using testing::AcmeStub;
using namespace std::chrono_literals;

// A plain flow against a stub, with a real http-01 responder (the stub never fetches).
struct Rig {
  explicit Rig(AcmeStub::Options options = {}) : stub(std::move(options)) {
    EXPECT_TRUE(stub.running());
    auto r = client::Http01Responder::start("127.0.0.1:" + std::to_string(free_loopback_port()));
    EXPECT_TRUE(r.ok());
    if (r) responder = std::move(*r);
    target.urls = {stub.directory_url()};
    target.client.timeout = 2000ms;
    target.challenge = "http-01";
    target.http01 = responder.get();
    target.run_id = "test";
    target.poll_interval = 5ms;
    target.poll_timeout = 5000ms;
  }
  std::unique_ptr<Flow> flow(PlainFlowOptions options = {}) {
    auto f = make_plain_flow(target, options);
    EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().detail);
    return f ? std::move(*f) : nullptr;
  }
  // One run of the engine over a fresh plain flow.
  Result<LoadRun> run(const EngineOptions& options) {
    auto f = flow();
    if (!f) return Error::make("internal", "no flow to run");
    return run_load(*f, options);
  }

  AcmeStub stub;
  std::unique_ptr<client::Http01Responder> responder;
  FlowTarget target;
};

EngineOptions open_plan(double rate, std::optional<std::uint64_t> count, double duration_s = 1) {
  EngineOptions o;
  o.plan.rate = rate;
  o.plan.count = count;
  o.plan.duration_s = duration_s;
  o.workers = 8;
  o.stall_timeout = 3000ms;
  o.progress_interval = 50ms;
  return o;
}

TEST(Engine, CompletedEnrollmentsAreTheCertificatesTheTargetIssued) {
  Rig rig;
  auto flow = rig.flow();
  EngineOptions o = open_plan(50, std::nullopt, 1);
  o.plan.warmup_s = 0.2;
  std::atomic<int> looks{0};
  o.on_progress = [&](const Progress&) { ++looks; };
  auto run = run_load(*flow, o);
  ASSERT_TRUE(run.ok()) << run.error().detail;
  EXPECT_EQ(run->scheduled, 50u);
  EXPECT_EQ(run->stats.completed, 50u);
  EXPECT_EQ(run->stats.warmup_completed, 10u);
  EXPECT_EQ(run->stats.failed, 0u);
  EXPECT_EQ(run->stats.completed + run->stats.warmup_completed, rig.stub.issued());
  EXPECT_EQ(run->stats.latency.count(), 50u);
  EXPECT_EQ(run->unfinished(), 0u);
  EXPECT_TRUE(run->stopped.empty()) << run->stopped;
  for (Step s : {Step::Directory, Step::Nonce, Step::Account, Step::Order, Step::Challenge,
                 Step::Validation, Step::Finalize, Step::Download}) {
    EXPECT_EQ(run->stats.steps[static_cast<std::size_t>(s)].count(), 50u) << step_name(s);
  }
  EXPECT_EQ(run->stats.steps[static_cast<std::size_t>(Step::Attest)].count(), 0u);
  EXPECT_GE(run->elapsed_s, 1.0);
  EXPECT_GT(looks.load(), 0);
  EXPECT_EQ(run->flow, "plain");
  EXPECT_GT(run->stats.requests, 50u * 8);
}

// wrk2's point: with one worker and a target slower than the schedule, the offered rate
// stays what was asked and the queueing shows as latency from the intended start.
TEST(Engine, ASlowTargetShowsAsLatencyFromTheIntendedStartNotAsALowerOfferedRate) {
  // 8 requests an enrollment, at least 40 ms each (the stub's challenge response is already
  // valid, so the authorization is not fetched again).
  Rig rig({.delay = 5ms});
  EngineOptions o = open_plan(40, 30);  // one due every 25 ms
  o.workers = 1;
  const std::string jsonl_path =
      (std::filesystem::temp_directory_path() / "attestlab-engine-test.jsonl").string();
  auto jsonl = JsonlWriter::open(jsonl_path);
  ASSERT_TRUE(jsonl.ok());
  o.jsonl = jsonl->get();
  auto run = rig.run(o);
  ASSERT_TRUE(run.ok()) << run.error().detail;
  ASSERT_TRUE((*jsonl)->close());
  EXPECT_EQ(run->scheduled, 30u);
  EXPECT_EQ(run->stats.completed, 30u);
  // Enrollment i cannot end before (i+1) * 40 ms but was due at i * 25 ms: its latency is
  // at least 40 + 15 i ms. Lower bounds only (sleeps guarantee them on any machine).
  EXPECT_GE(run->stats.latency.max(), 470000u);
  EXPECT_GE(run->stats.latency.percentile(50), 230000u);
  EXPECT_GE(run->stats.service.min(), 40000u);
  EXPECT_GT(run->stats.latency.percentile(99), run->stats.service.percentile(99));

  // The intended starts are the schedule's, 25 ms apart, whatever the target did.
  std::ifstream in(jsonl_path);
  std::vector<double> intended;
  std::size_t requests = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = parse_json(line);
    ASSERT_TRUE(j.ok()) << line;
    if ((*j)["type"] == "request") {
      ++requests;
      EXPECT_TRUE((*j)["step"].is_string());
      EXPECT_GE((*j)["sent_ms"].get<double>() + 1, (*j)["intended_ms"].get<double>());
      continue;
    }
    intended.push_back((*j)["intended_ms"].get<double>());
    EXPECT_EQ((*j)["outcome"], "completed");
    EXPECT_GE((*j)["latency_us"].get<std::uint64_t>(), (*j)["service_us"].get<std::uint64_t>());
  }
  ASSERT_EQ(intended.size(), 30u);
  for (std::size_t i = 1; i < intended.size(); ++i)
    EXPECT_NEAR(intended[i] - intended[i - 1], 25.0, 0.01);
  EXPECT_EQ(requests, 30u * 8);
  std::filesystem::remove(jsonl_path);
}

TEST(Engine, BadNonceIsRetriedAndCountedNotAnError) {
  Rig rig({.bad_nonce_every = 4});
  auto run = rig.run(open_plan(50, 20));
  ASSERT_TRUE(run.ok()) << run.error().detail;
  EXPECT_EQ(run->stats.completed, 20u);
  EXPECT_TRUE(run->stats.errors.empty());
  EXPECT_GT(run->stats.bad_nonce_retries, 10u);
}

TEST(Engine, ErrorsAreTalliedByStepTypeAndStatus) {
  Rig rig({.finalize_status = 403});
  auto run = rig.run(open_plan(50, 10));
  ASSERT_TRUE(run.ok()) << run.error().detail;
  EXPECT_EQ(run->stats.completed, 0u);
  EXPECT_EQ(run->stats.failed, 10u);
  ASSERT_EQ(run->stats.errors.size(), 1u);
  const auto& [key, n] = *run->stats.errors.begin();
  EXPECT_EQ(key.step, "finalize");
  EXPECT_EQ(key.type, "unauthorized");
  EXPECT_EQ(key.status, 403);
  EXPECT_EQ(n, 10u);
  EXPECT_DOUBLE_EQ(run->error_share(), 1.0);
  // Steps before the failing one still count; the failing one does not.
  EXPECT_EQ(run->stats.steps[static_cast<std::size_t>(Step::Order)].count(), 10u);
  EXPECT_EQ(run->stats.steps[static_cast<std::size_t>(Step::Finalize)].count(), 0u);
}

TEST(Engine, ATargetThatStopsAnsweringEndsTheRunAndSaysSo) {
  Rig rig;
  EngineOptions o = open_plan(50, std::nullopt, 30);
  o.stall_timeout = 300ms;
  std::thread killer([&] {
    for (int i = 0; i < 500 && rig.stub.issued() < 10; ++i) std::this_thread::sleep_for(10ms);
    rig.stub.stop();
  });
  auto run = rig.run(o);
  killer.join();
  ASSERT_TRUE(run.ok()) << run.error().detail;
  EXPECT_NE(run->stopped.find("stopped answering"), std::string::npos) << run->stopped;
  EXPECT_GE(run->stats.completed, 10u);
  EXPECT_GT(run->stats.failed, 0u);
  bool connection = false;
  for (const auto& [key, n] : run->stats.errors)
    connection = connection || key.type == "connection";
  EXPECT_TRUE(connection);
  // Only what was due before the stop was offered (30 s at 50/s would be 1500).
  EXPECT_LT(run->scheduled, 1500u);
  EXPECT_EQ(run->scheduled, run->stats.completed + run->stats.failed + run->unfinished());
}

TEST(Engine, InterruptStopsCleanlyWithPartialFigures) {
  Rig rig;
  EngineOptions o = open_plan(50, std::nullopt, 30);
  std::atomic<bool> interrupt{false};
  o.interrupt = &interrupt;
  std::thread ctrl_c([&] {
    for (int i = 0; i < 500 && rig.stub.issued() < 5; ++i) std::this_thread::sleep_for(10ms);
    interrupt = true;
  });
  auto run = rig.run(o);
  ctrl_c.join();
  ASSERT_TRUE(run.ok()) << run.error().detail;
  EXPECT_TRUE(run->interrupted);
  EXPECT_GE(run->stats.completed, 5u);
  EXPECT_LT(run->scheduled, 1500u);
  EXPECT_EQ(run->stats.failed, 0u);
  EXPECT_EQ(run->stats.completed + run->stats.warmup_completed, rig.stub.issued());
}

TEST(Engine, ClosedModelRunsTheCountAtTheConcurrency) {
  Rig rig;
  EngineOptions o;
  o.plan.model = Model::Closed;
  o.plan.concurrency = 3;
  o.plan.count = 12;
  auto run = rig.run(o);
  ASSERT_TRUE(run.ok()) << run.error().detail;
  EXPECT_EQ(run->workers, 3);
  EXPECT_EQ(run->stats.started, 12u);
  EXPECT_EQ(run->stats.completed, 12u);
  EXPECT_EQ(run->scheduled, 12u);
  EXPECT_EQ(rig.stub.issued(), 12u);
}

TEST(Engine, ShardsOfOneLoadRunDisjointEnrollmentsThatMergeToTheWhole) {
  Rig rig;
  std::vector<LoadRun> shards;
  for (int i = 0; i < 2; ++i) {
    EngineOptions o = open_plan(100, 21);
    o.plan.shard_index = i;
    o.plan.shard_count = 2;
    auto run = rig.run(o);
    ASSERT_TRUE(run.ok()) << run.error().detail;
    EXPECT_EQ(run->scheduled, i == 0 ? 11u : 10u);
    shards.push_back(std::move(*run));
  }
  auto merged = merge_load_runs(shards);
  ASSERT_TRUE(merged.ok()) << merged.error().detail;
  EXPECT_EQ(merged->scheduled, 21u);
  EXPECT_EQ(merged->stats.completed, 21u);
  EXPECT_EQ(rig.stub.issued(), 21u);
  Histogram both = shards[0].stats.latency;
  both.merge(shards[1].stats.latency);
  EXPECT_EQ(merged->stats.latency, both);
}

TEST(Engine, PooledAccountsAreMadeBeforeTheClock) {
  Rig rig;
  PlainFlowOptions options;
  options.accounts = 3;
  auto flow = rig.flow(options);
  const std::uint64_t posts_before = rig.stub.posts();
  EXPECT_EQ(posts_before, 3u);  // the three newAccount requests
  auto run = run_load(*flow, open_plan(50, 9));
  ASSERT_TRUE(run.ok()) << run.error().detail;
  EXPECT_EQ(run->stats.completed, 9u);
  EXPECT_EQ(run->stats.steps[static_cast<std::size_t>(Step::Account)].count(), 0u);
}

TEST(Engine, RefusesPlansItCannotRun) {
  Rig rig;
  auto flow = rig.flow();
  EngineOptions o = open_plan(0, 5);
  EXPECT_FALSE(run_load(*flow, o).ok());
  o = open_plan(10, 5);
  o.plan.shard_index = 2;
  o.plan.shard_count = 2;
  EXPECT_FALSE(run_load(*flow, o).ok());
  o = open_plan(10, std::nullopt, 0);
  EXPECT_FALSE(run_load(*flow, o).ok());
}

}  // namespace
}  // namespace attestlab::load

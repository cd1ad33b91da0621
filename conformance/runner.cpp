#include "conformance/runner.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "client/wire_log.h"
#include "conformance/context.h"
#include "conformance/harness.h"
#include "core/clock.h"

namespace attestlab::conformance {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::optional<std::string> missing_capability(const Case& c, const TargetProfile& target) {
  for (const auto& capability : c.capabilities) {
    if (auto why = target.missing(capability)) return *why;
  }
  return std::nullopt;
}

Verdict apply_level(const Case& c, Verdict verdict, bool strict) {
  if (verdict.outcome != reports::Outcome::Fail) return verdict;
  if (strict || (c.level != Level::Should && c.level != Level::May)) return verdict;
  verdict.outcome = reports::Outcome::Pass;
  verdict.reason = std::string(to_string(c.level)) + " not met: " + verdict.reason;
  return verdict;
}

namespace {

// One case's slot in a run. Guarded by RunState::mu.
struct Slot {
  bool started = false;
  bool finished = false;
  Clock::time_point started_at;
  std::size_t worker = 0;  // index of the thread running it
  std::shared_ptr<client::WireLog> log;
};

struct RunState {
  std::shared_ptr<Harness> harness;
  CaseList cases;
  RunOptions options;
  milliseconds timeout{30000};

  std::mutex mu;
  std::condition_variable changed;
  std::vector<Slot> slots;
  std::vector<reports::CaseResult> results;
  std::size_t next = 0;
  std::size_t done = 0;
  int live_workers = 0;  // workers that will exit on their own once the queue is empty
};

reports::CaseResult base_result(const Case& c) {
  reports::CaseResult r;
  r.id = c.id;
  r.title = c.title;
  r.requirement = c.requirement;
  r.spec = c.spec;
  r.section = c.section;
  r.level = to_string(c.level);
  r.profile = c.profile;
  return r;
}

// Records a result unless the slot already has one; returns whether it was recorded.
bool finish(RunState& s, std::size_t i, reports::CaseResult result) {
  std::unique_lock lock(s.mu);
  if (s.slots[i].finished) return false;
  s.slots[i].finished = true;
  s.results[i] = std::move(result);
  ++s.done;
  if (s.options.on_case_done) s.options.on_case_done(s.results[i], s.done, s.cases.size());
  s.changed.notify_all();
  return true;
}

Verdict run_case_body(RunState& s, const Case& c, client::WireLog& log,
                      Clock::time_point deadline) {
  if (auto why = missing_capability(c, s.harness->target())) return Verdict::skip(*why);
  CaseContext ctx(*s.harness, c, log, deadline);
  try {
    return c.run(ctx);
  } catch (const CaseAbort& abort) {
    return abort.verdict;
  } catch (const std::exception& e) {
    return Verdict::error(std::string("internal error in the case: ") + e.what());
  } catch (...) {
    return Verdict::error("internal error in the case");
  }
}

// A worker takes cases until none are left or it was abandoned (its case timed out and a
// replacement took over its place).
void worker(std::shared_ptr<RunState> s, std::size_t worker_id) {
  for (;;) {
    std::size_t i = 0;
    std::shared_ptr<client::WireLog> log = std::make_shared<client::WireLog>();
    Clock::time_point started;
    {
      std::lock_guard lock(s->mu);
      if (s->next >= s->cases.size()) {
        --s->live_workers;
        s->changed.notify_all();
        return;
      }
      i = s->next++;
      started = Clock::now();
      s->slots[i].started = true;
      s->slots[i].started_at = started;
      s->slots[i].worker = worker_id;
      s->slots[i].log = log;
    }
    const Case& c = s->cases[i];
    const Verdict verdict =
        apply_level(c, run_case_body(*s, c, *log, started + s->timeout), s->options.strict);
    reports::CaseResult result = base_result(c);
    result.outcome = verdict.outcome;
    result.reason = verdict.reason;
    result.expected = verdict.expected;
    result.observed = verdict.observed;
    result.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    result.wire_log = log->to_json();
    if (!finish(*s, i, std::move(result))) return;  // timed out: a replacement runs instead
  }
}

}  // namespace

Result<TargetRunSummary> run_target(const TargetProfile& target, const CaseList& selected,
                                    const CaseList& all, const RunOptions& options) {
  auto harness = Harness::create(target, all);
  if (!harness) return harness.error();

  auto s = std::make_shared<RunState>();
  s->harness = std::shared_ptr<Harness>(std::move(harness.value()));
  s->cases = selected;
  std::sort(s->cases.begin(), s->cases.end(),
            [](const Case& a, const Case& b) { return a.id < b.id; });
  s->options = options;
  s->timeout = options.case_timeout.value_or(target.timing.case_timeout);
  s->slots.resize(s->cases.size());
  s->results.resize(s->cases.size());

  TargetRunSummary summary;
  summary.run.name = target.name;
  summary.run.directory_url = target.directory_url;
  summary.run.started_at = format_rfc3339(SystemClock().now());
  const auto run_started = Clock::now();

  const std::size_t jobs = static_cast<std::size_t>(
      std::max(1, std::min<int>(options.jobs, static_cast<int>(s->cases.size()))));
  std::vector<std::thread> threads;
  std::vector<bool> abandoned_worker;
  {
    std::lock_guard lock(s->mu);
    s->live_workers = s->cases.empty() ? 0 : static_cast<int>(jobs);
  }
  for (std::size_t j = 0; j < jobs && !s->cases.empty(); ++j) {
    abandoned_worker.push_back(false);
    threads.emplace_back(worker, s, j);
  }

  // Watchdog: a case past its deadline (plus a grace period for the cooperative
  // deadline inside the case to take effect) is recorded as an error, and its worker is
  // abandoned and replaced by a new one.
  const milliseconds grace(2000);
  std::size_t abandoned = 0;
  {
    std::unique_lock lock(s->mu);
    while (s->done < s->cases.size()) {
      s->changed.wait_for(lock, milliseconds(50));
      const auto now = Clock::now();
      for (std::size_t i = 0; i < s->slots.size(); ++i) {
        Slot& slot = s->slots[i];
        if (!slot.started || slot.finished || now < slot.started_at + s->timeout + grace) continue;
        reports::CaseResult result = base_result(s->cases[i]);
        result.outcome = reports::Outcome::Error;
        result.reason = "timed out after " + std::to_string(s->timeout.count()) + " ms";
        result.duration_ms =
            std::chrono::duration<double, std::milli>(now - slot.started_at).count();
        result.wire_log = slot.log ? slot.log->to_json() : Json::array();
        const std::size_t stuck = slot.worker;
        lock.unlock();
        const bool recorded = finish(*s, i, std::move(result));
        lock.lock();
        if (recorded) {
          ++abandoned;
          abandoned_worker[stuck] = true;  // it never counts itself out; its replacement will
          abandoned_worker.push_back(false);
          threads.emplace_back(worker, s, threads.size());
        }
      }
    }
    // Every case has a result, so the remaining workers find the queue empty and exit.
    s->changed.wait(lock, [&] { return s->live_workers == 0; });
  }
  for (std::size_t j = 0; j < threads.size(); ++j) {
    if (abandoned_worker[j]) {
      threads[j].detach();  // still inside its timed-out case; it holds its own references
    } else {
      threads[j].join();
    }
  }
  summary.stragglers = abandoned;
  summary.run.duration_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - run_started).count();
  summary.run.cases = s->results;
  return summary;
}

}  // namespace attestlab::conformance

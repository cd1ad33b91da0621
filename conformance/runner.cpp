#include "conformance/runner.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "client/target_probe.h"
#include "client/wire_log.h"
#include "conformance/context.h"
#include "conformance/harness.h"
#include "core/bytes.h"
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
  verdict.outcome = reports::Outcome::NonStrict;
  verdict.reason = std::string(to_string(c.level)) + " not met: " + verdict.reason;
  return verdict;
}

Verdict apply_transport_rule(Verdict verdict, const std::vector<client::WireExchange>& exchanges) {
  if (verdict.outcome != reports::Outcome::Pass && verdict.outcome != reports::Outcome::Fail)
    return verdict;
  for (const auto& e : exchanges) {
    if (e.status != 0 || e.error.empty()) continue;
    return Verdict::error("transport error, nothing was judged: " + e.method + " " + e.url + ": " +
                          e.error);
  }
  return verdict;
}

std::optional<Verdict> unmet_dependency(const Case& c,
                                        const std::map<std::string, reports::Outcome>& finished) {
  for (const auto& dep : c.depends_on) {
    auto it = finished.find(dep);
    if (it == finished.end() || it->second == reports::Outcome::Pass) continue;
    return Verdict::skip("see " + dep + ": its premise did not hold there (" +
                         reports::to_string(it->second) + ")");
  }
  return std::nullopt;
}

namespace {

// One case's slot in a run. Guarded by RunState::mu.
struct Slot {
  bool started = false;
  bool finished = false;
  Clock::time_point started_at;
  std::size_t worker = 0;  // index of the thread running it
  std::shared_ptr<client::WireLog> log;
  std::vector<std::size_t> deps;  // slots of the case's dependencies in this run
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
  std::size_t done = 0;
  int live_workers = 0;  // workers that will exit on their own once the queue is empty
  // A case after which the target may be gone (a transport error or a timeout): the
  // watchdog probes the target's liveness, and no case starts until it knows. Empty:
  // nothing to check.
  std::string suspect;
  bool target_down = false;
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
// Caller holds s.mu.
bool finish_locked(RunState& s, std::size_t i, reports::CaseResult result) {
  if (s.slots[i].finished) return false;
  s.slots[i].finished = true;
  s.results[i] = std::move(result);
  ++s.done;
  if (s.options.on_case_done) s.options.on_case_done(s.results[i], s.done, s.cases.size());
  s.changed.notify_all();
  return true;
}

// The outcomes of the finished dependencies of slot i. Caller holds s.mu.
std::map<std::string, reports::Outcome> finished_dependencies(const RunState& s, std::size_t i) {
  std::map<std::string, reports::Outcome> out;
  for (std::size_t d : s.slots[i].deps) {
    if (s.slots[d].finished) out.emplace(s.cases[d].id, s.results[d].outcome);
  }
  return out;
}

// The next case to start: not started, not finished, every dependency finished. Caller
// holds s.mu. `left` tells whether any case is still waiting to start.
std::optional<std::size_t> next_ready(const RunState& s, bool& left) {
  left = false;
  bool running = false;
  std::optional<std::size_t> first_waiting;
  for (std::size_t i = 0; i < s.slots.size(); ++i) {
    const Slot& slot = s.slots[i];
    running = running || (slot.started && !slot.finished);
    if (slot.started || slot.finished) continue;
    left = true;
    if (!s.suspect.empty()) return std::nullopt;  // a liveness probe is due: wait for it
    if (!first_waiting) first_waiting = i;
    bool ready = true;
    for (std::size_t d : slot.deps) ready = ready && s.slots[d].finished;
    if (ready) return i;
  }
  // Nothing runs, yet nothing is ready: dependencies in a cycle. Run one rather than wait.
  if (!running) return first_waiting;
  return std::nullopt;
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
    std::optional<Verdict> skipped;
    {
      std::unique_lock lock(s->mu);
      for (;;) {
        bool left = false;
        if (auto ready = next_ready(*s, left)) {
          i = *ready;
          break;
        }
        if (!left) {
          --s->live_workers;
          s->changed.notify_all();
          return;
        }
        s->changed.wait(lock);  // a dependency is still running
      }
      started = Clock::now();
      s->slots[i].started = true;
      s->slots[i].started_at = started;
      s->slots[i].worker = worker_id;
      s->slots[i].log = log;
      skipped = unmet_dependency(s->cases[i], finished_dependencies(*s, i));
    }
    const Case& c = s->cases[i];
    Verdict verdict = skipped ? *skipped : run_case_body(*s, c, *log, started + s->timeout);
    const auto exchanges = log->exchanges();
    verdict = apply_transport_rule(std::move(verdict), exchanges);
    // Any request without an answer (also inside a failed precondition) asks for a probe.
    const bool transport_error = std::any_of(exchanges.begin(), exchanges.end(), [](const auto& e) {
      return e.status == 0 && !e.error.empty();
    });
    verdict = apply_level(c, std::move(verdict), s->options.strict);
    reports::CaseResult result = base_result(c);
    result.outcome = verdict.outcome;
    result.reason = verdict.reason;
    result.expected = verdict.expected;
    result.observed = verdict.observed;
    result.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    result.wire_log = log->to_json();
    {
      std::lock_guard lock(s->mu);
      if (transport_error && s->suspect.empty()) s->suspect = c.id;
      // A timed-out case was already recorded: a replacement runs instead of this worker.
      if (!finish_locked(*s, i, std::move(result))) return;
    }
  }
}

// The default liveness probe: the directory and a nonce (client::probe_target), then a
// newOrder by the run's shared account, since a target may keep serving its directory
// while every request touching its state hangs (pebble 2.4 after a challenge of a
// deactivated authorization). Any HTTP answer counts as alive; only silence is down.
Result<void> probe_liveness(Harness& harness) {
  const TargetProfile& target = harness.target();
  client::AcmeClientOptions options = client_options(target);
  options.timeout = std::min(options.timeout, milliseconds(10000));
  options.bad_nonce_retries = 1;
  auto dir = client::probe_target(target.directory_url, options);
  if (!dir) return dir.error();
  auto account = harness.shared_account();
  if (!account) return ok();  // no account to ask with: the directory answered
  client::AcmeClient c(target.directory_url, options);
  c.use_account(account->first, account->second);
  const Json order{
      {"identifiers", Json::array({Json{{"type", "dns"},
                                        {"value", "liveness-" + hex_encode(random_bytes(4)) + "." +
                                                      target.dns_suffix}}})}};
  auto answer = c.post(dir->new_order, order);
  if (!answer && answer.error().type == "connection")
    return Error::make("badTarget", target.directory_url +
                                        " still serves its directory, but a newOrder got no "
                                        "answer: " +
                                        answer.error().detail);
  return ok();
}

// Ends every unfinished case at once: those running become errors with `running_reason`
// (their workers are abandoned), those not started are skipped with `not_run_reason`.
// Caller holds s.mu. Returns the number of workers abandoned.
std::size_t end_unfinished(RunState& s, const std::string& running_reason,
                           const std::string& not_run_reason, std::vector<bool>& abandoned_worker) {
  std::size_t abandoned = 0;
  const auto now = Clock::now();
  for (std::size_t i = 0; i < s.slots.size(); ++i) {
    Slot& slot = s.slots[i];
    if (slot.finished) continue;
    reports::CaseResult result = base_result(s.cases[i]);
    if (slot.started) {
      result.outcome = reports::Outcome::Error;
      result.reason = running_reason;
      result.duration_ms = std::chrono::duration<double, std::milli>(now - slot.started_at).count();
      result.wire_log = slot.log ? slot.log->to_json() : Json::array();
      abandoned_worker[slot.worker] = true;
      ++abandoned;
    } else {
      result.outcome = reports::Outcome::Skip;
      result.reason = not_run_reason;
    }
    finish_locked(s, i, std::move(result));
  }
  // Abandoned workers never count themselves out and get no replacement.
  s.live_workers -= static_cast<int>(abandoned);
  s.changed.notify_all();
  return abandoned;
}

// The target stopped answering during `during`.
std::size_t mark_target_down(RunState& s, const std::string& during,
                             std::vector<bool>& abandoned_worker) {
  s.target_down = true;
  return end_unfinished(
      s, "the target stopped answering while this case ran (it went silent during " + during + ")",
      std::string(reports::kNotRunTargetDown) + " (it stopped answering during " + during + ")",
      abandoned_worker);
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
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < s->cases.size(); ++i) index.emplace(s->cases[i].id, i);
  for (std::size_t i = 0; i < s->cases.size(); ++i) {
    for (const auto& dep : s->cases[i].depends_on) {
      auto it = index.find(dep);
      if (it != index.end() && it->second != i) s->slots[i].deps.push_back(it->second);
    }
  }
  const std::function<Result<void>()> liveness =
      options.liveness ? options.liveness : [s] { return probe_liveness(*s->harness); };

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
  // abandoned and replaced by a new one. After a timeout or a transport error it asks
  // whether the target is still there.
  const milliseconds grace(2000);
  std::size_t abandoned = 0;
  {
    std::unique_lock lock(s->mu);
    while (s->done < s->cases.size()) {
      s->changed.wait_for(lock, milliseconds(50));
      if (options.interrupted && options.interrupted()) {
        abandoned += end_unfinished(*s, "interrupted while this case ran (SIGINT/SIGTERM)",
                                    std::string(reports::kNotRunInterrupted), abandoned_worker);
        break;
      }
      const auto now = Clock::now();
      std::string timed_out;
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
        if (finish_locked(*s, i, std::move(result))) {
          if (timed_out.empty()) timed_out = s->cases[i].id;
          ++abandoned;
          abandoned_worker[stuck] = true;  // it never counts itself out; its replacement will
          abandoned_worker.push_back(false);
          threads.emplace_back(worker, s, threads.size());
        }
      }
      if (s->suspect.empty()) s->suspect = timed_out;
      if (s->suspect.empty()) continue;
      const std::string suspect = s->suspect;
      lock.unlock();
      const auto alive = liveness();
      lock.lock();
      s->suspect.clear();
      s->changed.notify_all();
      if (alive) continue;
      abandoned += mark_target_down(*s, suspect, abandoned_worker);
      summary.run.target_down = reports::TargetDown{suspect, alive.error().detail};
    }
    s->suspect.clear();
    s->changed.notify_all();
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

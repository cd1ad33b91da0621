#include "bench/load/engine.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/load/cpu.h"

namespace attestlab::load {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::nanoseconds;

std::uint64_t us_between(Clock::time_point from, Clock::time_point to) {
  return to > from ? static_cast<std::uint64_t>(duration_cast<microseconds>(to - from).count()) : 0;
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

const char* outcome_name(EnrollmentOutcome::Kind kind) {
  switch (kind) {
    case EnrollmentOutcome::Kind::Completed:
      return "completed";
    case EnrollmentOutcome::Kind::Failed:
      return "failed";
    case EnrollmentOutcome::Kind::FaultRefused:
      return "fault_refused";
    case EnrollmentOutcome::Kind::FaultAccepted:
      return "fault_accepted";
    case EnrollmentOutcome::Kind::Interrupted:
      return "interrupted";
  }
  return "failed";
}

struct WorkerState {
  std::mutex mu;  // guards stats and last_finish (read by the monitor)
  LoadStats stats;
  std::optional<Clock::time_point> last_finish;  // of a measured enrollment
  std::unique_ptr<client::WireLog> log;          // --jsonl only
  std::unique_ptr<FlowWorker> worker;
  std::optional<double> cpu_at_window_ms;  // thread CPU when the first measured one began
  double cpu_at_exit_ms = 0;
  // Open model: the enrollment the dispatcher handed this worker (under dispatch_mu_).
  std::optional<Slot> mail;
  std::condition_variable mail_cv;
  // --jsonl: request lines of the running enrollment, and how far the log was read.
  std::vector<Json> lines;
  std::size_t log_mark = 0;
};

class Engine {
 public:
  Engine(Flow& flow, const EngineOptions& options)
      : flow_(flow), options_(options), schedule_(options.plan) {}

  Result<LoadRun> run() {
    const LoadPlan& plan = options_.plan;
    const int workers =
        plan.model == Model::Open ? std::max(1, options_.workers) : schedule_.shard_concurrency();
    for (int i = 0; i < workers; ++i) {
      auto state = std::make_unique<WorkerState>();
      if (options_.jsonl != nullptr) state->log = std::make_unique<client::WireLog>(true);
      state->worker = flow_.make_worker(i, state->log.get());
      states_.push_back(std::move(state));
    }
    // A short lead so every thread is waiting when the clock starts.
    t0_ = Clock::now() + std::chrono::milliseconds(50);
    wall0_ = std::chrono::system_clock::now() + std::chrono::milliseconds(50);
    window_start_ = t0_ + duration_cast<nanoseconds>(std::chrono::duration<double>(plan.warmup_s));
    last_progress_ns_ = t0_.time_since_epoch().count();
    running_ = workers;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < states_.size(); ++i)
      threads.emplace_back([this, i] { worker_main(i); });
    if (plan.model == Model::Open) threads.emplace_back([this] { dispatch(); });
    monitor();
    for (auto& t : threads) t.join();
    return result(workers);
  }

 private:
  // --- workers -------------------------------------------------------------------------------

  void worker_main(std::size_t i) {
    WorkerState& s = *states_[i];
    if (options_.plan.model == Model::Open) {
      open_loop(s);
    } else {
      closed_loop(s);
    }
    s.cpu_at_exit_ms = thread_cpu_ms();
    --running_;
  }

  Clock::time_point due_of(const Slot& slot) const {
    return t0_ + duration_cast<nanoseconds>(std::chrono::duration<double>(slot.offset_s));
  }

  // Open model: hands each enrollment, when due, to the worker that became idle last (so
  // few workers, with warm connections, carry a light load), or queues it when every
  // worker is busy; a late start still counts from the intended time.
  void dispatch() {
    for (std::uint64_t j = 0; !stop_.stopped(); ++j) {
      auto slot = schedule_.open_slot(j);
      if (!slot) break;
      const auto due = due_of(*slot);
      const auto now = Clock::now();
      if (due > now && !stop_.sleep_for(due - now)) break;
      std::lock_guard lock(dispatch_mu_);
      if (idle_.empty()) {
        backlog_.push_back(*slot);
      } else {
        WorkerState* w = idle_.back();
        idle_.pop_back();
        w->mail = *slot;
        w->mail_cv.notify_one();
      }
    }
    std::lock_guard lock(dispatch_mu_);
    schedule_done_ = true;
    for (WorkerState* w : idle_) w->mail_cv.notify_one();
  }

  void wake_idle_workers() {
    std::lock_guard lock(dispatch_mu_);
    for (WorkerState* w : idle_) w->mail_cv.notify_one();
  }

  void open_loop(WorkerState& s) {
    std::unique_lock lock(dispatch_mu_);
    while (!stop_.stopped()) {
      std::optional<Slot> slot;
      if (!backlog_.empty()) {
        slot = backlog_.front();
        backlog_.pop_front();
      } else if (schedule_done_) {
        return;
      } else {
        idle_.push_back(&s);
        s.mail_cv.wait(lock, [&] { return s.mail || schedule_done_ || stop_.stopped(); });
        slot.swap(s.mail);
        if (!slot) {
          idle_.erase(std::remove(idle_.begin(), idle_.end(), &s), idle_.end());
          continue;
        }
      }
      lock.unlock();
      run_one(s, slot->index, due_of(*slot), slot->measured);
      lock.lock();
    }
  }

  void closed_loop(WorkerState& s) {
    const auto measured_limit = schedule_.shard_measured_count();
    const auto end = schedule_.end_offset_s();
    const auto n = static_cast<std::uint64_t>(options_.plan.shard_count);
    const auto shard = static_cast<std::uint64_t>(options_.plan.shard_index);
    while (!stop_.stopped()) {
      const auto now = Clock::now();
      if (end && seconds_between(t0_, now) >= *end) return;
      if (now < t0_ && !stop_.sleep_for(t0_ - now)) return;
      const bool measured = Clock::now() >= window_start_;
      if (measured && measured_limit && measured_claims_++ >= *measured_limit) return;
      // Indexes as the open model numbers them, so identifiers stay unique across shards.
      const std::uint64_t k = shard + next_++ * n;
      run_one(s, k, Clock::now(), measured);
    }
  }

  void run_one(WorkerState& s, std::uint64_t k, Clock::time_point due, bool measured) {
    if (measured && !s.cpu_at_window_ms) s.cpu_at_window_ms = thread_cpu_ms();
    EnrollmentContext ctx(stop_, s.log ? std::function<void(Step)>(
                                             [&s](Step step) { take_lines(s, step_name(step)); })
                                       : nullptr);
    const auto started = Clock::now();
    EnrollmentOutcome outcome = s.worker->enroll(k, ctx);
    const auto finished = Clock::now();
    note_progress(outcome, finished);

    const std::uint64_t latency = us_between(due, finished);
    const std::uint64_t service = us_between(started, finished);
    {
      std::lock_guard lock(s.mu);
      LoadStats& st = s.stats;
      if (!measured) {
        if (outcome.kind == EnrollmentOutcome::Kind::Completed) ++st.warmup_completed;
        if (outcome.kind == EnrollmentOutcome::Kind::Failed) ++st.warmup_failed;
      } else {
        ++st.started;
        s.last_finish = std::max(s.last_finish.value_or(finished), finished);
        const double at = seconds_between(window_start_, finished);
        switch (outcome.kind) {
          case EnrollmentOutcome::Kind::Completed:
            ++st.completed;
            st.latency.record(latency);
            st.service.record(service);
            st.record_in_timeline(at, true, latency);
            break;
          case EnrollmentOutcome::Kind::Failed:
            ++st.failed;
            st.count_error({outcome.step, outcome.error.type, outcome.error.status},
                           outcome.error.detail);
            st.record_in_timeline(at, false, 0);
            break;
          case EnrollmentOutcome::Kind::Interrupted:
            ++st.interrupted;
            break;
          case EnrollmentOutcome::Kind::FaultRefused:
            ++st.faults[outcome.fault].started;
            ++st.faults[outcome.fault].refused;
            break;
          case EnrollmentOutcome::Kind::FaultAccepted:
            ++st.faults[outcome.fault].started;
            ++st.faults[outcome.fault].accepted;
            break;
        }
        for (std::size_t i = 0; i < kStepCount; ++i) {
          const auto step = static_cast<Step>(i);
          if (ctx.completed(step)) {
            st.steps[i].record(
                static_cast<std::uint64_t>(duration_cast<microseconds>(ctx.spent(step)).count()));
          }
        }
      }
    }
    if (s.log) write_lines(s, k, outcome, due, started, finished, measured, latency, service);
  }

  // Stall detection: the target answered (an enrollment completed, or failed with the
  // target's own answer), or it did not answer at all.
  void note_progress(const EnrollmentOutcome& outcome, Clock::time_point at) {
    const bool silent = (outcome.kind == EnrollmentOutcome::Kind::Failed ||
                         outcome.kind == EnrollmentOutcome::Kind::Interrupted) &&
                        is_transport_error(outcome.error);
    if (outcome.kind == EnrollmentOutcome::Kind::Interrupted && !silent) return;
    if (silent) {
      std::lock_guard lock(progress_mu_);
      ++transport_failures_;
      last_transport_error_ = outcome.error.type + ": " + outcome.error.detail;
      return;
    }
    std::lock_guard lock(progress_mu_);
    transport_failures_ = 0;
    last_progress_ns_ = std::max<std::int64_t>(last_progress_ns_, at.time_since_epoch().count());
  }

  // --- --jsonl ---------------------------------------------------------------------------------

  static void take_lines(WorkerState& s, const std::string& step) {
    const std::size_t end = s.log->size();
    for (const auto& e : s.log->exchanges(s.log_mark, end)) {
      Json line{
          {"type", "request"},    {"step", step},
          {"method", e.method},   {"url", e.url},
          {"sent_ms", e.time_ms}, {"finished_ms", static_cast<double>(e.time_ms) + e.duration_ms},
          {"status", e.status}};
      if (!e.note.empty()) line["note"] = e.note;
      if (!e.error.empty()) line["error"] = e.error;
      s.lines.push_back(std::move(line));
    }
    s.log_mark = end;
  }

  double wall_ms(Clock::time_point t) const {
    const double offset_ms = std::chrono::duration<double, std::milli>(t - t0_).count();
    return static_cast<double>(
               duration_cast<std::chrono::milliseconds>(wall0_.time_since_epoch()).count()) +
           offset_ms;
  }

  void write_lines(WorkerState& s, std::uint64_t k, const EnrollmentOutcome& outcome,
                   Clock::time_point due, Clock::time_point started, Clock::time_point finished,
                   bool measured, std::uint64_t latency, std::uint64_t service) {
    take_lines(s, outcome.fault.empty() ? outcome.step : "fault");
    const double intended = wall_ms(due);
    for (auto& line : s.lines) {
      line["k"] = k;
      line["intended_ms"] = intended;
    }
    Json e{{"type", "enrollment"},
           {"k", k},
           {"shard", options_.plan.shard_index},
           {"measured", measured},
           {"intended_ms", intended},
           {"started_ms", wall_ms(started)},
           {"finished_ms", wall_ms(finished)},
           {"outcome", outcome_name(outcome.kind)}};
    if (outcome.kind == EnrollmentOutcome::Kind::Completed) {
      e["latency_us"] = latency;  // exactly what the histograms recorded
      e["service_us"] = service;
    } else {
      e["step"] = outcome.step;
      e["error_type"] = outcome.error.type;
      e["status"] = outcome.error.status;
      e["detail"] = outcome.error.detail;
    }
    if (!outcome.fault.empty()) e["fault"] = outcome.fault;
    s.lines.push_back(std::move(e));
    options_.jsonl->write(s.lines);
    s.lines.clear();
    s.log->clear();
    s.log_mark = 0;
  }

  // --- the calling thread --------------------------------------------------------------------

  void stop_now(std::string why) {
    if (stop_.stopped()) return;
    stop_time_ = Clock::now();
    stopped_ = std::move(why);
    stop_.stop();
    wake_idle_workers();
  }

  void monitor() {
    const auto end = schedule_.end_offset_s();
    const auto end_at =
        end ? std::optional(t0_ + duration_cast<nanoseconds>(std::chrono::duration<double>(*end)))
            : std::nullopt;
    auto next_progress = t0_ + options_.progress_interval;
    std::uint64_t last_completed = 0;
    auto last_look = t0_;
    while (running_.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const auto now = Clock::now();
      if (options_.interrupt != nullptr && options_.interrupt->load() && !stop_.stopped()) {
        interrupted_ = true;
        stop_now("");
      }
      if (!window_sampled_ && now >= window_start_) sample_window_start();
      if (end_at && now >= *end_at + options_.drain && !stop_.stopped()) {
        stop_now(
            "the drain of " + std::to_string(options_.drain.count() / 1000) +
            " s after the schedule ended ran out; enrollments still in flight were interrupted");
      }
      check_stall(now);
      if (options_.on_progress && now >= next_progress) {
        next_progress = now + options_.progress_interval;
        Progress p = progress(now, end, end_at);
        p.rate = seconds_between(last_look, now) > 0
                     ? static_cast<double>(p.completed - std::min(p.completed, last_completed)) /
                           seconds_between(last_look, now)
                     : 0;
        last_completed = p.completed;
        last_look = now;
        options_.on_progress(p);
      }
    }
  }

  void check_stall(Clock::time_point now) {
    std::string why;
    {
      std::lock_guard lock(progress_mu_);
      if (transport_failures_ == 0) return;
      const Clock::time_point last{Clock::duration(last_progress_ns_)};
      if (now - last < options_.stall_timeout) return;
      char buf[160];
      std::snprintf(
          buf, sizeof buf,
          "the target stopped answering: no answer for %.1f s (from %.1f s into the run); "
          "last error: ",
          seconds_between(last, now), std::max(0.0, seconds_between(t0_, last)));
      why = buf + last_transport_error_;
    }
    stop_now(why);
  }

  Progress progress(Clock::time_point now, std::optional<double> end,
                    std::optional<Clock::time_point> end_at) {
    Progress p;
    p.elapsed_s = seconds_between(t0_, now);
    p.end_s = end;
    p.warming_up = now < window_start_;
    p.draining = end_at && now >= *end_at;
    Histogram latency;
    for (auto& s : states_) {
      std::lock_guard lock(s->mu);
      p.completed += s->stats.completed;
      p.failed += s->stats.failed;
      for (const auto& [name, f] : s->stats.faults) p.fault_enrollments += f.started;
      latency.merge(s->stats.latency);
    }
    p.p99_us = latency.percentile(99);
    if (auto limit = schedule_.shard_measured_count();
        limit && options_.plan.model == Model::Closed) {
      const std::uint64_t done = p.completed + p.failed + p.fault_enrollments;
      p.remaining = *limit > done ? *limit - done : 0;
    }
    return p;
  }

  void sample_window_start() {
    window_sampled_ = true;
    self_cpu_at_window_ = self_cpu_ms();
    if (options_.server_pid) server_cpu_at_window_ = process_cpu_ms(*options_.server_pid);
  }

  // --- the result ------------------------------------------------------------------------------

  LoadRun result(int workers) {
    const auto finished = Clock::now();
    LoadRun run;
    run.flow = flow_.name();
    run.challenge = flow_.challenge();
    run.plan = options_.plan;
    run.workers = workers;
    run.shards = {options_.plan.shard_index};
    run.shard_count = options_.plan.shard_count;
    run.started_at = rfc3339(wall0_);
    run.window_start_unix_ms =
        duration_cast<std::chrono::milliseconds>(wall0_.time_since_epoch()).count() +
        static_cast<std::int64_t>(std::llround(options_.plan.warmup_s * 1000));
    std::optional<Clock::time_point> last_finish;
    double generator_threads_ms = 0;
    bool every_thread_sampled = true;
    for (auto& s : states_) {
      ClientCounters c = s->worker->counters();
      s->stats.requests = c.requests;
      s->stats.bad_nonce_retries = c.bad_nonce_retries;
      s->stats.polls = c.polls;
      (void)run.stats.merge(s->stats);  // same interval everywhere
      if (s->last_finish)
        last_finish = std::max(last_finish.value_or(*s->last_finish), *s->last_finish);
      if (s->cpu_at_window_ms) {
        generator_threads_ms += s->cpu_at_exit_ms - *s->cpu_at_window_ms;
      } else if (s->stats.started > 0) {
        every_thread_sampled = false;
      }
    }
    run.interrupted = interrupted_;
    run.stopped = stopped_;
    const bool early = stop_.stopped();
    if (options_.plan.model == Model::Open) {
      run.scheduled = early
                          ? schedule_.measured_due_before(seconds_between(t0_, stop_time_))
                          : schedule_.measured_due_before(std::numeric_limits<double>::infinity());
    } else {
      run.scheduled = run.stats.started;
    }
    // The window: from the end of the warm-up to the last measured enrollment's end, or
    // the schedule's end when it ran its course (an idle tail still counts).
    Clock::time_point window_end = last_finish.value_or(window_start_);
    if (const auto end = schedule_.end_offset_s(); end && !early)
      window_end = std::max(window_end,
                            t0_ + duration_cast<nanoseconds>(std::chrono::duration<double>(*end)));
    if (early) window_end = std::max(window_end, std::min(stop_time_, finished));
    run.elapsed_s = std::max(0.0, seconds_between(window_start_, window_end));

    if (window_sampled_) {
      const double process_ms = self_cpu_ms() - self_cpu_at_window_;
      if (options_.server_in_process) {
        if (every_thread_sampled) {
          run.generator_cpu_ms = generator_threads_ms;
          run.server_cpu_ms = std::max(0.0, process_ms - generator_threads_ms);
          run.cpu_note =
              "in-process target: generator = the worker threads' CPU, server = the rest of the "
              "process";
        }
      } else {
        run.generator_cpu_ms = process_ms;
        run.cpu_note = "generator: getrusage of this process";
        if (options_.server_pid && server_cpu_at_window_) {
          if (auto now_ms = process_cpu_ms(*options_.server_pid)) {
            run.server_cpu_ms = *now_ms - *server_cpu_at_window_;
            run.cpu_note += "; server: /proc/" + std::to_string(*options_.server_pid) + "/stat";
          }
        }
      }
    }
    return run;
  }

  static std::string rfc3339(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
  }

  Flow& flow_;
  const EngineOptions& options_;
  Schedule schedule_;
  Clock::time_point t0_;
  Clock::time_point window_start_;
  std::chrono::system_clock::time_point wall0_;
  StopSignal stop_;
  Clock::time_point stop_time_;
  std::string stopped_;
  bool interrupted_ = false;
  std::atomic<std::uint64_t> next_{0};  // closed model: the next enrollment
  std::mutex dispatch_mu_;              // open model: guards idle_, backlog_, schedule_done_
  std::vector<WorkerState*> idle_;      // waiting for an enrollment, most recent last
  std::deque<Slot> backlog_;            // due while every worker was busy
  bool schedule_done_ = false;
  std::atomic<std::uint64_t> measured_claims_{0};
  std::atomic<int> running_{0};
  std::vector<std::unique_ptr<WorkerState>> states_;

  std::mutex progress_mu_;
  std::int64_t last_progress_ns_ = 0;
  std::uint64_t transport_failures_ = 0;
  std::string last_transport_error_;

  bool window_sampled_ = false;
  double self_cpu_at_window_ = 0;
  std::optional<double> server_cpu_at_window_;
};

}  // namespace

Result<LoadRun> run_load(Flow& flow, const EngineOptions& options) {
  const LoadPlan& p = options.plan;
  if (p.shard_count < 1 || p.shard_index < 0 || p.shard_index >= p.shard_count)
    return Error::make("malformed", "shard index out of range");
  if (p.model == Model::Open && !(p.rate > 0))
    return Error::make("malformed", "the rate must be positive");
  if (p.model == Model::Closed && p.concurrency < 1)
    return Error::make("malformed", "the concurrency must be at least 1");
  if (!(p.warmup_s >= 0) || !(p.ramp_s >= 0) || (!p.count && !(p.duration_s > 0)))
    return Error::make("malformed", "durations must be positive");
  Engine engine(flow, options);
  return engine.run();
}

}  // namespace attestlab::load

#include "cli/load_options.h"

#include <algorithm>
#include <cmath>

#include "bench/load/units.h"

namespace attestlab::cli {
namespace {

Error bad(const std::string& why) {
  return Error::make("malformed", why);
}

Result<std::chrono::milliseconds> millis(const std::string& option, const std::string& text,
                                         bool positive) {
  auto d = load::parse_duration(text);
  if (!d) return bad(option + " " + d.error().detail);
  if (positive && !(d->count() > 0)) return bad(option + " must be more than 0");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(d->count() * 1000)));
}

}  // namespace

void add_load_options(CLI::App& cmd, LoadArgs& a) {
  cmd.add_option(
      "--target", a.targets,
      "Directory URL of the target; repeat for several URLs of one service (round-robin)");
  cmd.add_option("--target-profile", a.profile,
                 "Target profile JSON, as for conform (conformance/TARGETS.md)");
  cmd.add_flag("--embedded", a.embedded, "Start attestlab's own server in-process as the target");
  cmd.add_option("--trust-ca", a.trust_ca, "PEM bundle trusted for the target's TLS");
  cmd.add_option("--eab-kid", a.eab_kid, "External account binding key id");
  cmd.add_option("--eab-hmac-key", a.eab_hmac_key, "External account binding MAC key (base64url)");
  cmd.add_option("--http01-listen", a.http01_listen,
                 "With --target: HOST:PORT where the target fetches http-01 answers");
  cmd.add_option(
      "--dns01-management", a.dns01_management,
      "With --target: pebble-challtestsrv management URL the target resolves dns-01 through");
  cmd.add_option("--attestation-ca", a.attestation_ca,
                 "With --target: the mock Apple CA directory the target trusts (device flows)");
  cmd.add_option("--flow", a.flow, "plain | device | renewal | mix")
      ->check(CLI::IsMember({"plain", "device", "renewal", "mix"}))
      ->capture_default_str();
  cmd.add_option("--challenge", a.challenge,
                 "plain/renewal: http-01 | dns-01 (default: http-01 when possible)")
      ->check(CLI::IsMember({"http-01", "dns-01"}));
  cmd.add_option("--accounts", a.accounts,
                 "plain: a pool of N accounts (default: a new account per enrollment); renewal: N "
                 "accounts with a name each (default 50)");
  cmd.add_flag("--ari", a.ari,
               "renewal: renew as RFC 9773 says: ask renewalInfo for the certificate, then order "
               "with \"replaces\" naming it (the target must advertise renewalInfo)");
  cmd.add_option("--devices", a.devices, "device/mix: devices pre-made before the clock starts");
  cmd.add_option("--fault-share", a.fault_share, "mix: share of enrollments with a client fault")
      ->capture_default_str();
  cmd.add_option("--faults", a.faults,
                 "mix: sim::ClientFaults knobs to take in turn (comma-separated)")
      ->delimiter(',');
  cmd.add_option("--rate", a.rate, "Open model: enrollments per second, e.g. 20/s");
  cmd.add_option("--ramp", a.ramp, "Open model: time to reach the rate from 0, e.g. 10s");
  cmd.add_option("--concurrency", a.concurrency, "Closed model: enrollments in flight");
  cmd.add_option("--duration", a.duration, "Measured time, e.g. 20s (default 10s)");
  cmd.add_option("--count", a.count, "Measured enrollments (instead of --duration)");
  cmd.add_option("--warmup", a.warmup, "Time before the measurement starts (run, not counted)");
  cmd.add_option("--workers", a.workers,
                 "Open model: worker threads (default: 4 x rate, 16 to 512)");
  cmd.add_option("--drain", a.drain,
                 "After the schedule ends, how long enrollments in flight may finish")
      ->capture_default_str();
  cmd.add_option("--stall-timeout", a.stall_timeout,
                 "Stop when the target has not answered for this long")
      ->capture_default_str();
  cmd.add_option("--poll-interval", a.poll_interval,
                 "Pause between polls of an authorization or order")
      ->capture_default_str();
  cmd.add_flag("--honor-retry-after", a.honor_retry_after,
               "Wait as long as the target's Retry-After says (default: at most --poll-interval)");
  cmd.add_option("--poll-timeout", a.poll_timeout, "Give up polling after this long")
      ->capture_default_str();
  cmd.add_option("--http-timeout", a.http_timeout, "One HTTP exchange, connect included")
      ->capture_default_str();
  cmd.add_option("--shard", a.shard, "i/n: this generator runs shard i of n of the load");
  cmd.add_option("--threshold", a.thresholds,
                 "Pass/fail criterion, e.g. 'p99<300ms', 'errors<0.1%', 'rate>50/s' (repeatable)");
  cmd.add_option("--report-dir", a.report_dir,
                 "Write result.json (kind load), summary.txt and report.html here");
  cmd.add_option("--jsonl", a.jsonl, "Write one line per request and per enrollment here");
  cmd.add_option("--server-pid", a.server_pid,
                 "The target's process on this machine: its CPU per enrollment");
  cmd.add_flag("--quiet", a.quiet, "No progress on stderr");
}

Result<LoadSettings> check_load_args(const LoadArgs& a) {
  LoadSettings s;
  const int target_kinds =
      (a.targets.empty() ? 0 : 1) + (a.profile.empty() ? 0 : 1) + (a.embedded ? 1 : 0);
  if (target_kinds == 0)
    return bad("name a target: --target URL, --target-profile FILE or --embedded");
  if (a.embedded && target_kinds > 1)
    return bad("--embedded takes no --target or --target-profile");
  if (a.embedded && a.server_pid)
    return bad("--server-pid: the embedded target runs in this process");
  if (a.eab_kid.empty() != a.eab_hmac_key.empty())
    return bad("--eab-kid and --eab-hmac-key go together");
  if (a.profile.empty() && !a.embedded && a.targets.empty()) return bad("name a target");
  if ((!a.http01_listen.empty() || !a.dns01_management.empty() || !a.attestation_ca.empty()) &&
      (a.embedded || !a.profile.empty()))
    return bad("--http01-listen, --dns01-management and --attestation-ca go with --target only");

  load::LoadPlan& plan = s.plan;
  if (!a.rate.empty() && a.concurrency)
    return bad("choose the open model (--rate) or the closed one (--concurrency)");
  if (a.concurrency) {
    plan.model = load::Model::Closed;
    if (*a.concurrency < 1 || *a.concurrency > 10000)
      return bad("--concurrency must be between 1 and 10000");
    plan.concurrency = *a.concurrency;
    if (!a.ramp.empty()) return bad("--ramp belongs to the open model (--rate)");
  } else {
    auto rate = load::parse_rate(a.rate.empty() ? "10/s" : a.rate);
    if (!rate) return bad("--rate " + rate.error().detail);
    plan.rate = *rate;
  }
  if (!a.ramp.empty()) {
    auto ramp = load::parse_duration(a.ramp);
    if (!ramp) return bad("--ramp " + ramp.error().detail);
    plan.ramp_s = ramp->count();
  }
  if (a.count && !a.duration.empty()) return bad("choose --duration or --count");
  if (a.count) {
    if (*a.count < 1) return bad("--count must be at least 1");
    plan.count = *a.count;
  } else {
    auto d = load::parse_duration(a.duration.empty() ? "10s" : a.duration);
    if (!d) return bad("--duration " + d.error().detail);
    if (!(d->count() > 0)) return bad("--duration must be more than 0");
    plan.duration_s = d->count();
  }
  if (!a.warmup.empty()) {
    auto w = load::parse_duration(a.warmup);
    if (!w) return bad("--warmup " + w.error().detail);
    plan.warmup_s = w->count();
  }
  if (!a.shard.empty()) {
    auto shard = load::parse_shard(a.shard);
    if (!shard) return bad(shard.error().detail);
    plan.shard_index = shard->first;
    plan.shard_count = shard->second;
  }
  if (a.workers && (*a.workers < 1 || *a.workers > 4096))
    return bad("--workers must be between 1 and 4096");
  if (a.workers && plan.model == load::Model::Closed)
    return bad("--workers belongs to the open model; use --concurrency");
  const double shard_rate = plan.rate / plan.shard_count;
  s.workers = a.workers.value_or(std::clamp(static_cast<int>(std::ceil(shard_rate * 4)), 16, 512));

  if (a.flow != "mix" && (!a.faults.empty())) return bad("--faults belongs to --flow mix");
  if (!(a.fault_share >= 0 && a.fault_share <= 1))
    return bad("--fault-share must be between 0 and 1");
  if (a.accounts && (*a.accounts < 1 || *a.accounts > 100000))
    return bad("--accounts must be between 1 and 100000");
  if (a.ari && a.flow != "renewal") return bad("--ari belongs to --flow renewal");
  if (a.accounts && a.flow != "plain" && a.flow != "renewal")
    return bad("--accounts belongs to --flow plain or renewal");
  if (!a.challenge.empty() && a.flow != "plain" && a.flow != "renewal")
    return bad(
        "--challenge belongs to --flow plain or renewal (device flows answer device-attest-01)");
  // One device per enrollment when the pool is large enough; a pool that wraps re-enrolls.
  std::uint64_t expected = 0;
  if (plan.model == load::Model::Open) {
    expected = plan.count ? *plan.count
                          : static_cast<std::uint64_t>(std::ceil(plan.rate * plan.duration_s));
    expected += static_cast<std::uint64_t>(std::ceil(plan.rate * plan.warmup_s));
    expected = expected / static_cast<std::uint64_t>(plan.shard_count) + 1;
  } else {
    expected = plan.count.value_or(static_cast<std::uint64_t>(plan.concurrency) * 100);
  }
  s.devices =
      a.devices.value_or(static_cast<std::size_t>(std::clamp<std::uint64_t>(expected, 16, 2000)));
  if (s.devices < 1 || s.devices > 1000000) return bad("--devices must be between 1 and 1000000");

  for (const auto& text : a.thresholds) {
    auto t = load::parse_threshold(text);
    if (!t) return bad(t.error().detail);
    s.thresholds.push_back(*t);
  }
  struct Named {
    const char* option;
    const std::string& text;
    std::chrono::milliseconds& out;
    bool positive;
  };
  for (const Named& d : {Named{"--drain", a.drain, s.drain, false},
                         Named{"--stall-timeout", a.stall_timeout, s.stall_timeout, true},
                         Named{"--poll-interval", a.poll_interval, s.poll_interval, true},
                         Named{"--poll-timeout", a.poll_timeout, s.poll_timeout, true},
                         Named{"--http-timeout", a.http_timeout, s.http_timeout, true}}) {
    auto v = millis(d.option, d.text, d.positive);
    if (!v) return v.error();
    d.out = *v;
  }
  if (a.server_pid && *a.server_pid <= 0) return bad("--server-pid must be a process id");
  return s;
}

}  // namespace attestlab::cli

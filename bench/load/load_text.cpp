#include "bench/load/load_text.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace attestlab::load {
namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string ms(std::uint64_t us) {
  const double v = static_cast<double>(us) / 1000.0;
  return fmt(v < 10 ? "%.2f ms" : v < 1000 ? "%.1f ms" : "%.0f ms", v);
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string percentiles(const Histogram& h) {
  if (h.count() == 0) return "none";
  return "p50 " + ms(h.percentile(50)) + "  p90 " + ms(h.percentile(90)) + "  p99 " +
         ms(h.percentile(99)) + "  p99.9 " + ms(h.percentile(99.9)) + "  max " + ms(h.max());
}

}  // namespace

std::string format_progress(const Progress& p) {
  std::ostringstream out;
  out << fmt("%.1f", p.elapsed_s);
  if (p.end_s) out << "/" << fmt("%.1f", *p.end_s);
  out << " s";
  if (p.warming_up) out << " (warm-up)";
  if (p.draining) out << " (draining)";
  out << "  " << p.completed << " done  " << fmt("%.1f", p.rate) << "/s  p99 "
      << (p.completed ? ms(p.p99_us) : std::string("-")) << "  " << p.failed << " error"
      << (p.failed == 1 ? "" : "s");
  if (p.fault_enrollments) out << "  " << p.fault_enrollments << " fault";
  if (p.end_s && !p.draining) {
    out << "  ETA " << fmt("%.0f", std::max(0.0, *p.end_s - p.elapsed_s)) << " s";
  } else if (p.remaining > 0 && p.rate > 0) {
    out << "  ETA " << fmt("%.0f", static_cast<double>(p.remaining) / p.rate) << " s";
  }
  return out.str();
}

std::string format_summary(const LoadRun& r) {
  std::ostringstream out;
  out << "load: " << r.flow << " flow (" << r.challenge << ") against " << r.target_name;
  if (r.urls.size() > 1) out << " (" << r.urls.size() << " URLs round-robin)";
  out << "\n  model: ";
  if (r.plan.model == Model::Open) {
    out << "open, " << fmt("%g", r.plan.rate) << "/s";
    if (r.plan.ramp_s > 0) out << " after a " << fmt("%g", r.plan.ramp_s) << " s ramp";
  } else {
    out << "closed, concurrency " << r.plan.concurrency;
  }
  if (r.plan.count) {
    out << ", " << *r.plan.count << " enrollments";
  } else {
    out << ", " << fmt("%g", r.plan.duration_s) << " s";
  }
  if (r.plan.warmup_s > 0) out << " after " << fmt("%g", r.plan.warmup_s) << " s warm-up";
  out << ", " << r.workers << " workers";
  if (r.shard_count > 1) {
    out << ", shard";
    for (int s : r.shards) out << " " << s + 1;
    out << " of " << r.shard_count;
  }
  out << "\n";
  out << "  enrollments: " << r.stats.completed << " completed, " << r.stats.failed << " failed, "
      << r.unfinished() << " unfinished of " << r.scheduled << " offered in "
      << fmt("%.1f", r.elapsed_s) << " s: " << fmt("%.2f", r.throughput()) << "/s, errors "
      << fmt("%.2f", r.error_share() * 100) << "%\n";
  if (r.stats.warmup_completed + r.stats.warmup_failed > 0)
    out << "  warm-up (not counted): " << r.stats.warmup_completed << " completed, "
        << r.stats.warmup_failed << " failed\n";
  out << "  latency from intended start: " << percentiles(r.stats.latency) << "\n";
  out << "  service time (from send):    " << percentiles(r.stats.service) << "\n";
  out << "  steps (p50 / p99 / max):\n";
  for (std::size_t i = 0; i < kStepCount; ++i) {
    const Histogram& h = r.stats.steps[i];
    if (h.count() == 0) continue;
    const auto step = static_cast<Step>(i);
    out << "    " << pad(step_name(step), 11) << pad(ms(h.percentile(50)), 10) << "  "
        << pad(ms(h.percentile(99)), 10) << "  " << ms(h.max())
        << (step == Step::Attest ? "   (generator side: the mock Apple CA signs the leaf)" : "")
        << "\n";
  }
  if (r.stats.errors.empty()) {
    out << "  errors: none\n";
  } else {
    out << "  errors (step, type, HTTP status):\n";
    for (const auto& [key, n] : r.stats.errors) {
      out << "    " << n << " x " << key.step << " " << key.type << " (" << key.status << ")";
      auto example = r.stats.error_examples.find(key);
      if (example != r.stats.error_examples.end() && !example->second.empty())
        out << ": " << example->second.substr(0, 120);
      out << "\n";
    }
    std::uint64_t limited = 0;
    for (const auto& [key, n] : r.stats.errors)
      if (key.type == "rateLimited") limited += n;
    if (limited > 0) {
      // A refusal by quota is the target doing its job; the figures then describe the quota.
      out << "    note: " << limited
          << " refused rateLimited: the target's quota, not its capacity, ended them (one client "
             "address, and a new account per enrollment unless --accounts N); give the load a "
             "pool of accounts or raise the target's quota to measure its throughput\n";
    }
  }
  if (!r.stats.faults.empty()) {
    out << "  fault enrollments (not in the figures above):\n";
    for (const auto& [name, f] : r.stats.faults)
      out << "    " << pad(name, 26) << f.started << " sent, " << f.refused << " refused, "
          << f.accepted << " accepted"
          << (f.accepted ? "  <- the target issued despite the fault" : "") << "\n";
  }
  out << "  requests " << r.stats.requests << ", badNonce retries " << r.stats.bad_nonce_retries
      << ", polls " << r.stats.polls << "\n";
  if (r.server_cpu_ms_per_enrollment() || r.generator_cpu_ms_per_enrollment()) {
    out << "  CPU per enrollment:";
    if (auto s = r.server_cpu_ms_per_enrollment()) out << " server " << fmt("%.2f", *s) << " ms";
    if (auto g = r.generator_cpu_ms_per_enrollment())
      out << " generator " << fmt("%.2f", *g) << " ms";
    out << "  (" << r.cpu_note << ")\n";
  }
  if (r.floor) {
    const double floor_ms = r.floor->per_enrollment_ms();
    out << "  crypto floor per enrollment: " << fmt("%.3f", floor_ms) << " ms";
    if (auto s = r.server_cpu_ms_per_enrollment(); s && floor_ms > 0)
      out << " (server CPU " << fmt("%.1f", *s / floor_ms) << "x the floor)";
    const CryptoCounts& c = r.floor->counts;
    const CryptoTimings& t = r.floor->timings;
    out << "\n    " << c.es256_verifies << " x ES256 verify " << fmt("%.1f", t.es256_verify_us)
        << " us";
    if (c.csr_p256_verifies)
      out << ", " << c.csr_p256_verifies << " x P-256 CSR verify "
          << fmt("%.1f", t.csr_p256_verify_us) << " us";
    if (c.p384_leaf_verifies)
      out << ", " << c.p384_leaf_verifies << " x P-384 attestation leaf verify "
          << fmt("%.1f", t.p384_leaf_verify_us) << " us";
    if (c.csr_p384_verifies)
      out << ", " << c.csr_p384_verifies << " x P-384 CSR verify "
          << fmt("%.1f", t.csr_p384_verify_us) << " us";
    out << ", " << c.issue_signs << " x issuance signature " << fmt("%.1f", t.issue_sign_us)
        << " us (raw OpenSSL, this run)\n";
  }
  if (r.target_issued)
    out << "  the target reports " << *r.target_issued << " certificates issued during the run\n";
  if (r.interrupted) out << "  interrupted (Ctrl-C): partial figures\n";
  if (!r.stopped.empty()) out << "  stopped early: " << r.stopped << "\n";
  for (const auto& t : r.thresholds)
    out << "  threshold " << pad(t.expression, 16) << " measured " << pad(t.measured, 10) << " "
        << (t.passed ? "pass" : "FAIL") << "\n";
  return out.str();
}

}  // namespace attestlab::load

// What a running case gets: the target, fresh clients recording into the case's WireLog,
// the harness's http-01 responder and fake DNS, the mock Apple CA, the case's simulated
// devices, and helpers that end the case (CaseAbort) when a precondition fails.
//
// Thread-safety: one CaseContext belongs to one case run on one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_client.h"
#include "client/wire_log.h"
#include "conformance/case.h"
#include "conformance/harness.h"
#include "conformance/target.h"
#include "core/pki.h"
#include "core/result.h"

namespace attestlab::conformance {

std::string describe(const Error& e);

// Ends the case with an error verdict ("precondition failed: what: ...") unless r is ok.
template <class T>
T need(Result<T> r, const std::string& what) {
  if (!r.ok())
    abort_case(Verdict::error("precondition failed: " + what + ": " + describe(r.error())));
  return std::move(r.value());
}
void need(Result<void> r, const std::string& what);
// Ends the case with an error verdict unless condition holds.
void need_that(bool condition, const std::string& what);

class CaseContext {
 public:
  CaseContext(Harness& harness, const Case& c, client::WireLog& log,
              std::chrono::steady_clock::time_point deadline);
  CaseContext(const CaseContext&) = delete;
  CaseContext& operator=(const CaseContext&) = delete;

  const TargetProfile& target() const { return harness_.target(); }
  const Case& current() const { return case_; }
  client::WireLog& wire_log() { return log_; }
  Harness& harness() { return harness_; }
  bool has(const std::string& capability) const { return target().has(capability); }

  // A new client for the target, recording into the case's WireLog (label names the
  // actor in the log, e.g. "attacker"), with poll deadlines inside the case's time.
  std::unique_ptr<client::AcmeClient> client(const std::string& label = "client");
  // A new account with a fresh key (P-256 unless spec says otherwise) on c; EAB is added
  // when the target requires it. Aborts (error) when the target refuses.
  client::Account new_account(client::AcmeClient& c, client::NewAccountRequest request = {},
                              pki::KeySpec spec = pki::KeySpec::p256());
  // A client already using the run's shared account.
  std::unique_ptr<client::AcmeClient> shared_client(const std::string& label = "client");

  // A fresh DNS name under the target's dns_suffix, unique to this run.
  std::string new_domain(const std::string& hint = "c");

  // The harness services; each aborts (error) when the profile lacks it (capability
  // checks normally prevent that).
  Http01Responder& http01();
  const DnsTxtClient& dns();
  const sim::AppleCa& apple_ca();

  // The case's simulated devices (Case::devices), identities stable across runs.
  const sim::DeviceIdentity& identity(std::size_t slot) const;
  // A new Device for the slot (its kind, identity and OS override; healthy posture).
  sim::Device device(std::size_t slot) const;

  std::int64_t now() const;
  std::chrono::milliseconds remaining() const;
  // Sleeps d (bounded by the case deadline).
  void pause(std::chrono::milliseconds d) const;

 private:
  Harness& harness_;
  const Case& case_;
  client::WireLog& log_;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<sim::DeviceIdentity> identities_;
};

}  // namespace attestlab::conformance

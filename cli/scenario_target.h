// attestlab's own ACME server, started in-process as the target of a scenario run
// (`attestlab scenario run --embedded`, `attestlab demo`): a temporary directory with a
// fresh mock Apple attestation CA as the only attestation root, the merged inventory of
// every planned device, and the default policy plus what the scenarios assume. Scenarios
// that must move the server's clock get a private server of their own on a virtual clock
// (clocked_target_factory()).
//
// Only cli/ may start servers: scenarios/ talks to targets over the wire.
// Thread-safety: start() on one thread; target() and the factory may be used from many.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "scenarios/plan.h"
#include "scenarios/target.h"
#include "server/config.h"

namespace attestlab::server {
class AcmeServer;
}

namespace attestlab::cli {

class EmbeddedScenarioTarget {
 public:
  // Writes the attestation root, inventory and policy for `plans` and starts the server.
  // keep_work_dir: leave the temporary directory behind (its path: work_dir()).
  static Result<std::unique_ptr<EmbeddedScenarioTarget>> start(
      const std::vector<scenarios::ScenarioPlan>& plans, bool keep_work_dir = false);
  ~EmbeddedScenarioTarget();
  EmbeddedScenarioTarget(const EmbeddedScenarioTarget&) = delete;
  EmbeddedScenarioTarget& operator=(const EmbeddedScenarioTarget&) = delete;

  const scenarios::Target& target() const { return target_; }
  scenarios::ClockedTargetFactory clocked_target_factory();
  const std::string& work_dir() const { return work_dir_; }

 private:
  EmbeddedScenarioTarget() = default;

  std::string work_dir_;
  bool keep_ = false;
  server::ServerConfig config_;  // the shared server's; clocked servers differ in data_dir
  std::unique_ptr<server::AcmeServer> server_;
  scenarios::Target target_;
  std::atomic<int> clocked_count_{0};
};

// The default policy (server/attest/attest_policy.h) with the assumed members laid over it:
// objects (per-platform floors) merged key by key, everything else replaced. Checked with
// AttestPolicy::from_json, so a bad assumption fails here, naming the member.
Result<Json> policy_with_assumptions(const Json& assumed);

}  // namespace attestlab::cli

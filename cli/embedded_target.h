// attestlab's own ACME server started in-process as the target of a harness run
// (`conform --embedded` / `--embedded-eab`, `scenario run --embedded`, `demo`): one
// builder from options to a running server in a temporary directory of its own (a fresh
// mock Apple attestation CA as the only attestation root, the inventory and policy the
// run needs, optionally EAB keys and the http-01/dns-01 peers) to the description the
// harness takes: a conformance::TargetProfile or a scenarios::Target. Server faults
// switched on beforehand (cli/server_faults_option.h) apply to it.
//
// Only cli/ may start servers: scenarios/ and conformance/ talk to targets over the wire.
// Thread-safety: start() on one thread; the accessors and the clocked factory may be
// used from many. Destroying it stops the server (and the fake DNS) and removes the
// temporary directory unless keep_work_dir.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "client/http01_responder.h"
#include "conformance/local_peers.h"
#include "conformance/target.h"
#include "core/result.h"
#include "scenarios/plan.h"
#include "scenarios/target.h"
#include "server/config.h"
#include "sim/device/apple_ca.h"

namespace attestlab::server {
class AcmeServer;
}

namespace attestlab::cli {

struct EmbeddedTargetOptions {
  std::string name = "embedded";                     // the target's name in reports
  std::string work_dir_prefix = "attestlab-target";  // TMPDIR/PREFIX-XXXXXX
  std::string inventory_json;  // written to WORK/inventory.json; empty = no inventory check
  std::string policy_json;     // written to WORK/policy.json; empty = the default policy
  // Generate EAB credentials (WORK/eab-keys.json): eight key ids, as the server binds a
  // key id to one account; the conformance profile carries them.
  bool eab_keys = false;
  bool eab_required = false;  // the server refuses accounts without a binding
  // Start pebble-challtestsrv as the server's DNS, and the harness's http-01 responder on
  // a port the system picks (the conformance profile hands the running responder on).
  // Without the program there are no http-01/dns-01 challenges (has_challenge_peers()
  // false); that is not an error.
  bool challenge_peers = false;
  bool keep_work_dir = false;
};

// `conform --embedded` (eab_required false) and `--embedded-eab`: the inventory of every
// conformance case's devices, the documented default policy, EAB keys, challenge peers.
EmbeddedTargetOptions conformance_target_options(bool eab_required);
// `load --embedded`: no inventory, the default policy but for the quota of new accounts per
// client IP, raised from 10,000 to 100,000,000 an hour (every enrollment of a load comes from
// one address with a new account, which passes 10,000 within ~15 s on a fast 2-core machine;
// the quota is still checked), challenge peers when the flow validates http-01/dns-01.
EmbeddedTargetOptions load_target_options(bool challenge_peers);
// `scenario run --embedded` and `demo`: the inventory of every planned device and the
// default policy with the scenarios' assumptions. Error("malformed") names a bad or
// conflicting assumption.
Result<EmbeddedTargetOptions> scenario_target_options(
    const std::vector<scenarios::ScenarioPlan>& plans);

class EmbeddedTarget {
 public:
  // Errors name what failed; a server that does not start is "embedded server: why".
  static Result<std::unique_ptr<EmbeddedTarget>> start(EmbeddedTargetOptions options);
  ~EmbeddedTarget();
  EmbeddedTarget(const EmbeddedTarget&) = delete;
  EmbeddedTarget& operator=(const EmbeddedTarget&) = delete;

  const std::string& work_dir() const { return work_dir_; }
  bool keeps_work_dir() const { return options_.keep_work_dir; }
  const std::string& directory_url() const { return directory_url_; }
  bool has_challenge_peers() const { return have_dns_; }
  // Certificates the server issued since it started (its /metrics counter).
  std::uint64_t certificates_issued() const;

  // The server as a conformance target: device-attest-01 with inventory and mock CA,
  // the capabilities the server has, its EAB keys, http-01/dns-01 when the peers run,
  // and short polls (a local target).
  conformance::TargetProfile conformance_profile() const;
  // The server as a scenario target (inventory and policy provided).
  const scenarios::Target& scenario_target() const { return scenario_target_; }
  // Private servers of the same configuration on virtual clocks, for scenarios that
  // move the server's time. Valid while this object lives.
  scenarios::ClockedTargetFactory clocked_target_factory();

 private:
  EmbeddedTarget() = default;

  EmbeddedTargetOptions options_;
  std::string work_dir_;
  std::string directory_url_;
  std::string ca_dir_, inventory_file_, trust_file_;
  conformance::EabCredentials eab_;
  bool have_dns_ = false;
  // Listening before its port goes into the server's config and the profiles, and until
  // this object is destroyed: the port is never free for another process to take.
  std::shared_ptr<client::Http01Responder> http01_;
  conformance::FakeDns dns_;
  server::ServerConfig config_;  // the shared server's; clocked servers differ in data_dir
  std::unique_ptr<server::AcmeServer> server_;
  scenarios::Target scenario_target_;
  std::atomic<int> clocked_count_{0};
};

// The default policy (server/attest/attest_policy.h) with the assumed members laid over
// it: objects (per-platform floors) merged key by key, everything else replaced. Checked
// with AttestPolicy::from_json, so a bad assumption fails here, naming the member.
// Also what `scenario prepare --policy-out` writes for foreign targets.
Result<Json> policy_with_assumptions(const Json& assumed);

}  // namespace attestlab::cli

// The ACME server a scenario run talks to, and what the harness may assume about it.
//
// A scenario states what it needs from its target (Scenario::requirements): that the
// target's inventory lists the devices the run planned ("inventory"), that it applies
// the scenario's assumed policy ("policy"), or that the engine may move the server's
// clock ("server-clock"). A target that does not provide one skips the scenario with a
// reason, never passes it.
//
// Only the CLI knows how a target came to be (the embedded server, a foreign URL); the
// engine sees this description and talks to the directory URL over the wire.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "client/acme_client.h"
#include "core/result.h"
#include "sim/device/apple_ca.h"

namespace attestlab::scenarios {

// A running `attestlab mdm serve` the scenarios' devices enroll in instead of an MDM
// emulator of their own (`scenario run --mdm`).
struct MdmEndpoint {
  std::string base_url;           // https://HOST:PORT/mdm
  std::string trust_ca_pem_file;  // its TLS certificate (mdm serve's DATA_DIR/tls/cert.pem)
  std::string admin_token;        // mdm serve --admin-token, if it has one
};

struct Target {
  std::string name = "target";    // report label: "embedded", a host name, ...
  std::string directory_url;      // https://HOST:PORT/.../directory
  std::string trust_ca_pem_file;  // TLS trust for the target; empty = system store
  // The mock Apple attestation CA the target trusts as attestation root. Devices get
  // their attestations from it and forgery knobs re-sign with it.
  std::shared_ptr<const sim::AppleCa> attestation_ca;
  // External account binding for every ACME account the harness creates (note: real
  // Apple devices cannot do EAB; see scenarios/FORMAT.md).
  std::optional<client::ExternalAccountBinding> eab;
  // Requirement names (scenario.h: inventory, policy) the target provides. server-clock
  // is provided by clocked_target below, not by this set.
  std::set<std::string> capabilities;
  // Why the target cannot enroll attested devices at all (scenarios/preflight.h), e.g. it
  // refuses permanent-identifier orders; every scenario is then skipped with this reason.
  // Empty = it can.
  std::string no_device_attestation;
  // Polls wait at most this long between requests, whatever Retry-After says (a local
  // target need not cost whole seconds a poll). Retry-After itself is still honoured up
  // to this cap.
  std::int64_t max_poll_sleep_ms = 100;
  std::int64_t http_timeout_ms = 10000;
  // Set: scenarios with MDM steps use this running MDM (scenarios/mdm_port.h).
  std::optional<MdmEndpoint> mdm;
};

// A private target for one scenario whose server clock the engine may move (the embedded
// server started on its own virtual clock). Destroying it stops that server.
class ClockedTarget {
 public:
  virtual ~ClockedTarget() = default;
  virtual const Target& target() const = 0;
  // Moves the server's clock forward.
  virtual void advance_clock(std::int64_t seconds) = 0;
};

// Makes one ClockedTarget per scenario that needs "server-clock"; empty function = the
// target cannot offer that (such scenarios are skipped). Called from worker threads.
using ClockedTargetFactory = std::function<Result<std::unique_ptr<ClockedTarget>>()>;

}  // namespace attestlab::scenarios

// The MDM a scenario's devices enroll in, as the scenario steps use it: either the
// scenario's own MDM emulator started in this process (the default), or an `attestlab mdm
// serve` already running somewhere (`scenario run --mdm URL`), driven through its HTTP
// admin API (sim/mdm/mdm_server.h: POST /mdm/admin/devices/{id}/commands, GET
// /mdm/devices/{id}). In both cases the simulated devices speak Apple's check-in and
// command protocol to it over HTTPS.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/result.h"
#include "scenarios/target.h"

namespace attestlab::scenarios {

// What a step reads back about a device after a command.
struct MdmDeviceView {
  std::string verdict = "unknown";     // the MDM's attestation verdict (sim::to_string form)
  std::vector<std::string> reasons;    // why, as the MDM gave them
  std::optional<Bytes> command_nonce;  // the DeviceAttestationNonce of the asked command
};

class MdmPort {
 public:
  virtual ~MdmPort() = default;
  virtual std::string enroll_url() const = 0;
  // PEM file the device agents trust for the MDM's TLS certificate.
  virtual std::string trust_file() const = 0;
  // Queue an InstallProfile carrying `mobileconfig`; the command's UUID.
  virtual Result<std::string> install_profile(const std::string& device_id,
                                              const std::string& mobileconfig) = 0;
  // Queue a DeviceInformation with the MDM's attestation queries: with a fresh random nonce
  // (fresh), with `repeat_nonce`, or with none. The command's UUID.
  virtual Result<std::string> device_information(const std::string& device_id, bool fresh,
                                                 const std::optional<Bytes>& repeat_nonce) = 0;
  // The device as the MDM sees it now; nullopt when the MDM does not know it.
  virtual Result<std::optional<MdmDeviceView>> device(const std::string& device_id,
                                                      const std::string& command_uuid) = 0;
  // Stops an MDM this process started (no-op for a running one).
  virtual void stop() {}
};

// The scenario's own MDM emulator on loopback, on `clock`, trusting `target`'s mock
// attestation root, without blueprint (the steps say what the MDM sends). Its TLS
// certificate is written into `temp_dir`.
Result<std::unique_ptr<MdmPort>> start_local_mdm(const Target& target,
                                                 std::shared_ptr<const Clock> clock,
                                                 const std::string& temp_dir);

// A running `attestlab mdm serve` at endpoint.base_url (https://HOST:PORT/mdm). Checks that
// it answers GET /mdm/devices with JSON first: Err("connection" | "malformed") otherwise.
Result<std::unique_ptr<MdmPort>> connect_running_mdm(const MdmEndpoint& endpoint,
                                                     std::int64_t http_timeout_ms);

}  // namespace attestlab::scenarios

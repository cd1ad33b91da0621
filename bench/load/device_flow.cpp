#include "bench/load/device_flow.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "client/acme_signer.h"
#include "core/clock.h"
#include "core/pki.h"
#include "sim/device/acme_payload.h"
#include "sim/device/apple_format.h"
#include "sim/device/attestation.h"
#include "sim/device/attestation_service.h"
#include "sim/device/client_faults.h"
#include "sim/device/device.h"
#include "sim/device/device_acme.h"
#include "sim/device/device_keychain.h"

namespace attestlab::load {
namespace {

// One pre-made device: what it attests and the key and CSR it enrolls with.
struct PooledDevice {
  std::string serial;
  sim::DeviceFacts facts;
  pki::PrivateKey key;  // the Secure Enclave key (in memory: identical on the wire)
  pki::PublicKey public_key;
  Bytes csr_der;
};

Result<PooledDevice> make_device(sim::FleetGenerator& fleet, const std::string& url) {
  sim::Device device = fleet.device(sim::DeviceKind::IPhone);
  PooledDevice d;
  d.serial = device.identity().serial;
  d.facts = device.attested_facts();
  auto key = pki::PrivateKey::generate(pki::KeySpec::p384());
  if (!key) return key.error();
  d.key = std::move(*key);
  d.public_key = d.key.public_key();
  const sim::AcmePayload payload = sim::AcmePayload::for_attestation(url, d.serial);
  auto csr = pki::build_csr(sim::device_csr_spec(payload, d.serial), d.key);
  if (!csr) return csr.error();
  d.csr_der = csr->to_der();
  return d;
}

class DeviceWorker final : public FlowWorker {
 public:
  DeviceWorker(const FlowTarget& t, const std::vector<PooledDevice>& pool,
               const DeviceFlowOptions& options,
               std::shared_ptr<sim::AppleAttestationServers> apple, std::uint64_t seed,
               client::WireLog* log)
      : target_(t),
        pool_(pool),
        options_(options),
        apple_(std::move(apple)),
        fleet_(seed),
        log_(log),
        clients_(t, log) {}

  EnrollmentOutcome enroll(std::uint64_t k, EnrollmentContext& ctx) override {
    std::uint64_t ordinal = 0;
    if (is_fault_enrollment(k, options_.fault_share, &ordinal))
      return fault_enrollment(k, options_.faults[ordinal % options_.faults.size()], ctx);
    client::AcmeClient& c = clients_.for_enrollment(k);
    const PooledDevice& d = pool_[k % pool_.size()];
    auto dir = directory_and_nonce(c, ctx);
    if (!dir) return step_failed(ctx, dir.error());

    ctx.begin(Step::Account);
    auto account_key = pki::PrivateKey::generate(pki::KeySpec::p256());
    if (!account_key)
      return step_failed(ctx, Error::make(client::kErrorClientUsage, account_key.error().detail));
    client::NewAccountRequest request;
    request.eab = target_.eab;
    auto account = c.new_account(client::make_signer(std::move(*account_key)), request);
    if (!account) return step_failed(ctx, account.error());

    ctx.begin(Step::Order);
    auto order = c.new_order(std::vector<client::Identifier>{{"permanent-identifier", d.serial}});
    if (!order) return step_failed(ctx, order.error());
    if (order->authorizations.empty())
      return step_failed(
          ctx, Error::make(client::kErrorUnexpectedResponse, "the order has no authorizations"));

    ctx.begin(Step::Challenge);
    const std::string authz_url = order->authorizations.front();
    auto authz = c.get_authz(authz_url);
    if (!authz) return step_failed(ctx, authz.error());
    if (authz->status != "valid") {
      const client::Challenge* challenge = authz->find("device-attest-01");
      if (challenge == nullptr)
        return step_failed(ctx, Error::make(client::kErrorUnexpectedResponse,
                                            "the authorization offers no device-attest-01"));
      const std::string challenge_url = challenge->url;
      ctx.begin(Step::Attest);
      auto chain = target_.apple_ca->issue_attestation(
          d.public_key, d.facts, sim::freshness_code(challenge->token), SystemClock().now());
      if (!chain)
        return step_failed(ctx, Error::make(client::kErrorClientUsage, chain.error().detail));
      ctx.begin(Step::Challenge);
      auto answered =
          c.respond_challenge(challenge_url, Json{{"attObj", sim::apple_attobj_b64u(*chain)}});
      if (!answered) return step_failed(ctx, answered.error());
      auto validated = await_validation(c, *answered, authz_url, target_, ctx, clients_.polls());
      if (!validated) return step_failed(ctx, validated.error());
    }
    auto pem = finalize_and_download(c, *order, d.csr_der, target_, ctx, clients_.polls());
    if (!pem) return step_failed(ctx, pem.error());
    ctx.end();
    return {};
  }

  ClientCounters counters() const override { return clients_.counters(); }

 private:
  // A device with one fault on, enrolling through the device's own client (sim::enroll).
  EnrollmentOutcome fault_enrollment(std::uint64_t k, const std::string& fault,
                                     EnrollmentContext& ctx) {
    EnrollmentOutcome out;
    out.fault = fault;
    sim::EnrollOptions options;
    options.client = target_.client;
    const StopSignal& stop = ctx.stop_signal();
    const auto pause = target_.poll_interval;
    options.client.sleep = [&stop, pause](std::chrono::milliseconds d) {
      const auto wait = std::min(d, pause);
      stop.sleep_for(wait);
      return wait;
    };
    options.client.poll_timeout = target_.poll_timeout;
    (void)sim::set_client_fault(options.faults, fault);  // names were checked
    options.wire_log = log_;
    options.apple_ca = target_.apple_ca;
    options.eab = target_.eab;
    sim::Device device = fleet_.device(sim::DeviceKind::IPhone);
    sim::AttestationService attestation(apple_);
    sim::DeviceKeychain keychain;
    const sim::AcmePayload payload = sim::AcmePayload::for_attestation(
        target_.urls[k % target_.urls.size()], device.identity().serial);
    const sim::EnrollmentResult result =
        sim::enroll(device, attestation, keychain, payload, options);
    if (result.ok()) {
      out.kind = EnrollmentOutcome::Kind::FaultAccepted;
    } else if (is_transport_error(*result.error)) {
      out.kind = EnrollmentOutcome::Kind::Failed;  // the target did not answer: its error
      out.step = "fault:" + result.failed_step;
      out.error = *result.error;
    } else {
      out.kind = EnrollmentOutcome::Kind::FaultRefused;
      out.step = result.failed_step;
      out.error = *result.error;
    }
    return out;
  }

  const FlowTarget& target_;
  const std::vector<PooledDevice>& pool_;
  const DeviceFlowOptions& options_;
  std::shared_ptr<sim::AppleAttestationServers> apple_;
  sim::FleetGenerator fleet_;  // fault enrollments' devices
  client::WireLog* log_;
  TargetClients clients_;
};

class DeviceFlow final : public Flow {
 public:
  DeviceFlow(const FlowTarget& t, DeviceFlowOptions options)
      : target_(t),
        options_(std::move(options)),
        apple_(
            std::make_shared<sim::AppleAttestationServers>(t.apple_ca, SystemClock::instance())) {}
  std::string name() const override { return options_.fault_share > 0 ? "mix" : "device"; }
  std::string challenge() const override { return "device-attest-01"; }
  std::unique_ptr<FlowWorker> make_worker(int index, client::WireLog* log) override {
    return std::make_unique<DeviceWorker>(
        target_, pool_, options_, apple_,
        options_.seed * 1000003u + static_cast<std::uint64_t>(index) + 1, log);
  }

  Result<void> make_pool() {
    const std::size_t n = std::max<std::size_t>(1, options_.devices);
    const int threads = std::max(1, std::min<int>(options_.setup_threads, static_cast<int>(n)));
    std::vector<std::optional<PooledDevice>> made(n);
    std::mutex mu;
    std::optional<Error> failure;
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w) {
      workers.emplace_back([&, w] {
        // Each thread its own generator; serials stay unique across threads because the
        // seeds differ and FleetGenerator draws 10 random characters a serial.
        sim::FleetGenerator fleet(options_.seed * 7919u + static_cast<std::uint64_t>(w));
        for (std::size_t i = static_cast<std::size_t>(w); i < n;
             i += static_cast<std::size_t>(threads)) {
          auto d = make_device(fleet, target_.urls.front());
          std::lock_guard lock(mu);
          if (!d) {
            if (!failure) failure = d.error();
            return;
          }
          made[i] = std::move(*d);
        }
      });
    }
    for (auto& t : workers) t.join();
    if (failure) return Error::make(failure->type, "device pool: " + failure->detail);
    for (auto& d : made) pool_.push_back(std::move(*d));
    return ok();
  }

 private:
  const FlowTarget& target_;
  DeviceFlowOptions options_;
  std::shared_ptr<sim::AppleAttestationServers> apple_;
  std::vector<PooledDevice> pool_;
};

}  // namespace

const std::vector<std::string>& default_mix_faults() {
  static const std::vector<std::string> names = {"stale_token",
                                                 "csr_key_swapped",
                                                 "rogue_root_chain",
                                                 "omit_freshness",
                                                 "other_device_identifier",
                                                 "malformed_cbor",
                                                 "wrong_fmt",
                                                 "empty_x5c",
                                                 "expired_attestation",
                                                 "wrong_key_attested",
                                                 "permanent_id_san_mismatch"};
  return names;
}

bool is_fault_enrollment(std::uint64_t k, double share, std::uint64_t* ordinal) {
  if (!(share > 0)) return false;
  const double kd = static_cast<double>(k);
  const auto before = static_cast<std::uint64_t>(std::floor(kd * share));
  const auto after = static_cast<std::uint64_t>(std::floor((kd + 1) * share));
  if (ordinal != nullptr) *ordinal = before;
  return after > before;
}

Result<std::unique_ptr<Flow>> make_device_flow(const FlowTarget& target,
                                               const DeviceFlowOptions& options) {
  if (target.urls.empty()) return Error::make(client::kErrorClientUsage, "no target URL");
  if (!target.apple_ca)
    return Error::make("malformed",
                       "the device flows need the mock Apple attestation CA the target trusts");
  if (!(options.fault_share >= 0 && options.fault_share <= 1))
    return Error::make("malformed", "the fault share must be between 0 and 1");
  DeviceFlowOptions checked = options;
  if (checked.fault_share > 0 && checked.faults.empty()) checked.faults = default_mix_faults();
  for (const auto& name : checked.faults) {
    sim::ClientFaults probe;
    auto known = sim::set_client_fault(probe, name);
    if (!known) return known.error();
  }
  auto flow = std::make_unique<DeviceFlow>(target, std::move(checked));
  ATTESTLAB_TRY(flow->make_pool());
  return std::unique_ptr<Flow>(std::move(flow));
}

}  // namespace attestlab::load

#include "conformance/context.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/bytes.h"
#include "core/clock.h"

namespace attestlab::conformance {

std::string describe(const Error& e) {
  std::string out = e.type;
  if (e.status != 0) out += " (HTTP " + std::to_string(e.status) + ")";
  if (!e.detail.empty()) out += ": " + e.detail;
  return out;
}

void need(Result<void> r, const std::string& what) {
  if (!r.ok())
    abort_case(Verdict::error("precondition failed: " + what + ": " + describe(r.error())));
}

void need_that(bool condition, const std::string& what) {
  if (!condition) abort_case(Verdict::error("precondition failed: " + what));
}

CaseContext::CaseContext(Harness& harness, const Case& c, client::WireLog& log,
                         std::chrono::steady_clock::time_point deadline)
    : harness_(harness),
      case_(c),
      log_(log),
      deadline_(deadline),
      identities_(device_identities(c)) {}

std::unique_ptr<client::AcmeClient> CaseContext::client(const std::string& label) {
  client::AcmeClientOptions options = client_options(target());
  options.log_label = label;
  const auto left = remaining();
  options.poll_timeout = std::max(std::chrono::milliseconds(1000), left);
  options.timeout = std::min(options.timeout, std::max(std::chrono::milliseconds(1000), left));
  return std::make_unique<client::AcmeClient>(target().directory_url, options, &log_);
}

client::Account CaseContext::new_account(client::AcmeClient& c, client::NewAccountRequest request,
                                         pki::KeySpec spec) {
  auto key = need(pki::PrivateKey::generate(spec), "generate an account key");
  if (!request.eab && target().eab && target().eab->required) request.eab = eab_binding(target());
  return need(c.new_account(client::make_signer(key), request), "create an account");
}

std::unique_ptr<client::AcmeClient> CaseContext::shared_client(const std::string& label) {
  auto shared = need(harness_.shared_account(), "create the shared account");
  auto c = client(label);
  c->use_account(shared.first, shared.second);
  return c;
}

std::string CaseContext::new_domain(const std::string& hint) {
  static std::atomic<std::uint64_t> counter{0};
  std::string label;
  for (char ch : hint) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
    label += ok ? ch : '-';
  }
  if (label.size() > 20) label.resize(20);
  while (!label.empty() && label.back() == '-') label.pop_back();
  if (label.empty()) label = "c";
  return label + "-" + hex_encode(random_bytes(4)) + std::to_string(counter++) + "." +
         target().dns_suffix;
}

Http01Responder& CaseContext::http01() {
  Http01Responder* r = harness_.http01();
  need_that(r != nullptr, "the target profile has an http01.listen address");
  return *r;
}

const DnsTxtClient& CaseContext::dns() {
  const DnsTxtClient* d = harness_.dns();
  need_that(d != nullptr, "the target profile has a dns01.challtestsrv_management URL");
  return *d;
}

const sim::AppleCa& CaseContext::apple_ca() {
  const sim::AppleCa* ca = harness_.apple_ca();
  need_that(ca != nullptr, "the target profile has a device.attestation_ca_dir");
  return *ca;
}

const sim::DeviceIdentity& CaseContext::identity(std::size_t slot) const {
  need_that(slot < identities_.size(), "the case declares device slot " + std::to_string(slot));
  return identities_[slot];
}

sim::Device CaseContext::device(std::size_t slot) const {
  const sim::DeviceIdentity& id = identity(slot);
  return sim::Device(case_.devices[slot].kind, id);
}

std::int64_t CaseContext::now() const {
  return SystemClock().now();
}

std::chrono::milliseconds CaseContext::remaining() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline_ - std::chrono::steady_clock::now());
  return std::max(std::chrono::milliseconds(0), left);
}

void CaseContext::pause(std::chrono::milliseconds d) const {
  std::this_thread::sleep_for(std::min(d, remaining()));
}

}  // namespace attestlab::conformance

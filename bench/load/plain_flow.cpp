#include "bench/load/plain_flow.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "client/acme_signer.h"
#include "core/ari_cert_id.h"
#include "core/pki.h"

namespace attestlab::load {
namespace {

// renewal with ARI: the certificate an account renews next. One renewal of an account at a
// time (mu held throughout): each certificate is replaced exactly once (RFC 9773 §5).
struct RenewalChain {
  std::mutex mu;
  std::string certificate_pem;  // leaf first
};

struct PooledAccount {
  std::shared_ptr<const client::JwsSigner> key;
  std::string url;
  std::string name;                     // renewal: the DNS name this account renews
  std::shared_ptr<RenewalChain> chain;  // renewal with ARI only
};

Result<std::shared_ptr<const client::JwsSigner>> new_account_key() {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) return key.error();
  return client::make_signer(std::move(*key));
}

Result<Bytes> csr_for(const std::string& name) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  if (!key) return key.error();
  pki::CsrSpec spec;
  spec.subject = {{"CN", name}};
  spec.sans.dns = {name};
  auto csr = pki::build_csr(spec, *key);
  if (!csr) return csr.error();
  return csr->to_der();
}

client::NewAccountRequest account_request(const FlowTarget& t) {
  client::NewAccountRequest req;
  req.eab = t.eab;
  return req;
}

// Order `name`, validate, finalize, download: the steps after the account; the certificate
// chain (PEM). With `replaces` (an ARI certificate identifier, RFC 9773): first the
// renewalInfo of that certificate (§4), then the order names it (§5); both count as the
// order step.
Result<std::string> order_to_certificate(client::AcmeClient& c, const std::string& name,
                                         const FlowTarget& t, EnrollmentContext& ctx,
                                         std::uint64_t& polls, const std::string& replaces = "") {
  ctx.begin(Step::Order);
  client::NewOrderRequest request;
  request.identifiers = {{"dns", name}};
  if (!replaces.empty()) {
    auto window = c.renewal_info(replaces);
    if (!window) return window.error();
    request.replaces = replaces;
  }
  auto order = c.new_order(request);
  if (!order) return order.error();
  for (const auto& authz : order->authorizations)
    ATTESTLAB_TRY(validate_dns_authz(c, authz, t, ctx, polls));
  auto csr = csr_for(name);
  if (!csr) return Error::make(client::kErrorClientUsage, "CSR: " + csr.error().detail);
  return finalize_and_download(c, *order, *csr, t, ctx, polls);
}

// The ARI identifier of the first certificate in `pem`.
Result<std::string> cert_id_of(const std::string& pem) {
  auto leaf = pki::Certificate::from_pem(pem);
  if (!leaf) {
    return Error::make(client::kErrorClientUsage,
                       "the certificate to renew: " + leaf.error().detail);
  }
  return ari::cert_id(*leaf);
}

class PlainWorker final : public FlowWorker {
 public:
  PlainWorker(const FlowTarget& t, const std::vector<std::vector<PooledAccount>>& pools,
              bool renewal, client::WireLog* log)
      : target_(t), pools_(pools), renewal_(renewal), clients_(t, log) {}

  EnrollmentOutcome enroll(std::uint64_t k, EnrollmentContext& ctx) override {
    client::AcmeClient& c = clients_.for_enrollment(k);
    auto dir = directory_and_nonce(c, ctx);
    if (!dir) return step_failed(ctx, dir.error());
    std::string name;
    std::shared_ptr<RenewalChain> chain;  // renewal with ARI: the certificate it replaces
    const auto& pool = pools_[clients_.url_index(k)];
    if (!pool.empty()) {
      // Enrollment k goes to URL k mod n; its accounts are that URL's pool.
      const PooledAccount& a = pool[(k / pools_.size()) % pool.size()];
      c.use_account(a.key, a.url);
      name = renewal_ ? a.name : "";
      chain = a.chain;
    } else {
      ctx.begin(Step::Account);
      auto key = new_account_key();
      if (!key) return step_failed(ctx, Error::make(client::kErrorClientUsage, key.error().detail));
      auto account = c.new_account(*key, account_request(target_));
      if (!account) return step_failed(ctx, account.error());
    }
    if (name.empty())
      name = "l" + std::to_string(k) + "-" + target_.run_id + "." + target_.dns_suffix;
    std::unique_lock<std::mutex> one_renewal_at_a_time;
    std::string replaces;
    if (chain) {
      one_renewal_at_a_time = std::unique_lock(chain->mu);
      auto id = cert_id_of(chain->certificate_pem);
      if (!id) return step_failed(ctx, id.error());
      replaces = std::move(*id);
    }
    auto pem = order_to_certificate(c, name, target_, ctx, clients_.polls(), replaces);
    if (!pem) return step_failed(ctx, pem.error());
    if (chain) chain->certificate_pem = std::move(*pem);
    ctx.end();
    return {};
  }

  ClientCounters counters() const override { return clients_.counters(); }

 private:
  const FlowTarget& target_;
  const std::vector<std::vector<PooledAccount>>& pools_;
  bool renewal_;
  TargetClients clients_;
};

class PlainFlow final : public Flow {
 public:
  PlainFlow(const FlowTarget& t, bool renewal, bool ari)
      : target_(t), renewal_(renewal), ari_(ari) {
    pools_.resize(t.urls.size());
  }
  std::string name() const override { return renewal_ ? "renewal" : "plain"; }
  std::string challenge() const override { return target_.challenge; }
  std::unique_ptr<FlowWorker> make_worker(int, client::WireLog* log) override {
    return std::make_unique<PlainWorker>(target_, pools_, renewal_, log);
  }

  // Account i lives at URL i mod n (an account URL belongs to the server that made it).
  Result<void> make_pool(int accounts, int threads) {
    const std::size_t n = target_.urls.size();
    std::vector<std::optional<PooledAccount>> made(static_cast<std::size_t>(accounts));
    std::atomic<std::size_t> next{0};
    std::mutex mu;
    std::optional<Error> failure;
    const auto work = [&] {
      TargetClients clients(target_, nullptr);
      StopSignal never;
      for (std::size_t i = next++; i < made.size(); i = next++) {
        {
          std::lock_guard lock(mu);
          if (failure) return;
        }
        auto account = make_account(clients, i, never);
        std::lock_guard lock(mu);
        if (!account) {
          if (!failure) failure = account.error();
          return;
        }
        made[i] = std::move(*account);
      }
    };
    std::vector<std::thread> pool;
    for (int i = 0; i < std::max(1, std::min(threads, accounts)); ++i) pool.emplace_back(work);
    for (auto& t : pool) t.join();
    if (failure) return *failure;
    for (std::size_t i = 0; i < made.size(); ++i) pools_[i % n].push_back(std::move(*made[i]));
    return ok();
  }

 private:
  Result<PooledAccount> make_account(TargetClients& clients, std::size_t i,
                                     const StopSignal& never) {
    client::AcmeClient& c = clients.for_enrollment(i);
    auto key = new_account_key();
    if (!key) return key.error();
    auto account = c.new_account(*key, account_request(target_));
    if (!account)
      return Error::make(
          account.error().type,
          "making pooled account " + std::to_string(i + 1) + ": " + account.error().detail,
          account.error().status);
    PooledAccount a{*key, account->url, "", nullptr};
    if (renewal_) {
      if (ari_) {
        auto dir = c.directory();
        if (!dir) return dir.error();
        if (dir->renewal_info.empty()) {
          return Error::make(client::kErrorClientUsage,
                             "--ari: the target's directory offers no renewalInfo (RFC 9773 §3)");
        }
      }
      a.name = "r" + std::to_string(i) + "-" + target_.run_id + "." + target_.dns_suffix;
      EnrollmentContext ctx(never);
      auto primed = order_to_certificate(c, a.name, target_, ctx, clients.polls());
      if (!primed)
        return Error::make(primed.error().type,
                           "first certificate for " + a.name + ": " + primed.error().detail,
                           primed.error().status);
      if (ari_) {
        a.chain = std::make_shared<RenewalChain>();
        a.chain->certificate_pem = std::move(*primed);
      }
    }
    return a;
  }

  const FlowTarget& target_;
  bool renewal_;
  bool ari_;
  std::vector<std::vector<PooledAccount>> pools_;  // by URL index
};

}  // namespace

Result<std::unique_ptr<Flow>> make_plain_flow(const FlowTarget& target,
                                              const PlainFlowOptions& options) {
  if (target.urls.empty()) return Error::make(client::kErrorClientUsage, "no target URL");
  auto flow = std::make_unique<PlainFlow>(target, options.renewal,
                                          options.renewal && options.ari);
  const int accounts = options.renewal ? std::max(1, options.accounts) : options.accounts;
  if (accounts > 0) ATTESTLAB_TRY(flow->make_pool(accounts, options.setup_threads));
  return std::unique_ptr<Flow>(std::move(flow));
}

}  // namespace attestlab::load

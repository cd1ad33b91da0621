// seed_store: fills a store with N finished enrollments (issue 12's "flat at a million stored
// devices"): per enrollment an account, a valid order for one dns identifier with its valid
// authorization (two challenges) and an issued certificate, written through the Store
// interface (the same code paths and indexes the server uses), so a server started on the
// store afterwards sees them as its own history. Every record has unique ids, thumbprint and
// serial; the certificate chain is one real chain repeated (its size, not its content,
// matters for the store).
//
//   seed_store --store sqlite:DATA_DIR/attestlab.db|postgresql://... --count N [--chain PEM]
//
// Progress (records/s) on stderr every 10,000 enrollments; exit 0, 1 on a store error, 2 on
// bad usage. Loops are bounded by --count.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/bytes.h"
#include "core/jose.h"
#include "core/pki.h"
#include "server/store/store.h"

using namespace attestlab;

namespace {

int usage(const std::string& why) {
  std::cerr << "seed_store: " << why
            << "\nusage: seed_store --store sqlite:PATH|postgresql://... --count N [--chain PEM]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec, chain_file;
  long long count = -1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--store") {
      spec = value();
    } else if (arg == "--count") {
      count = std::atoll(value().c_str());
    } else if (arg == "--chain") {
      chain_file = value();
    } else {
      return usage("unknown argument " + arg);
    }
  }
  if (spec.empty()) return usage("--store is required");
  if (count <= 0 || count > 100'000'000) return usage("--count must be 1..100000000");

  auto store = server::open_store(spec);
  if (!store) {
    std::cerr << "seed_store: " << store.error().detail << "\n";
    return 1;
  }
  // One real key for the JWK shape; thumbprints are unique random values (these accounts
  // never sign anything: they are history).
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  const Json jwk = jose::Jwk(key->public_key()).to_json();
  std::string chain_pem;
  if (!chain_file.empty()) {
    auto read = pki::read_file(chain_file);
    if (!read) return usage("--chain: " + read.error().detail);
    chain_pem = *read;
  } else {
    pki::CertificateSpec spec;
    spec.sans.dns = {"seed.example"};
    spec.not_before = 0;
    spec.not_after = 90 * 86400;
    auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
    if (!cert) {
      std::cerr << "seed_store: " << cert.error().detail << "\n";
      return 1;
    }
    chain_pem = cert->to_pem();
  }

  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  auto fail = [](const char* what, const Error& e) {
    std::cerr << "seed_store: " << what << ": " << e.type << ": " << e.detail << "\n";
    return 1;
  };
  // Ids as the server makes them (sortable_id), their times spread over the last 90 days in
  // order, so the indexes have the shape a server's own history gives them.
  const std::int64_t history_ms = 90LL * 86400 * 1000;
  const std::int64_t first_ms = now * 1000 - history_ms;
  for (long long n = 0; n < count; ++n) {
    const std::int64_t made_ms = first_ms + history_ms * n / count;
    server::Account account;
    account.id = sortable_id(made_ms);
    account.jwk = jwk;
    account.thumbprint = random_token(32);
    account.contact = {"mailto:seed" + std::to_string(n) + "@example.com"};
    account.tos_agreed = true;
    account.created = now;
    if (auto r = (*store)->create_account(account); !r) return fail("account", r.error());

    const server::Identifier name{"dns", "s" + std::to_string(n) + ".seed.example"};
    const std::string order_id = sortable_id(made_ms);
    server::Authorization authz;
    authz.id = order_id + ".0";  // as the server names an order's authorizations
    authz.account_id = account.id;
    authz.identifier = name;
    authz.status = "valid";
    authz.expires = now + 30 * 86400;
    authz.challenges = {{.id = sortable_id(made_ms),
                         .type = "http-01",
                         .status = "valid",
                         .token = random_token(32),
                         .validated = now},
                        {.id = sortable_id(made_ms), .type = "dns-01", .token = random_token(32)}};
    server::Order order;
    order.id = order_id;
    order.account_id = account.id;
    order.status = "valid";
    order.expires = now + 7 * 86400;
    order.identifiers = {name};
    order.authorization_ids = {authz.id};
    order.created = now;
    server::CertificateRecord cert;
    cert.id = sortable_id(made_ms);
    cert.account_id = account.id;
    cert.order_id = order.id;
    cert.serial_hex = hex_encode(pki::new_serial(made_ms));
    cert.chain_pem = chain_pem;
    cert.spki_sha256 = random_token(32);
    cert.issued = cert.not_before = now;
    cert.not_after = now + 90 * 86400;
    order.certificate_id = cert.id;
    if (auto r = (*store)->create_order(order, {authz}); !r) return fail("order", r.error());
    if (auto r = (*store)->put_certificate(cert); !r) return fail("certificate", r.error());

    if ((n + 1) % 10000 == 0 || n + 1 == count) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "seed_store: %lld/%lld enrollments, %.0f/s\n", n + 1, count,
                   static_cast<double>(n + 1) / s);
    }
  }
  return 0;
}

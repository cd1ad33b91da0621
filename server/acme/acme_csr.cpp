#include "server/acme/acme_csr.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "server/acme/acme_syntax.h"
#include "server/faults.h"

namespace attestlab::server {

namespace {

Error bad_csr(std::string detail) {
  return Error::make("badCSR", std::move(detail));
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<void> check_key_policy(const pki::PublicKey& key) {
  auto spec = key.spec();
  bool allowed = (spec.kind == pki::KeyKind::EC && (spec.bits == 256 || spec.bits == 384)) ||
                 (spec.kind == pki::KeyKind::RSA && spec.bits >= 2048 && spec.bits <= 4096);
  if (!allowed) {
    return bad_csr("CSR key type " + spec.name() +
                   " is not accepted (EC P-256, P-384 or RSA 2048-4096)");
  }
  return ok();
}

}  // namespace

Result<pki::Csr> check_finalize_csr(const Bytes& der, const CsrRequirements& req) {
  auto csr = pki::Csr::from_der(der);
  if (!csr) return bad_csr("CSR could not be parsed: " + csr.error().detail);
  if (!csr->verify_signature()) return bad_csr("CSR signature is invalid");
  std::string sigalg = lowercase(csr->signature_algorithm());
  if (sigalg.find("sha1") != std::string::npos || sigalg.find("md5") != std::string::npos) {
    return bad_csr("CSR signature algorithm " + csr->signature_algorithm() + " is not accepted");
  }
  auto key = csr->public_key();
  if (!key.valid()) return bad_csr("CSR has no usable public key");
  ATTESTLAB_TRY(check_key_policy(key));
  if (req.account_key.valid() && key.equals(req.account_key) &&
      !ATTESTLAB_FAULT(accept_csr_with_account_key)) {
    return bad_csr("CSR public key must not be the account key");
  }

  auto sans = csr->subject_alt_names();
  if (!sans) return bad_csr(sans.error().detail);
  if (!sans->email.empty() || !sans->uri.empty() || !sans->upn.empty()) {
    return bad_csr("CSR carries SAN types that are not in the order (email, URI or UPN)");
  }

  std::set<std::string> expected;
  std::set<std::string> identifier_values;
  std::vector<pki::PermanentIdentifier> order_permanent;
  std::vector<pki::HardwareModuleName> order_modules;
  for (const auto& id : req.identifiers) {
    identifier_values.insert(id.value);
    if (id.type == "dns" || id.type == "ip") {
      expected.insert(id.value);
    } else if (id.type == "permanent-identifier") {
      order_permanent.push_back(permanent_identifier_of(id));
      identifier_values.insert(order_permanent.back().value);
    } else if (id.type == "hardware-module") {
      order_modules.push_back(hardware_module_of(id));
      identifier_values.insert(to_string(order_modules.back().serial));
    }
  }

  std::set<std::string> named;
  for (const auto& d : sans->dns) named.insert(lowercase(d));
  for (const auto& ip : sans->ip) {
    auto canonical = canonical_ip(ip);
    named.insert(canonical ? *canonical : ip);
  }
  if (named != expected && !ATTESTLAB_FAULT(skip_csr_identifier_check)) {
    std::string want, got;
    for (const auto& n : expected) want += (want.empty() ? "" : ", ") + n;
    for (const auto& n : named) got += (got.empty() ? "" : ", ") + n;
    return bad_csr("CSR names [" + got + "] do not match the order's identifiers [" + want + "]");
  }
  for (const auto& pid : sans->permanent_ids) {
    if (ATTESTLAB_FAULT(skip_permanent_id_san_check)) break;
    if (std::find(order_permanent.begin(), order_permanent.end(), pid) == order_permanent.end()) {
      return bad_csr("CSR permanentIdentifier \"" + pid.value + "\" does not match the order");
    }
  }
  for (const auto& hw : sans->hardware_modules) {
    if (std::find(order_modules.begin(), order_modules.end(), hw) == order_modules.end()) {
      return bad_csr("CSR hardwareModuleName does not match the order");
    }
  }
  auto cn = csr->common_name();
  if (cn && !ATTESTLAB_FAULT(skip_csr_identifier_check)) {
    std::string value = *cn;
    auto canonical = canonical_ip(value);
    bool known = identifier_values.count(value) > 0 ||
                 identifier_values.count(lowercase(value)) > 0 ||
                 (canonical && identifier_values.count(*canonical) > 0);
    if (!known)
      return bad_csr("CSR common name \"" + value + "\" is not one of the order's identifiers");
  }

  if (!req.attested_spkis.empty() && !ATTESTLAB_FAULT(skip_csr_key_binding)) {
    // Compared as keys, not bytes: the same point may be encoded compressed or not. The
    // CSR's SubjectPublicKeyInfo as it was sent (no re-encoding) equal to the attested one,
    // byte for byte, is the same key without decoding the attested one (OpenSSL 3 decodes
    // a key through its provider decoders, a tenth of a millisecond).
    const Bytes csr_spki = csr->spki_der();
    for (const auto& attested : req.attested_spkis) {
      if (!csr_spki.empty() && attested == csr_spki) continue;
      auto attested_key = pki::PublicKey::from_spki_der(attested);
      if (!attested_key || !attested_key->equals(key)) {
        return bad_csr("CSR public key does not match the attested key");
      }
    }
  }
  return std::move(*csr);
}

}  // namespace attestlab::server

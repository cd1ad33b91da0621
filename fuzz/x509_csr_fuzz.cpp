// X.509 certificates and PKCS#10 CSRs (core/pki.h) and the finalize-time CSR policy
// (server/acme/acme_csr.h): DER and PEM decoding, the SAN extraction with
// permanentIdentifier / hardwareModuleName otherNames, Apple's raw extensions, and
// check_finalize_csr against an order built from the CSR's own SANs (so the fuzzer
// reaches the comparisons, not only the first mismatch). Input: DER or PEM bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/pki.h"
#include "server/acme/acme_csr.h"
#include "server/acme/acme_syntax.h"

using namespace attestlab;

namespace {

void inspect(const pki::Certificate& cert) {
  (void)cert.subject();
  (void)cert.issuer();
  (void)cert.serial_hex();
  (void)cert.not_before();
  (void)cert.not_after();
  (void)cert.subject_alt_names();
  (void)cert.is_ca();
  (void)cert.extended_key_usages();
  (void)cert.extension_value("1.2.840.113635.100.8.9.1");
  (void)cert.spki_der();
  (void)cert.signed_by(cert.public_key());
  (void)cert.to_pem();
}

void check_csr(const Bytes& der, const pki::Csr& csr) {
  (void)csr.verify_signature();
  (void)csr.common_name();
  (void)csr.signature_algorithm();
  (void)csr.public_key_algorithm();
  auto sans = csr.subject_alt_names();
  if (!sans) return;
  server::CsrRequirements req;
  for (const auto& d : sans->dns) req.identifiers.push_back({"dns", d});
  for (const auto& ip : sans->ip) req.identifiers.push_back({"ip", ip});
  for (const auto& p : sans->permanent_ids) {
    std::string value = p.value + (p.assigner ? "/" + *p.assigner : "");
    req.identifiers.push_back({"permanent-identifier", value});
  }
  static const pki::PrivateKey kAccountKey = *pki::PrivateKey::generate(pki::KeySpec::p256());
  req.account_key = kAccountKey.public_key();
  (void)server::check_finalize_csr(der, req);
  for (const auto& id : req.identifiers) {
    if (id.type == "permanent-identifier") (void)server::permanent_identifier_of(id);
  }
  for (const auto& h : sans->hardware_modules) {
    server::Identifier id{"hardware-module", std::string(h.serial.begin(), h.serial.end())};
    (void)server::hardware_module_of(id);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes der(data, data + size);
  if (auto cert = pki::Certificate::from_der(der)) inspect(*cert);
  if (auto csr = pki::Csr::from_der(der)) check_csr(der, *csr);
  std::string text(der.begin(), der.end());
  if (text.find("-----BEGIN") != std::string::npos) {
    if (auto bundle = pki::Certificate::bundle_from_pem(text)) {
      for (const auto& cert : *bundle) inspect(cert);
    }
    if (auto csr = pki::Csr::from_pem(text)) check_csr(csr->to_der(), *csr);
  }
  return 0;
}

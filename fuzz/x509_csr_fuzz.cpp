// X.509 certificates and PKCS#10 CSRs (core/pki.h) and the finalize-time CSR policy
// (server/acme/acme_csr.h): DER and PEM decoding, the SAN extraction with
// permanentIdentifier / hardwareModuleName otherNames, Apple's raw extensions, and
// check_finalize_csr against an order built from the CSR's own SANs (so the fuzzer
// reaches the comparisons, not only the first mismatch). Differential: a certificate parses
// with Certificate::from_der_lean exactly when it parses with from_der and reads the same
// (the same key, or none in both), and pki::verify_issued_by under the Apple fixture's
// intermediate gives OpenSSL's own verdict and reason (verify_chain), else the target
// aborts. Input: DER or PEM bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/clock.h"
#include "core/json.h"
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

// The intermediate of the externally produced Apple vector, and the time it is verified at.
struct Issuer {
  pki::Certificate cert;
  std::int64_t at = 0;
};

const Issuer& fixture_issuer() {
  static const Issuer issuer = [] {
    Issuer out;
    const std::string dir =
        std::string(ATTESTLAB_SOURCE_DIR) + "/fixtures/interop/apple-attestation/";
    auto text = pki::read_file(dir + "attobj.b64u");
    auto expected = pki::read_file(dir + "expected.json");
    if (!text || !expected) std::abort();
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    auto cbor = base64url_decode(*text);
    auto obj = cbor ? parse_cbor(*cbor) : Result<Json>(Error::make("malformed", "base64url"));
    auto meta = parse_json(*expected);
    if (!obj || !meta) std::abort();
    const auto& bin = (*obj)["attStmt"]["x5c"].at(1).get_binary();
    auto cert = pki::Certificate::from_der(Bytes(bin.begin(), bin.end()));
    if (!cert || !parse_rfc3339(meta->at("verify_at").get<std::string>(), out.at)) std::abort();
    out.cert = std::move(*cert);
    return out;
  }();
  return issuer;
}

void check_lean(const Bytes& der, const pki::Certificate* full) {
  auto lean = pki::Certificate::from_der_lean(der);
  if (lean.ok() != (full != nullptr)) std::abort();
  if (!full) return;
  inspect(*lean);
  if (lean->to_der() != full->to_der() || lean->spki_der() != full->spki_der()) std::abort();
  const pki::PublicKey mine = lean->public_key(), openssl = full->public_key();
  if (mine.valid() != openssl.valid() || (mine.valid() && !mine.equals(openssl))) std::abort();
  const Issuer& issuer = fixture_issuer();
  auto reference = pki::verify_chain(*full, {}, {issuer.cert}, issuer.at, pki::Anchors::AsGiven);
  for (const pki::Certificate* leaf : {full, static_cast<const pki::Certificate*>(&*lean)}) {
    auto here = pki::verify_issued_by(*leaf, issuer.cert, issuer.at);
    if (here.ok() != reference.ok()) std::abort();
    if (!here.ok() && here.error().detail != reference.error().detail) std::abort();
  }
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
  auto cert = pki::Certificate::from_der(der);
  if (cert) inspect(*cert);
  check_lean(der, cert ? &*cert : nullptr);
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

// The server's own two-level CA: a root and an intermediate (EC P-256), created once in
// DATA_DIR/ca/ and reused on every later start. Leaves are signed by the intermediate.
// Files: root.pem, root.key, intermediate.pem, intermediate.key (keys 0600) and chain.pem
// (intermediate then root), which clients add to their trust stores. Immutable after
// load, so issue() may be called from any thread concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/pki.h"
#include "core/result.h"

namespace attestlab::server {

struct LeafRequest {
  // The subject key: either a CSR, whose SubjectPublicKeyInfo is copied verbatim (OpenSSL
  // 3 re-encodes a key through its provider encoders and decoders, which costs several
  // times the signature), or a key.
  const pki::Csr* csr = nullptr;
  pki::PublicKey key;
  pki::SubjectAltNames sans;
  std::string common_name;  // empty = no subject CN
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::vector<std::string> extended_key_usages;
};

class IssuingCa {
 public:
  // Loads the CA from dir, or creates it there (and dir) when no CA exists yet. now: the
  // validity start of a new CA. Error("serverInternal") naming the file on I/O or parse
  // failures, or when only part of the CA is present.
  static Result<std::unique_ptr<IssuingCa>> load_or_create(const std::string& dir,
                                                           std::int64_t now);

  // Signs a leaf with the intermediate: v3, random positive 16-byte serial, CA:FALSE,
  // key usage digitalSignature (plus keyEncipherment for rsaEncryption keys: a CSR key by
  // its SPKI algorithm, a LeafRequest::key of any RSA kind), the requested EKUs,
  // subject and authority key ids, and the SANs (critical when there is no subject CN).
  // The leaf as DER with the fields a server stores (pki::IssuedCertificate).
  Result<pki::IssuedCertificate> issue(const LeafRequest& request) const;

  const pki::Certificate& root() const { return root_; }
  const pki::Certificate& intermediate() const { return intermediate_; }
  // PEM of the intermediate: what follows the leaf in a served chain.
  const std::string& intermediate_pem() const { return intermediate_pem_; }
  // intermediate then root, the content of chain.pem.
  const std::string& chain_pem() const { return chain_pem_; }

 private:
  pki::Certificate root_;
  pki::Certificate intermediate_;
  pki::PrivateKey intermediate_key_;
  std::string intermediate_pem_;
  std::string chain_pem_;
};

}  // namespace attestlab::server

// The ACME objects the server stores (RFC 8555 §7.1). Plain values; (de)serialisation to
// the JSON kept in the store is in model.cpp. Times are seconds since epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"

namespace attestlab::server {

struct Identifier {
  std::string type;  // "dns" | "ip" | "permanent-identifier" | "hardware-module"
  std::string value;
  bool operator==(const Identifier&) const = default;
  Json to_json() const { return Json{{"type", type}, {"value", value}}; }
};

struct Account {
  std::string id;
  std::string status = "valid";  // valid | deactivated | revoked
  Json jwk;                      // public JWK (required members)
  std::string thumbprint;        // RFC 7638, unique
  std::vector<std::string> contact;
  bool tos_agreed = false;
  std::string eab_kid;
  std::int64_t created = 0;
};

struct Challenge {
  std::string id;
  std::string type;                // http-01 | dns-01 | device-attest-01
  std::string status = "pending";  // pending | processing | valid | invalid
  std::string token;
  std::int64_t validated = 0;
  Json error;     // problem document or null
  Json evidence;  // device-attest-01: attested facts (key SPKI, serial, ...)
  bool operator==(const Challenge&) const = default;
};

struct Authorization {
  std::string id;
  std::string account_id;
  Identifier identifier;
  std::string status = "pending";  // pending | valid | invalid | deactivated | expired | revoked
  std::int64_t expires = 0;
  bool wildcard = false;
  std::vector<Challenge> challenges;
  bool operator==(const Authorization&) const = default;
};

struct Order {
  std::string id;
  std::string account_id;
  std::string status = "pending";  // pending | ready | processing | valid | invalid
  std::int64_t expires = 0;
  std::vector<Identifier> identifiers;
  std::string not_before;  // as requested (RFC 3339) or empty
  std::string not_after;
  std::vector<std::string> authorization_ids;
  Json error;
  std::string certificate_id;
  std::int64_t created = 0;
  std::int64_t processing_since = 0;  // when a finalize claimed it ("processing"), else 0
  std::string profile;                // draft-ietf-acme-profiles: the profile issuance uses
  std::string replaces;               // RFC 9773 §5: ARI identifier of the predecessor, or empty
  bool operator==(const Order&) const = default;
};

struct CertificateRecord {
  std::string id;
  std::string account_id;
  std::string order_id;
  std::string serial_hex;
  std::string chain_pem;         // leaf first
  std::string spki_sha256;       // base64url SHA-256 of the leaf SPKI (revocation by cert key)
  std::string device_id;         // attested serial/UDID for device certificates, else empty
  std::string status = "valid";  // valid | revoked
  int revocation_reason = -1;
  std::int64_t revoked_at = 0;
  std::int64_t not_after = 0;
  std::int64_t issued = 0;
  std::int64_t not_before = 0;  // 0 in records written before ARI: use `issued`
  // RFC 9773 §5: the order that named this certificate in "replaces", or empty.
  std::string replaced_by;
  bool operator==(const CertificateRecord&) const = default;

  // Marks the record revoked for `reason` (RFC 5280 CRLReason) at `at`.
  void revoke(int reason, std::int64_t at) {
    status = "revoked";
    revocation_reason = reason;
    revoked_at = at;
  }
};

// What a new device certificate supersedes (Store::put_certificate_superseding): the
// certificates still valid under any of `device_ids` (the attested serial and UDID), revoked
// at `revoked_at` with `reason`. No ids: supersedes nothing.
struct Supersede {
  std::vector<std::string> device_ids;
  std::int64_t revoked_at = 0;
  int reason = 4;  // RFC 5280 superseded
};

Json to_json(const Account&);
Json to_json(const Challenge&);
Json to_json(const Authorization&);
Json to_json(const Order&);
Json to_json(const CertificateRecord&);
// What the stores keep: exactly stored_json::dump(to_json(record)) (the text compare-and-set
// compares), written directly.
std::string stored_text(const Account&);
std::string stored_text(const Challenge&);
std::string stored_text(const Authorization&);
std::string stored_text(const Order&);
std::string stored_text(const CertificateRecord&);
Account account_from_json(const Json&);
Challenge challenge_from_json(const Json&);
Authorization authorization_from_json(const Json&);
Order order_from_json(const Json&);
CertificateRecord certificate_from_json(const Json&);

}  // namespace attestlab::server

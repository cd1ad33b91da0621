// JSON form of the stored ACME objects. Member names are the C++ field names. Readers are
// tolerant: a missing member, or one of the wrong type, leaves the field at its default, so
// rows written by an older build (fewer members) still load, and nothing here throws.
#include "server/store/model.h"

#include <limits>

namespace attestlab::server {
namespace {

const Json* member(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

void read(const Json& obj, const char* key, std::string& out) {
  if (const Json* v = member(obj, key); v && v->is_string()) out = v->get_ref<const std::string&>();
}

void read(const Json& obj, const char* key, bool& out) {
  if (const Json* v = member(obj, key); v && v->is_boolean()) out = v->get<bool>();
}

void read(const Json& obj, const char* key, std::int64_t& out) {
  const Json* v = member(obj, key);
  if (!v) return;
  if (v->is_number_unsigned()) {
    auto u = v->get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      out = static_cast<std::int64_t>(u);
    }
  } else if (v->is_number_integer()) {
    out = v->get<std::int64_t>();
  }
}

void read(const Json& obj, const char* key, int& out) {
  std::int64_t wide = out;
  read(obj, key, wide);
  if (wide >= std::numeric_limits<int>::min() && wide <= std::numeric_limits<int>::max()) {
    out = static_cast<int>(wide);
  }
}

// Any JSON value is acceptable for free-form members (jwk, error, evidence).
void read(const Json& obj, const char* key, Json& out) {
  if (const Json* v = member(obj, key)) out = *v;
}

void read(const Json& obj, const char* key, std::vector<std::string>& out) {
  const Json* v = member(obj, key);
  if (!v || !v->is_array()) return;
  out.clear();
  for (const Json& item : *v) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
}

Identifier identifier_from_json(const Json& j) {
  Identifier id;
  read(j, "type", id.type);
  read(j, "value", id.value);
  return id;
}

Json strings_to_json(const std::vector<std::string>& v) {
  Json out = Json::array();
  for (const auto& s : v) out.push_back(s);
  return out;
}

}  // namespace

Json to_json(const Account& a) {
  return Json{{"id", a.id},
              {"status", a.status},
              {"jwk", a.jwk},
              {"thumbprint", a.thumbprint},
              {"contact", strings_to_json(a.contact)},
              {"tos_agreed", a.tos_agreed},
              {"eab_kid", a.eab_kid},
              {"created", a.created}};
}

Json to_json(const Challenge& c) {
  return Json{{"id", c.id},
              {"type", c.type},
              {"status", c.status},
              {"token", c.token},
              {"validated", c.validated},
              {"error", c.error},
              {"evidence", c.evidence}};
}

Json to_json(const Authorization& a) {
  Json challenges = Json::array();
  for (const auto& c : a.challenges) challenges.push_back(to_json(c));
  return Json{{"id", a.id},
              {"account_id", a.account_id},
              {"identifier", a.identifier.to_json()},
              {"status", a.status},
              {"expires", a.expires},
              {"wildcard", a.wildcard},
              {"challenges", std::move(challenges)}};
}

Json to_json(const Order& o) {
  Json identifiers = Json::array();
  for (const auto& i : o.identifiers) identifiers.push_back(i.to_json());
  return Json{{"id", o.id},
              {"account_id", o.account_id},
              {"status", o.status},
              {"expires", o.expires},
              {"identifiers", std::move(identifiers)},
              {"not_before", o.not_before},
              {"not_after", o.not_after},
              {"authorization_ids", strings_to_json(o.authorization_ids)},
              {"error", o.error},
              {"certificate_id", o.certificate_id},
              {"created", o.created}};
}

Json to_json(const CertificateRecord& c) {
  return Json{{"id", c.id},
              {"account_id", c.account_id},
              {"order_id", c.order_id},
              {"serial_hex", c.serial_hex},
              {"chain_pem", c.chain_pem},
              {"spki_sha256", c.spki_sha256},
              {"device_id", c.device_id},
              {"status", c.status},
              {"revocation_reason", c.revocation_reason},
              {"revoked_at", c.revoked_at},
              {"not_after", c.not_after},
              {"issued", c.issued}};
}

Account account_from_json(const Json& j) {
  Account a;
  read(j, "id", a.id);
  read(j, "status", a.status);
  read(j, "jwk", a.jwk);
  read(j, "thumbprint", a.thumbprint);
  read(j, "contact", a.contact);
  read(j, "tos_agreed", a.tos_agreed);
  read(j, "eab_kid", a.eab_kid);
  read(j, "created", a.created);
  return a;
}

Challenge challenge_from_json(const Json& j) {
  Challenge c;
  read(j, "id", c.id);
  read(j, "type", c.type);
  read(j, "status", c.status);
  read(j, "token", c.token);
  read(j, "validated", c.validated);
  read(j, "error", c.error);
  read(j, "evidence", c.evidence);
  return c;
}

Authorization authorization_from_json(const Json& j) {
  Authorization a;
  read(j, "id", a.id);
  read(j, "account_id", a.account_id);
  if (const Json* id = member(j, "identifier")) a.identifier = identifier_from_json(*id);
  read(j, "status", a.status);
  read(j, "expires", a.expires);
  read(j, "wildcard", a.wildcard);
  if (const Json* cs = member(j, "challenges"); cs && cs->is_array()) {
    for (const Json& c : *cs) {
      if (c.is_object()) a.challenges.push_back(challenge_from_json(c));
    }
  }
  return a;
}

Order order_from_json(const Json& j) {
  Order o;
  read(j, "id", o.id);
  read(j, "account_id", o.account_id);
  read(j, "status", o.status);
  read(j, "expires", o.expires);
  if (const Json* ids = member(j, "identifiers"); ids && ids->is_array()) {
    for (const Json& i : *ids) {
      if (i.is_object()) o.identifiers.push_back(identifier_from_json(i));
    }
  }
  read(j, "not_before", o.not_before);
  read(j, "not_after", o.not_after);
  read(j, "authorization_ids", o.authorization_ids);
  read(j, "error", o.error);
  read(j, "certificate_id", o.certificate_id);
  read(j, "created", o.created);
  return o;
}

CertificateRecord certificate_from_json(const Json& j) {
  CertificateRecord c;
  read(j, "id", c.id);
  read(j, "account_id", c.account_id);
  read(j, "order_id", c.order_id);
  read(j, "serial_hex", c.serial_hex);
  read(j, "chain_pem", c.chain_pem);
  read(j, "spki_sha256", c.spki_sha256);
  read(j, "device_id", c.device_id);
  read(j, "status", c.status);
  read(j, "revocation_reason", c.revocation_reason);
  read(j, "revoked_at", c.revoked_at);
  read(j, "not_after", c.not_after);
  read(j, "issued", c.issued);
  return c;
}

}  // namespace attestlab::server

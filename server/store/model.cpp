// JSON form of the stored ACME objects. Member names are the C++ field names. Readers are
// tolerant: a missing member, or one of the wrong type, leaves the field at its default, so
// rows written by an older build (fewer members) still load, and nothing here throws.
#include "server/store/model.h"

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

#include "server/store/stored_json.h"

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

template <class R>
R read_record(const Json& j);

void read(const Json& obj, const char* key, Identifier& out) {
  if (const Json* v = member(obj, key)) out = identifier_from_json(*v);
}

// Arrays of records: the object items are read, anything else is skipped.
template <class T>
void read_records(const Json& obj, const char* key, std::vector<T>& out, T (*from)(const Json&)) {
  if (const Json* v = member(obj, key); v && v->is_array()) {
    for (const Json& item : *v) {
      if (item.is_object()) out.push_back(from(item));
    }
  }
}
void read(const Json& obj, const char* key, std::vector<Identifier>& out) {
  read_records(obj, key, out, identifier_from_json);
}
void read(const Json& obj, const char* key, std::vector<Challenge>& out) {
  read_records(obj, key, out, read_record<Challenge>);
}

template <class T>
Json member_json(const T& field) {
  return Json(field);
}
Json member_json(const Identifier& id) {
  return id.to_json();
}
Json member_json(const Challenge& c) {
  return to_json(c);
}
template <class T>
Json member_json(const std::vector<T>& items) {
  Json out = Json::array();
  for (const auto& item : items) out.push_back(member_json(item));
  return out;
}

// Each record's members are listed once, in its members() overload below: `m(name, field)`
// for each. The record is const for writing and mutable for reading, so one list serves both.
struct Writer {
  Json out = Json::object();
  template <class T>
  void operator()(const char* key, const T& field) {
    out[key] = member_json(field);
  }
};
struct Reader {
  const Json& in;
  template <class T>
  void operator()(const char* key, T& field) const {
    read(in, key, field);
  }
};

template <class A, class M>
requires std::same_as<std::remove_const_t<A>, Account>
void members(A& a, M&& m) {
  m("id", a.id);
  m("status", a.status);
  m("jwk", a.jwk);
  m("thumbprint", a.thumbprint);
  m("contact", a.contact);
  m("tos_agreed", a.tos_agreed);
  m("eab_kid", a.eab_kid);
  m("created", a.created);
}

template <class C, class M>
requires std::same_as<std::remove_const_t<C>, Challenge>
void members(C& c, M&& m) {
  m("id", c.id);
  m("type", c.type);
  m("status", c.status);
  m("token", c.token);
  m("validated", c.validated);
  m("error", c.error);
  m("evidence", c.evidence);
}

template <class A, class M>
requires std::same_as<std::remove_const_t<A>, Authorization>
void members(A& a, M&& m) {
  m("id", a.id);
  m("account_id", a.account_id);
  m("identifier", a.identifier);
  m("status", a.status);
  m("expires", a.expires);
  m("wildcard", a.wildcard);
  m("challenges", a.challenges);
}

template <class O, class M>
requires std::same_as<std::remove_const_t<O>, Order>
void members(O& o, M&& m) {
  m("id", o.id);
  m("account_id", o.account_id);
  m("status", o.status);
  m("expires", o.expires);
  m("identifiers", o.identifiers);
  m("not_before", o.not_before);
  m("not_after", o.not_after);
  m("authorization_ids", o.authorization_ids);
  m("error", o.error);
  m("certificate_id", o.certificate_id);
  m("created", o.created);
  m("processing_since", o.processing_since);
  m("profile", o.profile);
  m("replaces", o.replaces);
}

template <class C, class M>
requires std::same_as<std::remove_const_t<C>, CertificateRecord>
void members(C& c, M&& m) {
  m("id", c.id);
  m("account_id", c.account_id);
  m("order_id", c.order_id);
  m("serial_hex", c.serial_hex);
  m("chain_pem", c.chain_pem);
  m("spki_sha256", c.spki_sha256);
  m("device_id", c.device_id);
  m("status", c.status);
  m("revocation_reason", c.revocation_reason);
  m("revoked_at", c.revoked_at);
  m("not_after", c.not_after);
  m("issued", c.issued);
  m("not_before", c.not_before);
  m("replaced_by", c.replaced_by);
}

// The same text as stored_json::dump(to_json(record)), written without building the tree
// (each stored write wrote one and dumped it): members sorted by name as Json's std::map
// keeps them, strings escaped as Json::dump escapes them, anything not plain ASCII and the
// free-form members (jwk, error, evidence) dumped by Json itself.
class TextWriter {
 public:
  template <class T>
  void operator()(const char* key, const T& field) {
    const std::size_t start = values_.size();
    append(field);
    members_.push_back({key, start, values_.size()});
  }
  std::string finish() && {
    std::sort(members_.begin(), members_.end(),
              [](const Member& a, const Member& b) { return std::strcmp(a.key, b.key) < 0; });
    std::string out;
    out.reserve(values_.size() + members_.size() * 24 + 2);
    out += '{';
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (i > 0) out += ',';
      out += '"';
      out += members_[i].key;
      out += "\":";
      out.append(values_, members_[i].start, members_[i].end - members_[i].start);
    }
    out += '}';
    return out;
  }

 private:
  struct Member {
    const char* key;
    std::size_t start, end;
  };
  // Printable ASCII other than '"' and '\\': written as it is.
  static constexpr std::array<bool, 256> kPlain = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
    return plain;
  }();
  // Runs of characters that need no escape are copied whole (a chain's PEM is ~1.8 kB).
  void append(const std::string& s) {
    const std::size_t start = values_.size();
    values_ += '"';
    std::size_t copied = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (kPlain[c]) continue;
      if (c >= 0x80) {
        values_.resize(start);
        values_ += stored_json::dump(Json(s));
        return;
      }
      values_.append(s, copied, i - copied);
      copied = i + 1;
      switch (c) {
        case '"':
          values_ += "\\\"";
          break;
        case '\\':
          values_ += "\\\\";
          break;
        case '\b':
          values_ += "\\b";
          break;
        case '\f':
          values_ += "\\f";
          break;
        case '\n':
          values_ += "\\n";
          break;
        case '\r':
          values_ += "\\r";
          break;
        case '\t':
          values_ += "\\t";
          break;
        default: {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          values_ += escaped;
        }
      }
    }
    values_.append(s, copied, s.size() - copied);
    values_ += '"';
  }
  void append(bool b) { values_ += b ? "true" : "false"; }
  void append(std::int64_t n) { values_ += std::to_string(n); }
  void append(int n) { values_ += std::to_string(n); }
  void append(const Json& j) { values_ += j.is_null() ? "null" : stored_json::dump(j); }
  void append(const Identifier& id) {
    values_ += "{\"type\":";
    append(id.type);
    values_ += ",\"value\":";
    append(id.value);
    values_ += '}';
  }
  void append(const Challenge& c);
  template <class T>
  void append(const std::vector<T>& items) {
    values_ += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) values_ += ',';
      append(items[i]);
    }
    values_ += ']';
  }

  std::string values_;
  std::vector<Member> members_;
};

template <class R>
std::string text_of(const R& r) {
  TextWriter w;
  members(r, w);
  return std::move(w).finish();
}

void TextWriter::append(const Challenge& c) {
  values_ += text_of(c);
}

template <class R>
R read_record(const Json& j) {
  R r;
  members(r, Reader{j});
  return r;
}

template <class R>
Json written(const R& r) {
  Writer w;
  members(r, w);
  return std::move(w.out);
}

}  // namespace

std::string stored_text(const Account& a) {
  return text_of(a);
}
std::string stored_text(const Challenge& c) {
  return text_of(c);
}
std::string stored_text(const Authorization& a) {
  return text_of(a);
}
std::string stored_text(const Order& o) {
  return text_of(o);
}
std::string stored_text(const CertificateRecord& c) {
  return text_of(c);
}

Json to_json(const Account& a) {
  return written(a);
}
Json to_json(const Challenge& c) {
  return written(c);
}
Json to_json(const Authorization& a) {
  return written(a);
}
Json to_json(const Order& o) {
  return written(o);
}
Json to_json(const CertificateRecord& c) {
  return written(c);
}

Account account_from_json(const Json& j) {
  return read_record<Account>(j);
}
Challenge challenge_from_json(const Json& j) {
  return read_record<Challenge>(j);
}
Authorization authorization_from_json(const Json& j) {
  return read_record<Authorization>(j);
}
Order order_from_json(const Json& j) {
  return read_record<Order>(j);
}
CertificateRecord certificate_from_json(const Json& j) {
  return read_record<CertificateRecord>(j);
}

}  // namespace attestlab::server

#include "sim/device/attestation.h"

#include <utility>

namespace attestlab::sim {
namespace {

Error bad_statement(const std::string& why) {
  return Error::make("badAttestationStatement", "attestation object: " + why);
}

}  // namespace

Json attestation_object_json(const AttestationObject& object) {
  Json x5c = Json::array();
  for (const Bytes& der : object.x5c) x5c.push_back(Json::binary(der));
  return Json{{"fmt", object.fmt}, {"attStmt", Json{{"x5c", std::move(x5c)}}}};
}

Bytes encode_attestation_object(const AttestationObject& object) {
  // ordered_json keeps "fmt" before "attStmt": the order of CTAP2's canonical CBOR
  // (shorter keys first) and of the objects real devices send.
  nlohmann::ordered_json x5c = nlohmann::ordered_json::array();
  for (const Bytes& der : object.x5c) x5c.push_back(nlohmann::ordered_json::binary(der));
  nlohmann::ordered_json statement = nlohmann::ordered_json::object();
  statement["x5c"] = std::move(x5c);
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  root["fmt"] = object.fmt;
  root["attStmt"] = std::move(statement);
  return nlohmann::ordered_json::to_cbor(root);
}

std::string encode_attestation_object_b64u(const AttestationObject& object) {
  return base64url_encode(encode_attestation_object(object));
}

AttestationObject apple_attestation_object(const AttestationChain& chain) {
  return AttestationObject{kAppleFormat, chain.x5c()};
}

std::string apple_attobj_b64u(const AttestationChain& chain) {
  return encode_attestation_object_b64u(apple_attestation_object(chain));
}

Result<AttestationObject> parse_attestation_object(const Bytes& cbor) {
  auto parsed = parse_cbor(cbor);
  if (!parsed) return bad_statement("undecodable CBOR: " + parsed.error().detail);
  const Json& root = *parsed;
  if (!root.is_object()) return bad_statement("not a CBOR map");
  const std::string* fmt = get_string(root, "fmt");
  if (fmt == nullptr) return bad_statement("\"fmt\" missing or not a text string");
  auto statement = root.find("attStmt");
  if (statement == root.end() || !statement->is_object()) {
    return bad_statement("\"attStmt\" missing or not a map");
  }
  auto x5c = statement->find("x5c");
  if (x5c == statement->end() || !x5c->is_array()) {
    return bad_statement("\"attStmt.x5c\" missing or not an array");
  }
  if (x5c->empty()) return bad_statement("\"attStmt.x5c\" is empty");
  AttestationObject out;
  out.fmt = *fmt;
  for (const Json& entry : *x5c) {
    if (!entry.is_binary()) return bad_statement("\"attStmt.x5c\" entry is not a byte string");
    const auto& bin = entry.get_binary();
    out.x5c.emplace_back(bin.begin(), bin.end());
  }
  return out;
}

Result<AttestationObject> parse_attestation_object_b64u(std::string_view text) {
  auto cbor = base64url_decode(text);
  if (!cbor) return Error::make("malformed", "attObj is not base64url: " + cbor.error().detail);
  return parse_attestation_object(*cbor);
}

}  // namespace attestlab::sim

// SubjectAltNames <-> GeneralNames DER, including the otherName forms OpenSSL 3.0 has no
// types for: permanentIdentifier (RFC 4043), hardwareModuleName (RFC 4108) and
// Microsoft's ntPrincipalName (UPN).
#include <arpa/inet.h>

#include "core/der.h"
#include "core/pki_internal.h"
#include "core/utf8.h"

namespace attestlab::pki::detail {
namespace {

// GeneralName CHOICE tags (RFC 5280 §4.2.1.6), all IMPLICIT.
constexpr std::uint8_t kOtherName = der::kContextConstructed | 0;
constexpr std::uint8_t kRfc822Name = der::kContext | 1;
constexpr std::uint8_t kDnsName = der::kContext | 2;
constexpr std::uint8_t kX400Address = der::kContextConstructed | 3;
constexpr std::uint8_t kDirectoryName = der::kContextConstructed | 4;
constexpr std::uint8_t kEdiPartyName = der::kContextConstructed | 5;
constexpr std::uint8_t kUri = der::kContext | 6;
constexpr std::uint8_t kIpAddress = der::kContext | 7;
constexpr std::uint8_t kRegisteredId = der::kContext | 8;

Error malformed(const std::string& what) {
  return Error::make("malformed", what);
}

// IA5String names: printable ASCII only, so that "a.example\0.evil" cannot sneak through.
bool printable_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

Result<Bytes> ia5_name(std::uint8_t tag, const std::string& value, const char* what) {
  if (value.empty() || !printable_ascii(value))
    return malformed(std::string("invalid ") + what + " SAN");
  return der::tlv(tag, value);
}

Result<Bytes> other_name(const char* type_oid, const Bytes& value_tlv) {
  auto oid = der::oid(type_oid);
  if (!oid.ok()) return oid.error();
  Bytes content = *oid;
  der::append(content, der::tlv(der::kContextConstructed | 0, value_tlv));
  return der::tlv(kOtherName, content);
}

Result<Bytes> ip_name(const std::string& text) {
  std::uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1)
    return der::tlv(kIpAddress, std::span<const std::uint8_t>(buf, 4));
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1)
    return der::tlv(kIpAddress, std::span<const std::uint8_t>(buf, 16));
  return malformed("invalid IP address SAN: " + text);
}

Result<std::string> ip_text(std::span<const std::uint8_t> raw) {
  char buf[INET6_ADDRSTRLEN];
  if (raw.size() == 4 && inet_ntop(AF_INET, raw.data(), buf, sizeof buf) != nullptr)
    return std::string(buf);
  if (raw.size() == 16 && inet_ntop(AF_INET6, raw.data(), buf, sizeof buf) != nullptr)
    return std::string(buf);
  return malformed("IP address SAN of length " + std::to_string(raw.size()));
}

Result<std::string> ia5_text(std::span<const std::uint8_t> raw, const char* what) {
  std::string s(raw.begin(), raw.end());
  if (!printable_ascii(s)) return malformed(std::string("non-printable ") + what + " SAN");
  return s;
}

// PermanentIdentifier ::= SEQUENCE { identifierValue UTF8String OPTIONAL,
//                                    assigner OBJECT IDENTIFIER OPTIONAL }
Result<PermanentIdentifier> decode_permanent_identifier(const der::Element& value) {
  if (value.tag != der::kSequence) return malformed("permanentIdentifier is not a SEQUENCE");
  der::Reader r(value.content);
  PermanentIdentifier out;
  if (r.peek_tag() == der::kUtf8String) {
    auto id = r.next();
    if (!id.ok()) return id.error();
    out.value.assign(id->content.begin(), id->content.end());
    if (!is_valid_utf8(out.value)) return malformed("permanentIdentifier value is not UTF-8");
  }
  if (r.peek_tag() == der::kOid) {
    auto assigner = r.next();
    if (!assigner.ok()) return assigner.error();
    auto dotted = der::oid_to_string(assigner->content);
    if (!dotted.ok()) return dotted.error();
    out.assigner = *dotted;
  }
  if (!r.done()) return malformed("unexpected data in permanentIdentifier");
  return out;
}

// HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }
Result<HardwareModuleName> decode_hardware_module_name(const der::Element& value) {
  if (value.tag != der::kSequence) return malformed("hardwareModuleName is not a SEQUENCE");
  der::Reader r(value.content);
  auto type = r.next(der::kOid);
  if (!type.ok()) return type.error();
  auto serial = r.next(der::kOctetString);
  if (!serial.ok()) return serial.error();
  if (!r.done()) return malformed("unexpected data in hardwareModuleName");
  auto dotted = der::oid_to_string(type->content);
  if (!dotted.ok()) return dotted.error();
  return HardwareModuleName{*dotted, Bytes(serial->content.begin(), serial->content.end())};
}

// OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY }
Result<void> decode_other_name(std::span<const std::uint8_t> content, SubjectAltNames& out) {
  der::Reader r(content);
  auto type = r.next(der::kOid);
  if (!type.ok()) return type.error();
  auto wrapper = r.next(der::kContextConstructed | 0);
  if (!wrapper.ok()) return wrapper.error();
  if (!r.done()) return malformed("unexpected data in otherName");
  auto type_oid = der::oid_to_string(type->content);
  if (!type_oid.ok()) return type_oid.error();
  der::Reader inner(wrapper->content);
  auto value = inner.next();
  if (!value.ok()) return value.error();
  if (!inner.done()) return malformed("unexpected data in otherName value");

  if (*type_oid == kOidPermanentIdentifier) {
    auto id = decode_permanent_identifier(*value);
    if (!id.ok()) return id.error();
    out.permanent_ids.push_back(std::move(*id));
  } else if (*type_oid == kOidHardwareModuleName) {
    auto hw = decode_hardware_module_name(*value);
    if (!hw.ok()) return hw.error();
    out.hardware_modules.push_back(std::move(*hw));
  } else if (*type_oid == kOidNtPrincipalName) {
    if (value->tag != der::kUtf8String) return malformed("ntPrincipalName is not a UTF8String");
    std::string upn(value->content.begin(), value->content.end());
    if (!is_valid_utf8(upn)) return malformed("ntPrincipalName is not UTF-8");
    out.upn.push_back(std::move(upn));
  }
  // Other otherName types are legal and simply not represented.
  return ok();
}

}  // namespace

Result<Bytes> encode_general_names(const SubjectAltNames& sans) {
  Bytes names;
  for (const auto& dns : sans.dns) {
    auto n = ia5_name(kDnsName, dns, "DNS");
    if (!n.ok()) return n.error();
    der::append(names, *n);
  }
  for (const auto& ip : sans.ip) {
    auto n = ip_name(ip);
    if (!n.ok()) return n.error();
    der::append(names, *n);
  }
  for (const auto& email : sans.email) {
    auto n = ia5_name(kRfc822Name, email, "email");
    if (!n.ok()) return n.error();
    der::append(names, *n);
  }
  for (const auto& uri : sans.uri) {
    auto n = ia5_name(kUri, uri, "URI");
    if (!n.ok()) return n.error();
    der::append(names, *n);
  }
  for (const auto& upn : sans.upn) {
    auto n = other_name(kOidNtPrincipalName, der::tlv(der::kUtf8String, upn));
    if (!n.ok()) return n.error();
    der::append(names, *n);
  }
  for (const auto& id : sans.permanent_ids) {
    Bytes seq;
    if (!id.value.empty()) der::append(seq, der::tlv(der::kUtf8String, id.value));
    if (id.assigner) {
      auto assigner = der::oid(*id.assigner);
      if (!assigner.ok()) return malformed("invalid permanentIdentifier assigner OID");
      der::append(seq, *assigner);
    }
    auto n = other_name(kOidPermanentIdentifier, der::tlv(der::kSequence, seq));
    if (!n.ok()) return n.error();
    der::append(names, *n);
  }
  for (const auto& hw : sans.hardware_modules) {
    auto type = der::oid(hw.hw_type);
    if (!type.ok()) return malformed("invalid hardwareModuleName hwType OID");
    Bytes seq = *type;
    der::append(seq, der::tlv(der::kOctetString, hw.serial));
    auto n = other_name(kOidHardwareModuleName, der::tlv(der::kSequence, seq));
    if (!n.ok()) return n.error();
    der::append(names, *n);
  }
  return der::tlv(der::kSequence, names);
}

Result<SubjectAltNames> decode_general_names(const Bytes& der_bytes) {
  der::Reader outer(der_bytes);
  auto seq = outer.next(der::kSequence);
  if (!seq.ok()) return seq.error();
  if (!outer.done()) return malformed("trailing data after GeneralNames");
  SubjectAltNames out;
  der::Reader r(seq->content);
  while (!r.done()) {
    auto name = r.next();
    if (!name.ok()) return name.error();
    switch (name->tag) {
      case kOtherName: {
        auto done = decode_other_name(name->content, out);
        if (!done.ok()) return done.error();
        break;
      }
      case kRfc822Name:
      case kDnsName:
      case kUri: {
        const char* what = name->tag == kDnsName ? "DNS" : name->tag == kUri ? "URI" : "email";
        auto text = ia5_text(name->content, what);
        if (!text.ok()) return text.error();
        auto& list = name->tag == kDnsName ? out.dns : name->tag == kUri ? out.uri : out.email;
        list.push_back(std::move(*text));
        break;
      }
      case kIpAddress: {
        auto text = ip_text(name->content);
        if (!text.ok()) return text.error();
        out.ip.push_back(std::move(*text));
        break;
      }
      case kX400Address:
      case kDirectoryName:
      case kEdiPartyName:
      case kRegisteredId:
        break;  // valid, not represented in SubjectAltNames
      default:
        return malformed("unknown GeneralName tag");
    }
  }
  return out;
}

Bytes key_usage_value(bool digital_signature, bool key_encipherment, bool cert_sign) {
  // KeyUsage bits: digitalSignature(0), keyEncipherment(2), keyCertSign(5), cRLSign(6);
  // bit 0 is the most significant bit of the first octet.
  std::uint8_t bits = 0;
  if (digital_signature) bits |= 0x80;
  if (key_encipherment) bits |= 0x20;
  if (cert_sign) bits |= 0x04 | 0x02;
  std::uint8_t unused = 0;
  while (unused < 8 && bits != 0 && (bits & (1u << unused)) == 0) ++unused;
  const std::uint8_t content[2] = {unused, bits};
  return der::tlv(der::kBitString, std::span<const std::uint8_t>(content, bits == 0 ? 1 : 2));
}

Result<Bytes> extended_key_usage_value(const std::vector<std::string>& oids) {
  Bytes content;
  for (const auto& o : oids) {
    auto encoded = der::oid(o);
    if (!encoded.ok()) return malformed("invalid extended key usage OID: " + o);
    der::append(content, *encoded);
  }
  return der::tlv(der::kSequence, content);
}

}  // namespace attestlab::pki::detail

namespace attestlab::pki {

bool SubjectAltNames::empty() const {
  return dns.empty() && ip.empty() && email.empty() && uri.empty() && upn.empty() &&
         permanent_ids.empty() && hardware_modules.empty();
}

}  // namespace attestlab::pki

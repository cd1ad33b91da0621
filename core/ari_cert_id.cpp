#include "core/ari_cert_id.h"

#include <openssl/x509v3.h>

#include "core/ossl.h"

namespace attestlab::ari {

Result<std::string> cert_id(const pki::Certificate& certificate) {
  if (!certificate.valid()) return Error::make("malformed", "no certificate");
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(certificate.get());
  if (aki == nullptr || ASN1_STRING_length(aki) <= 0) {
    return Error::make("malformed", "the certificate has no authority key identifier");
  }
  const unsigned char* aki_data = ASN1_STRING_get0_data(aki);
  Bytes key_id(aki_data, aki_data + ASN1_STRING_length(aki));

  const ASN1_INTEGER* serial = X509_get0_serialNumber(certificate.get());
  unsigned char* der = nullptr;
  int length = i2d_ASN1_INTEGER(serial, &der);
  if (length <= 2 || der == nullptr) {
    OPENSSL_free(der);
    return Error::make("malformed", "the certificate's serial number does not encode");
  }
  Bytes encoded(der, der + length);
  OPENSSL_free(der);
  // Strip tag and (short or long form) length.
  std::size_t header = 2;
  if (encoded[1] & 0x80) header += encoded[1] & 0x7f;
  if (header >= encoded.size()) return Error::make("malformed", "serial number encoding");
  Bytes content(encoded.begin() + static_cast<std::ptrdiff_t>(header), encoded.end());
  return base64url_encode(key_id) + "." + base64url_encode(content);
}

Result<CertId> parse_cert_id(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos || text.find('.', dot + 1) != std::string_view::npos) {
    return Error::make("malformed",
                       "a certificate identifier is two base64url parts joined by \".\"");
  }
  auto key_id = base64url_decode(text.substr(0, dot));
  auto serial = base64url_decode(text.substr(dot + 1));
  if (!key_id || !serial || key_id->empty() || serial->empty()) {
    return Error::make("malformed", "a certificate identifier part is not non-empty base64url");
  }
  if ((*serial)[0] & 0x80) return Error::make("malformed", "the serial number is negative");
  if (serial->size() > 1 && (*serial)[0] == 0 && !((*serial)[1] & 0x80)) {
    return Error::make("malformed", "the serial number is not minimally encoded");
  }
  return CertId{std::move(*key_id), std::move(*serial)};
}

std::string serial_hex(const CertId& id) {
  std::string hex = hex_encode(id.serial);
  auto first = hex.find_first_not_of('0');
  return first == std::string::npos ? "0" : hex.substr(first);
}

}  // namespace attestlab::ari

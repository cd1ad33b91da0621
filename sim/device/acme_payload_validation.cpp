// The checks a device makes on an ACMECertificate payload before any network request.
#include <set>

#include "core/http.h"
#include "sim/device/acme_payload.h"

namespace attestlab::sim {
namespace {

using Severity = PayloadProblem::Severity;

bool is_dotted_oid(std::string_view s) {
  if (s.empty()) return false;
  int arcs = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    const std::string_view arc =
        s.substr(start, dot == std::string_view::npos ? s.size() - start : dot - start);
    if (arc.empty()) return false;
    for (char c : arc)
      if (c < '0' || c > '9') return false;
    if (arc.size() > 1 && arc.front() == '0') return false;
    ++arcs;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return arcs >= 2;
}

bool is_printable_token(std::string_view s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

std::vector<PayloadProblem> validate_as_device(const AcmePayload& p) {
  std::vector<PayloadProblem> out = p.parse_problems;
  auto error = [&](std::string code, std::string key, std::string message) {
    out.push_back({std::move(code), std::move(key), std::move(message), Severity::Error});
  };
  auto warning = [&](std::string code, std::string key, std::string message) {
    out.push_back({std::move(code), std::move(key), std::move(message), Severity::Warning});
  };
  // A key that failed to parse is reported once (wrong_type), not again as missing.
  std::set<std::string> mistyped;
  for (const auto& problem : p.parse_problems) mistyped.insert(problem.key);
  auto missing = [&](const std::string& key) { return mistyped.count(key) == 0; };

  // Common payload keys.
  if (!p.payload_type) {
    if (missing("PayloadType"))
      error("missing_payload_type", "PayloadType",
            "PayloadType is required (com.apple.security.acme)");
  } else if (*p.payload_type != kAcmePayloadType) {
    error("wrong_payload_type", "PayloadType",
          "PayloadType is \"" + *p.payload_type + "\", not com.apple.security.acme");
  }
  if (!p.payload_uuid || p.payload_uuid->empty()) {
    if (missing("PayloadUUID"))
      error("missing_payload_uuid", "PayloadUUID",
            "PayloadUUID is required: other payloads reference the identity by it");
  }
  if (!p.payload_identifier || p.payload_identifier->empty()) {
    if (missing("PayloadIdentifier"))
      error("missing_payload_identifier", "PayloadIdentifier", "PayloadIdentifier is required");
  }
  if (!p.payload_version) {
    if (missing("PayloadVersion"))
      error("missing_payload_version", "PayloadVersion", "PayloadVersion is required (1)");
  } else if (*p.payload_version != 1) {
    warning("payload_version_not_1", "PayloadVersion",
            "PayloadVersion is " + std::to_string(*p.payload_version) + "; Apple defines only 1");
  }

  // Where to enroll and as whom.
  if (!p.directory_url) {
    if (missing("DirectoryURL"))
      error("missing_directory_url", "DirectoryURL", "DirectoryURL is required");
  } else {
    auto url = http::Url::parse(*p.directory_url);
    if (!url || url->host.empty()) {
      error("invalid_directory_url", "DirectoryURL",
            "DirectoryURL \"" + *p.directory_url + "\" is not a URL");
    } else if (url->scheme != "https") {
      error("directory_url_not_https", "DirectoryURL",
            "DirectoryURL must use https; a device never talks ACME over " + url->scheme);
    }
  }
  if (!p.client_identifier) {
    if (missing("ClientIdentifier"))
      error("missing_client_identifier", "ClientIdentifier",
            "ClientIdentifier is required: it becomes the order's permanent-identifier");
  } else if (p.client_identifier->empty()) {
    error("empty_client_identifier", "ClientIdentifier", "ClientIdentifier is empty");
  } else {
    const std::string& id = *p.client_identifier;
    const std::size_t slash = id.find('/');
    const std::string device_part = id.substr(0, slash);
    if (device_part.empty() || !is_printable_token(device_part) ||
        (slash != std::string::npos && !is_dotted_oid(std::string_view(id).substr(slash + 1)))) {
      warning("client_identifier_not_permanent_identifier", "ClientIdentifier",
              "ClientIdentifier \"" + id +
                  "\" is not device-part [\"/\" assigner-OID] without "
                  "spaces (draft-ietf-acme-device-attest §3.1); servers refuse it as malformed");
    } else if (id.find('$') != std::string::npos) {
      warning("client_identifier_not_permanent_identifier", "ClientIdentifier",
              "ClientIdentifier \"" + id + "\" looks like an unsubstituted MDM variable");
    }
  }

  // The key.
  const bool rsa = p.is_rsa();
  const bool ec = p.key_type && *p.key_type == kAcmeKeyTypeEc;
  if (!p.key_type) {
    if (missing("KeyType"))
      error("missing_key_type", "KeyType", "KeyType is required (RSA or ECSECPrimeRandom)");
  } else if (!rsa && !ec) {
    error("unsupported_key_type", "KeyType",
          "KeyType \"" + *p.key_type + "\" is neither RSA nor ECSECPrimeRandom");
  }
  if (!p.hardware_bound && missing("HardwareBound")) {
    error("missing_hardware_bound", "HardwareBound", "HardwareBound is required");
  }
  const bool hw = p.is_hardware_bound();
  if (!p.key_size) {
    if (missing("KeySize")) error("missing_key_size", "KeySize", "KeySize is required");
  } else {
    const std::int64_t size = *p.key_size;
    if (hw && ec) {
      if (size != 256 && size != 384) {
        error("hardware_bound_key_size", "KeySize",
              "a hardware-bound ECSECPrimeRandom key must be 256 or 384 bits, not " +
                  std::to_string(size));
      }
    } else if (ec) {
      if (size != 256 && size != 384 && size != 521) {
        error("unsupported_key_size", "KeySize",
              "ECSECPrimeRandom keys are 256, 384 or 521 bits, not " + std::to_string(size));
      }
    } else if (rsa) {
      if (size < 1024 || size > 4096 || size % 8 != 0) {
        error("unsupported_key_size", "KeySize",
              "RSA keys are 1024 to 4096 bits (a multiple of 8), not " + std::to_string(size));
      } else if (size < 2048) {
        warning("rsa_key_size_small", "KeySize",
                "RSA-" + std::to_string(size) +
                    " keys are refused by most ACME servers (2048 or more)");
      }
    }
  }
  if (hw && rsa) {
    error("hardware_bound_requires_ec", "HardwareBound",
          "HardwareBound keys live in the Secure Enclave, which makes only ECSECPrimeRandom keys; "
          "KeyType is RSA");
  }
  if (p.attests() && !hw) {
    error("attest_requires_hardware_bound", "Attest",
          "Attest needs HardwareBound: only a Secure Enclave key can be attested");
  }
  if (p.attests() && rsa) {
    error("attest_with_rsa", "Attest", "Attest is not possible with an RSA key");
  }
  if (hw && p.key_is_extractable.value_or(false)) {
    warning("extractable_hardware_bound_key", "KeyIsExtractable",
            "a hardware-bound key can never be exported; KeyIsExtractable true has no effect");
  }

  // What the certificate should say.
  if (!p.subject) {
    if (missing("Subject"))
      error("missing_subject", "Subject", "Subject is required (an empty array is allowed)");
  } else {
    static const std::set<std::string> short_names = {"C", "L", "ST", "O", "OU", "CN"};
    for (const auto& rdn : *p.subject) {
      for (const auto& [name, value] : rdn) {
        if (short_names.count(name) == 0 && !is_dotted_oid(name)) {
          error(
              "unknown_subject_attribute", "Subject",
              "Subject attribute \"" + name + "\" is neither C, L, ST, O, OU, CN nor a dotted OID");
        }
        if (value.empty()) {
          error("empty_subject_value", "Subject",
                "Subject attribute " + name + " has an empty value");
        }
      }
    }
  }
  if (p.usage_flags) {
    const std::int64_t flags = *p.usage_flags;
    if (flags < 0) {
      error("invalid_usage_flags", "UsageFlags", "UsageFlags is negative");
    } else if ((flags & ~(kAcmeUsageSign | kAcmeUsageEncrypt)) != 0) {
      warning("unknown_usage_flags", "UsageFlags",
              "UsageFlags " + std::to_string(flags) +
                  " sets bits other than 1 (sign) and 4 (encrypt); they are ignored");
    }
  }
  if (p.extended_key_usage) {
    for (const auto& oid : *p.extended_key_usage) {
      if (!is_dotted_oid(oid)) {
        error("invalid_eku_oid", "ExtendedKeyUsage",
              "ExtendedKeyUsage entry \"" + oid + "\" is not a dotted OID");
      }
    }
  }
  for (const auto& key : p.unknown_keys) {
    warning("unknown_key", key, "unknown key " + key + " is ignored by devices");
  }
  return out;
}

bool device_refuses(const std::vector<PayloadProblem>& problems) {
  for (const auto& p : problems)
    if (p.severity == Severity::Error) return true;
  return false;
}

const char* to_string(PayloadProblem::Severity severity) {
  return severity == Severity::Error ? "error" : "warning";
}

std::string describe(const PayloadProblem& problem) {
  std::string line = std::string(to_string(problem.severity)) + " " + problem.code;
  if (!problem.key.empty()) line += " (" + problem.key + ")";
  return line + ": " + problem.message;
}

}  // namespace attestlab::sim

#include "client/pem_chain.h"

#include <string>

#include "client/acme_types.h"
#include "core/pki.h"
#include "core/utf8.h"

namespace attestlab::client {
namespace {

constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
constexpr std::size_t kFullLine = 64;  // RFC 7468 §3 base64fullline

struct Line {
  std::string_view text;   // without its eol
  bool terminated = true;  // an eol (CRLF, CR or LF) follows it
};

// Splits at CRLF, CR or LF; a last line without an eol is kept with terminated = false
// (an empty remainder after the last eol is no line).
std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      lines.push_back({text.substr(start), false});
      break;
    }
    lines.push_back({text.substr(start, end - start), true});
    start = end + (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1);
  }
  return lines;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// The line quoted for an error detail: at most 40 characters, valid UTF-8.
std::string quote(std::string_view line) {
  return "\"" + utf8_excerpt(line, 40) + "\"";
}

Error chain_error(std::size_t line_no, const std::string& what) {
  return Error::make(kErrorUnexpectedResponse,
                     "certificate chain is not strict RFC 7468 text (RFC 8555 §9.1): line " +
                         std::to_string(line_no) + ": " + what);
}

// Why `line` is not a strictbase64text line at this point, or "" when it is one. `last`:
// it is followed by the END line.
std::string base64_line_problem(std::string_view line, bool last) {
  if (line.empty()) return "an empty line inside the block";
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (is_base64_char(c)) continue;
    if (c == '=' && last && i + 2 >= line.size() && line.back() == '=') continue;
    return "character " + quote(std::string_view(&line[i], 1)) + " at column " +
           std::to_string(i + 1) + " is not base64 of the strict encoding";
  }
  if (line.size() > kFullLine) {
    return std::to_string(line.size()) + " base64 characters, more than 64";
  }
  if (!last && line.size() != kFullLine) {
    return std::to_string(line.size()) +
           " base64 characters before the last line (the strict encoding has 64)";
  }
  if (line.size() % 4 != 0) {
    return std::to_string(line.size()) + " base64 characters, not a multiple of 4 (truncated?)";
  }
  return "";
}

}  // namespace

Result<std::vector<Bytes>> parse_pem_certificate_chain(std::string_view text) {
  const std::vector<Line> lines = split_lines(text);
  if (lines.empty()) {
    return Error::make(kErrorUnexpectedResponse,
                       "certificate chain is empty (RFC 8555 §9.1: one or more certificates)");
  }
  std::vector<Bytes> certificates;
  std::size_t i = 0;
  while (i < lines.size()) {
    const std::size_t block = certificates.size() + 1;
    // At most one empty line between two blocks (§9.1's eol, which erratum 5983 drops).
    if (block > 1 && lines[i].text.empty() && i + 1 < lines.size()) ++i;
    const Line& begin = lines[i];
    if (begin.text != kBegin) {
      if (begin.text.starts_with("-----BEGIN ")) {
        return chain_error(i + 1, "block " + std::to_string(block) + " begins " +
                                      quote(begin.text) + ", not " + std::string(kBegin));
      }
      const std::string where =
          block == 1 ? "before the first block" : "after block " + std::to_string(block - 1);
      if (begin.text.empty()) return chain_error(i + 1, "an empty line " + where);
      return chain_error(i + 1, "explanatory text " + where + ": " + quote(begin.text) +
                                    " (the file MUST NOT include explanatory text)");
    }
    if (!begin.terminated) return chain_error(i + 1, "the BEGIN line has no line break");
    std::string base64;
    std::size_t end = i + 1;
    while (end < lines.size() && lines[end].text != kEnd) {
      if (lines[end].text.starts_with("-----BEGIN ")) {
        return chain_error(end + 1, "block " + std::to_string(block) +
                                        " is truncated: a BEGIN line before its END line");
      }
      if (lines[end].text.starts_with("-----")) {
        return chain_error(end + 1, "block " + std::to_string(block) + " ends with " +
                                        quote(lines[end].text) + ", not " + std::string(kEnd));
      }
      ++end;
    }
    if (end == lines.size()) {
      return chain_error(lines.size(), "block " + std::to_string(block) + " is truncated: no " +
                                           std::string(kEnd) + " line");
    }
    if (end == i + 1) return chain_error(end + 1, "block " + std::to_string(block) + " is empty");
    for (std::size_t k = i + 1; k < end; ++k) {
      const std::string problem = base64_line_problem(lines[k].text, k + 1 == end);
      if (!problem.empty()) return chain_error(k + 1, problem);
      base64 += lines[k].text;
    }
    if (!lines[end].terminated) {
      return chain_error(end + 1, "the END line of block " + std::to_string(block) +
                                      " has no line break after it");
    }
    auto der = base64_decode(base64);
    if (!der.ok()) {
      return chain_error(end, "block " + std::to_string(block) + ": " + der.error().detail);
    }
    // Parsed as d2i_X509 parses it, without OpenSSL 3.0's provider decoders for the key
    // (a decoder context built per certificate: ~70 % of a download's CPU in `load`).
    if (auto cert = pki::Certificate::from_der_lean(*der); !cert.ok()) {
      return chain_error(i + 1, "block " + std::to_string(block) +
                                    " is not a DER X.509 certificate: " + cert.error().detail);
    }
    certificates.push_back(std::move(*der));
    i = end + 1;
  }
  return certificates;
}

}  // namespace attestlab::client

// Request/Response accessors and URL parsing: plain string work, no Boost.
#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "core/ascii.h"
#include "core/http.h"

namespace attestlab::http {
namespace {

bool is_ipv6_literal(const std::string& host) {
  unsigned char out[16];
  return inet_pton(AF_INET6, host.c_str(), out) == 1;
}

// reg-name characters we accept in a host (RFC 3986 unreserved; no percent-encoding).
bool is_reg_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Characters that may appear in a request-target as sent on the wire.
bool is_target_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

Error malformed(std::string detail) {
  return Error::make("malformed", std::move(detail));
}

}  // namespace

std::optional<std::string> Request::header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::string Request::host() const {
  return header("host").value_or("");
}

std::optional<std::string> Response::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (ascii_iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Response::all(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (ascii_iequals(n, name)) out.push_back(v);
  }
  return out;
}

void Response::set(const std::string& name, std::string value) {
  std::erase_if(headers, [&](const auto& h) { return ascii_iequals(h.first, name); });
  headers.emplace_back(name, std::move(value));
}

void Response::add(const std::string& name, std::string value) {
  headers.emplace_back(name, std::move(value));
}

void Response::remove(const std::string& name) {
  std::erase_if(headers, [&](const auto& h) { return ascii_iequals(h.first, name); });
}

void LaterResponse::finish(Edit edit) {
  std::function<void(Edit)> deliver;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    if (!deliver_) {
      edit_ = std::move(edit);
      return;
    }
    deliver = std::move(deliver_);
    deliver_ = nullptr;
  }
  deliver(std::move(edit));
}

void LaterResponse::on_finish(std::function<void(Edit)> deliver) {
  Edit edit;
  {
    std::lock_guard lock(mu_);
    if (!finished_) {
      deliver_ = std::move(deliver);
      return;
    }
    edit = std::move(edit_);
    edit_ = nullptr;
  }
  deliver(std::move(edit));
}

Result<Url> Url::parse(const std::string& url) {
  Url out;
  auto sep = url.find("://");
  if (sep == std::string::npos) return malformed("URL without scheme: " + url);
  out.scheme = url.substr(0, sep);
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(), ascii_lower);
  std::uint16_t default_port;
  if (out.scheme == "http") {
    default_port = 80;
  } else if (out.scheme == "https") {
    default_port = 443;
  } else {
    return malformed("unsupported URL scheme: " + out.scheme);
  }

  std::size_t authority_begin = sep + 3;
  std::size_t authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string::npos) authority_end = url.size();
  std::string_view authority(url.data() + authority_begin, authority_end - authority_begin);
  if (authority.find('@') != std::string_view::npos) {
    return malformed("URL with user info is not supported");
  }

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return malformed("unterminated IPv6 literal in URL");
    out.host = std::string(authority.substr(1, close - 1));
    if (!is_ipv6_literal(out.host)) return malformed("invalid IPv6 literal in URL: " + out.host);
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return malformed("garbage after IPv6 literal in URL");
      has_port = true;
      port_text = rest.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    std::string_view host_text = authority;
    if (colon != std::string_view::npos) {
      host_text = authority.substr(0, colon);
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (host_text.empty()) return malformed("URL without host");
    if (!std::all_of(host_text.begin(), host_text.end(), is_reg_name_char)) {
      return malformed("invalid host in URL: " + std::string(host_text));
    }
    out.host.assign(host_text);
  }
  std::transform(out.host.begin(), out.host.end(), out.host.begin(), ascii_lower);

  out.port = default_port;
  if (has_port && !port_text.empty()) {
    if (port_text.size() > 5) return malformed("invalid port in URL");
    unsigned long value = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return malformed("invalid port in URL");
      value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (value == 0 || value > 65535) return malformed("port out of range in URL");
    out.port = static_cast<std::uint16_t>(value);
  }

  std::string_view rest(url.data() + authority_end, url.size() - authority_end);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  if (!std::all_of(rest.begin(), rest.end(), is_target_char)) {
    return malformed("invalid character in URL path");
  }
  if (rest.empty() || rest.front() == '?') out.target = "/";
  out.target.append(rest);
  return out;
}

std::string Url::origin() const {
  std::string out = scheme + "://";
  if (host.find(':') != std::string::npos) {
    out += '[' + host + ']';
  } else {
    out += host;
  }
  bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (!default_port) out += ':' + std::to_string(port);
  return out;
}

}  // namespace attestlab::http

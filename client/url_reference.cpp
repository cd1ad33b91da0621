// RFC 3986 §5.2 written out (about 80 lines) rather than taken from a library: Boost 1.74
// has no Boost.URL and neither liburiparser nor libcurl's URL API is a dependency here.
#include "client/url_reference.h"

#include <optional>
#include <vector>

#include "client/acme_types.h"

namespace attestlab::client {
namespace {

// The five components of RFC 3986 Appendix B's regular expression; an absent component is
// nullopt, which differs from an empty one ("http://h?" has an empty query).
struct Components {
  std::optional<std::string> scheme, authority;
  std::string path;
  std::optional<std::string> query, fragment;
};

Components split(std::string_view s) {
  Components c;
  const std::size_t colon = s.find_first_of(":/?#");
  if (colon != std::string_view::npos && colon > 0 && s[colon] == ':') {
    c.scheme = std::string(s.substr(0, colon));
    s.remove_prefix(colon + 1);
  }
  if (s.starts_with("//")) {
    const std::size_t end = s.find_first_of("/?#", 2);
    c.authority = std::string(s.substr(2, end == std::string_view::npos ? s.npos : end - 2));
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  }
  const std::size_t hash = s.find('#');
  if (hash != std::string_view::npos) {
    c.fragment = std::string(s.substr(hash + 1));
    s = s.substr(0, hash);
  }
  const std::size_t question = s.find('?');
  if (question != std::string_view::npos) {
    c.query = std::string(s.substr(question + 1));
    s = s.substr(0, question);
  }
  c.path = std::string(s);
  return c;
}

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string in) {
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.erase(0, 3);
    } else if (in.starts_with("./")) {
      in.erase(0, 2);
    } else if (in.starts_with("/./")) {
      in.erase(0, 2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? "/" : in.substr(3);
      const std::size_t last = out.rfind('/');
      out.erase(last == std::string::npos ? 0 : last);
    } else if (in == "." || in == "..") {
      in.clear();
    } else {
      const std::size_t next = in.find('/', in.front() == '/' ? 1 : 0);
      out += in.substr(0, next);
      in.erase(0, next == std::string::npos ? in.size() : next);
    }
  }
  return out;
}

// RFC 3986 §5.2.3.
std::string merge(const Components& base, const std::string& path) {
  if (base.authority && base.path.empty()) return "/" + path;
  const std::size_t slash = base.path.rfind('/');
  return slash == std::string::npos ? path : base.path.substr(0, slash + 1) + path;
}

bool has_space_or_control(std::string_view s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

Result<std::string> resolve_reference(std::string_view base, std::string_view reference) {
  if (has_space_or_control(base) || has_space_or_control(reference))
    return Error::make("malformed", "a URI holds a space or a control character");
  const Components b = split(base);
  if (!b.scheme) return Error::make("malformed", "base URI has no scheme: " + std::string(base));
  const Components r = split(reference);
  Components t;  // RFC 3986 §5.2.2, strict (a reference's scheme is never dropped)
  if (r.scheme) {
    t = r;
    t.path = remove_dot_segments(r.path);
  } else {
    if (r.authority) {
      t.authority = r.authority;
      t.path = remove_dot_segments(r.path);
      t.query = r.query;
    } else {
      if (r.path.empty()) {
        t.path = b.path;
        t.query = r.query ? r.query : b.query;
      } else {
        t.path = remove_dot_segments(r.path.front() == '/' ? r.path : merge(b, r.path));
        t.query = r.query;
      }
      t.authority = b.authority;
    }
    t.scheme = b.scheme;
  }
  t.fragment = r.fragment;
  // RFC 3986 §5.3.
  std::string out = *t.scheme + ":";
  if (t.authority) out += "//" + *t.authority;
  out += t.path;
  if (t.query) out += "?" + *t.query;
  if (t.fragment) out += "#" + *t.fragment;
  return out;
}

Result<std::string> location_url(const http::Response& response, const std::string& request_url) {
  const std::vector<std::string> fields = response.all("location");
  if (fields.size() > 1) {
    return Error::make(kErrorUnexpectedResponse,
                       "response has " + std::to_string(fields.size()) +
                           " Location header fields (one URI-reference, RFC 7231 §7.1.2); "
                           "none is taken",
                       response.status);
  }
  if (fields.empty() || fields.front().empty()) {
    return Error::make(kErrorUnexpectedResponse, "response lacks a Location header",
                       response.status);
  }
  auto resolved = resolve_reference(request_url, fields.front());
  if (!resolved) {
    return Error::make(kErrorUnexpectedResponse,
                       "Location \"" + fields.front() + "\" does not resolve against " +
                           request_url + ": " + resolved.error().detail,
                       response.status);
  }
  return resolved;
}

}  // namespace attestlab::client

#include "core/http_request_parser.h"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <climits>

namespace attestlab::http::server_detail {

namespace bhttp = boost::beast::http;

RequestParser::RequestParser(Request& out, const ServerOptions& options) : out_(out) {
  max_body_ = options.max_body_bytes;
  body_limit(max_body_);
  header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(options.max_header_bytes, UINT32_MAX)));
}

void RequestParser::on_request_impl(bhttp::verb, string_view method, string_view target,
                                    int version, error_code&) {
  out_.method.assign(method.data(), method.size());
  out_.target.assign(target.data(), target.size());
  version_ = version;
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) {
  ec = bhttp::error::bad_version;  // never called for a request parser
}

void RequestParser::on_field_impl(bhttp::field, string_view name, string_view value, error_code&) {
  if (header_done_) return;  // chunked trailers are not headers; ignore them
  std::string lowered(name.size(), '\0');
  std::transform(name.begin(), name.end(), lowered.begin(), ascii_lower);
  if (lowered == "host") ++host_fields_;
  if (lowered == "expect" && ascii_iequals({value.data(), value.size()}, "100-continue")) {
    expects_continue_ = true;
  }
  out_.headers.emplace(std::move(lowered), std::string(value.data(), value.size()));
}

void RequestParser::on_header_impl(error_code&) {
  header_done_ = true;
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code& ec) {
  if (content_length) {
    if (*content_length > max_body_) {
      ec = bhttp::error::body_limit;
      return;
    }
    out_.body.reserve(static_cast<std::size_t>(*content_length));
  }
}

std::size_t RequestParser::append_body(string_view data, error_code& ec) {
  if (out_.body.size() + data.size() > max_body_) {
    ec = bhttp::error::body_limit;
    return 0;
  }
  out_.body.append(data.data(), data.size());
  return data.size();
}

std::size_t RequestParser::on_body_impl(string_view data, error_code& ec) {
  return append_body(data, ec);
}

void RequestParser::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view data, error_code& ec) {
  return append_body(data, ec);
}

void RequestParser::on_finish_impl(error_code&) {}

}  // namespace attestlab::http::server_detail

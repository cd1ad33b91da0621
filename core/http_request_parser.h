// The server's request parser: Beast's HTTP/1.1 parser feeding an http::Request directly
// (no beast::fields in between). Internal to http::Server, like http_server_internal.h.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>

#include "core/http_server_internal.h"

namespace attestlab::http::server_detail {

// Parses one request into out: method and target as sent, header names lowercased, the
// body (identity or chunked) appended to out.body and bounded by options.max_body_bytes
// (error::body_limit), the header by options.max_header_bytes (error::header_limit).
// out must outlive the parser; its fields are not cleared here.
class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser(Request& out, const ServerOptions& options);

  int version() const { return version_; }  // 10 or 11; 11 until the request line is read
  bool expects_continue() const { return expects_continue_; }
  int host_fields() const { return host_fields_; }

 private:
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target,
                       int version, error_code&) override;
  void on_response_impl(int, string_view, int, error_code& ec) override;
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override;
  void on_header_impl(error_code&) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(string_view data, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override;
  std::size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code& ec) override;
  void on_finish_impl(error_code&) override;

  std::size_t append_body(string_view data, error_code& ec);

  Request& out_;
  std::size_t max_body_ = 0;
  int version_ = 11;
  int host_fields_ = 0;
  bool header_done_ = false;
  bool expects_continue_ = false;
};

}  // namespace attestlab::http::server_detail

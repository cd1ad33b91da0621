// A small stub resolver for challenge validation: queries one configured DNS server
// (host:port, UDP with TCP fallback) through c-ares. Thread-safe; blocking, so call it
// from a validation worker, never from a request handler.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace attestlab::dns {

struct ResolverOptions {
  std::string server;  // "127.0.0.1:8053"; empty = system resolver (/etc/resolv.conf)
  std::chrono::milliseconds timeout{5000};
};

// TXT records of name (each record's strings concatenated). NXDOMAIN / no data gives an
// empty vector; network failures give Error("dns", detail).
Result<std::vector<std::string>> query_txt(const std::string& name, const ResolverOptions& opt);
// A and AAAA addresses of name as text.
Result<std::vector<std::string>> query_addresses(const std::string& name,
                                                 const ResolverOptions& opt);

}  // namespace attestlab::dns

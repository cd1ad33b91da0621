#include "client/target_probe.h"

#include "core/http.h"

namespace attestlab::client {
namespace {

Error bad_target(const std::string& line) {
  return Error::make("badTarget", line);
}

}  // namespace

Result<Directory> probe_target(const std::string& url, const AcmeClientOptions& options) {
  auto parsed = http::Url::parse(url);
  if (!parsed || (parsed->scheme != "https" && parsed->scheme != "http"))
    return bad_target(url + " is not an http(s) URL");
  AcmeClient c(url, options);
  auto dir = c.directory();
  if (!dir) {
    const Error& e = dir.error();
    if (e.type == "connection") {
      if (e.detail.find("TLS") != std::string::npos ||
          e.detail.find("certificate") != std::string::npos)
        return bad_target(url + ": TLS failed (" + e.detail +
                          "); if the target's certificate comes from its own CA, pass that CA with "
                          "--trust-ca PEM");
      return bad_target(url + " is unreachable: " + e.detail);
    }
    const auto& response = c.last_response();
    if (response && (response->status < 200 || response->status > 299))
      return bad_target(url + " is not an ACME directory: it answered HTTP " +
                        std::to_string(response->status));
    return bad_target(url + " is not an ACME directory: " + e.detail);
  }
  auto nonce = c.new_nonce();
  if (!nonce)
    return bad_target(url + ": the directory's newNonce does not work: " + nonce.error().detail);
  return dir;
}

}  // namespace attestlab::client

// The harness's side of the wire: how the ACME client reads whatever a server answers
// (client/acme_types.h, client/acme_client_responses.cpp). The input is split into an
// HTTP status, a Link / Retry-After header value and a body; the body is read as each
// resource the client expects (directory, account, order, authorization, challenge) and
// as a problem document and as a certificate chain; the header value is also a Location
// resolved against a request URL. Any server may send any of this; none of it may crash us.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "client/acme_client_internal.h"
#include "client/acme_types.h"
#include "client/pem_chain.h"
#include "client/url_reference.h"

using namespace attestlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  http::Response response;
  response.status = input.ConsumeIntegralInRange<int>(100, 599);
  std::string header = input.ConsumeRandomLengthString(256);
  response.body = input.ConsumeRemainingBytesAsString();
  response.add("Link", header);
  response.add("Retry-After", header);
  response.add("Location", header);

  (void)client::parse_link_header(header);
  (void)client::parse_retry_after(header, 1796411874);
  (void)client::acme_detail::error_of(response);
  (void)client::acme_detail::is_bad_nonce(response);
  (void)client::acme_detail::expect_ok(response);
  (void)client::location_url(response, "https://acme.test/acme/new-order");
  (void)client::parse_pem_certificate_chain(response.body);
  auto json = parse_json(response.body);
  if (!json) return 0;
  (void)client::problem_to_error(*json, response.status);
  (void)client::Directory::from_json(*json);
  (void)client::Account::from_json(*json, "https://acme.test/acct/1");
  (void)client::Challenge::from_json(*json);
  if (auto authz = client::Authorization::from_json(*json, "https://acme.test/authz/1")) {
    for (const auto& challenge : authz->challenges) (void)challenge.raw.dump();
  }
  (void)client::Order::from_json(*json, "https://acme.test/order/1");
  (void)client::Identifier::from_json(*json);
  return 0;
}

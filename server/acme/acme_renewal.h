// ACME Renewal Information (RFC 9773) for the ACME handlers: suggested renewal windows
// and the newOrder "replaces" claim. Internal to server/acme.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "server/store/model.h"

namespace attestlab::server {

struct AcmeContext;

struct RenewalWindow {
  std::int64_t start = 0;
  std::int64_t end = 0;  // always later than start (RFC 9773 §4.2)
};

// The suggested window of a certificate at time now (see acme_renewal.cpp for the spread).
RenewalWindow renewal_window(const CertificateRecord& record, std::int64_t now);

// RFC 9773 §5: the certificate `replaces` names must be this server's, of account_id, share
// an identifier with the order and not be replaced yet by another order that is not
// invalid (409 alreadyReplaced). When all holds, create_order runs and the certificate is
// marked replaced by order_id. Errors are problems for newOrder.
Result<void> claim_replaced_certificate(AcmeContext& ctx, const std::string& account_id,
                                        const std::string& replaces,
                                        const std::vector<Identifier>& identifiers,
                                        const std::function<Result<void>()>& create_order,
                                        const std::string& order_id);

}  // namespace attestlab::server

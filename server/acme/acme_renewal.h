// ACME Renewal Information (RFC 9773) for the ACME handlers: suggested renewal windows
// and the newOrder "replaces" claim. Internal to server/acme.
#pragma once

#include <cstdint>
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

// RFC 9773 §5: the certificate order.replaces names must be this server's, of the order's
// account, share an identifier with the order and not be replaced yet by another order that
// is not invalid (409 alreadyReplaced). When all holds, the order and `authzs` are created
// and the certificate marked replaced by the order, all in one store transaction; a
// concurrent order that claimed it first makes this one alreadyReplaced with nothing
// created. Errors are problems for newOrder.
Result<void> create_replacing_order(AcmeContext& ctx, const Order& order,
                                    const std::vector<Authorization>& authzs);

}  // namespace attestlab::server

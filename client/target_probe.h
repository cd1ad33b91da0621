// The check a load makes before its clock starts: the target answers, its TLS is trusted,
// it serves an ACME directory and hands out nonces. A bad target is one clear line, so
// `attestlab load` can exit 2 before any load.
#pragma once

#include <string>

#include "client/acme_client.h"
#include "core/result.h"

namespace attestlab::client {

// The target's directory. Error("badTarget", line) where line names the URL and what is
// wrong: unreachable (with the transport error), a TLS failure (with a hint to pass the
// target's CA with --trust-ca), not an ACME directory (HTTP status or what is missing),
// or no working newNonce.
Result<Directory> probe_target(const std::string& directory_url, const AcmeClientOptions& options);

}  // namespace attestlab::client
